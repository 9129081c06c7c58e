// Arithmetic and indexing in the DSL: numbers fold at elaboration, tensors become ops.

import { formatType } from '../../compiler/ir/types.js';
import type { BinaryOp, Expr, IndexItem, Span } from '../ast.js';
import { fail } from './bind.js';
import type { BinaryOpName, Emitter } from './emit.js';
import type { Located, TensorVal, Val } from './values.js';
import { describeVal } from './values.js';

const OP_NAMES: Record<Exclude<BinaryOp, '@'>, BinaryOpName> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div' };

function foldNumbers(op: BinaryOp, a: number, b: number, aInt: boolean, bInt: boolean, span: Span): Val {
  if (op === '@') fail('E0406', span, { expected: 'tensors on both sides of @', got: 'numbers' });
  if (op === '/' && b === 0) fail('E0402', span, { message: 'division by zero' });
  const value = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
  if (!Number.isFinite(value)) fail('E0402', span, { message: `${a} ${op} ${b} is not a finite number` });
  return { kind: 'number', value, isInt: aInt && bInt && Number.isInteger(value) };
}

/** A number as a tensor of `like`'s dtype and shape (for `x * 0.5`, `1 - z`). */
function numberLike(em: Emitter, value: number, like: TensorVal, span: Span): TensorVal {
  if (like.type.dtype === 'bool') fail('E0406', span, { expected: 'a number tensor', got: formatType(like.type) });
  if (like.type.dtype === 'i32' && !Number.isInteger(value)) fail('E0402', span, { message: `${value} is not an integer, but the other side is ${formatType(like.type)}` }, 'cast the tensor with cast(x, "f32") first');
  return em.constant(value, like.type.dtype, like.type.shape, span);
}

export function evalBinary(em: Emitter, op: BinaryOp, left: Located, right: Located, opSpan: Span): Val {
  const a = left.val;
  const b = right.val;
  if (a.kind === 'number' && b.kind === 'number') return foldNumbers(op, a.value, b.value, a.isInt, b.isInt, opSpan);
  for (const side of [left, right]) {
    if (side.val.kind !== 'tensor' && side.val.kind !== 'number') fail('E0406', side.span, { expected: `a tensor or number for '${op}'`, got: describeVal(side.val) });
  }
  if (op === '@') {
    if (a.kind !== 'tensor' || b.kind !== 'tensor') fail('E0406', a.kind === 'tensor' ? right.span : left.span, { expected: 'a tensor for @', got: describeVal(a.kind === 'tensor' ? b : a) });
    return em.matmul(a, b, opSpan);
  }
  const ta = a.kind === 'tensor' ? a : numberLike(em, (a as { value: number }).value, b as TensorVal, left.span);
  const tb = b.kind === 'tensor' ? b : numberLike(em, (b as { value: number }).value, ta, right.span);
  return em.binary(OP_NAMES[op], ta, tb, opSpan);
}

export function evalNeg(em: Emitter, x: Located, span: Span): Val {
  if (x.val.kind === 'number') return { kind: 'number', value: -x.val.value, isInt: x.val.isInt };
  if (x.val.kind !== 'tensor') fail('E0406', x.span, { expected: 'a tensor or number after -', got: describeVal(x.val) });
  return em.op('neg', [x.val.id], {}, span);
}

/**
 * `x[:, t, a:b]`: one slice over all axes, then a reshape dropping the axes indexed by a
 * single position. Negative positions count from the end. Missing trailing items mean `:`.
 */
export function evalIndex(em: Emitter, target: Located, items: readonly IndexItem[], intOf: (e: Expr) => number, span: Span): Val {
  if (target.val.kind !== 'tensor') fail('E0406', target.span, { expected: 'a tensor to index', got: describeVal(target.val) });
  const x = target.val;
  const shape = x.type.shape;
  if (items.length > shape.length) fail('E0402', span, { message: `${items.length} indices for ${formatType(x.type)}` });
  const starts = shape.map(() => 0);
  const ends = [...shape];
  const keep: number[] = [];
  const resolve = (e: Expr, axis: number, allowEnd: boolean): number => {
    const d = shape[axis]!;
    const raw = intOf(e);
    const v = raw < 0 ? raw + d : raw;
    if (v < 0 || v > d || (!allowEnd && v === d)) fail('E0409', e.span, { index: raw, axis, size: d });
    return v;
  };
  shape.forEach((d, axis) => {
    const item = items[axis];
    if (!item || item.kind === 'all') {
      keep.push(d);
    } else if (item.kind === 'at') {
      starts[axis] = resolve(item.index, axis, false);
      ends[axis] = starts[axis]! + 1;
    } else {
      starts[axis] = item.from ? resolve(item.from, axis, true) : 0;
      ends[axis] = item.to ? resolve(item.to, axis, true) : d;
      if (ends[axis]! < starts[axis]!) fail('E0409', item.span, { index: `${starts[axis]}:${ends[axis]}`, axis, size: d });
      keep.push(ends[axis]! - starts[axis]!);
    }
  });
  const trivial = starts.every((s) => s === 0) && ends.every((e, i) => e === shape[i]);
  const sliced = trivial ? x : em.op('slice', [x.id], { starts, ends, steps: shape.map(() => 1) }, span);
  return em.reshape(sliced, keep, span);
}
