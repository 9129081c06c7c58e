// Built-in tensor functions: reshape, transpose, concat, matmul, reductions, constructors, cast, one_hot.

import type { DType } from '../../../compiler/ir/types.js';
import { formatType, normalizeAxis } from '../../../compiler/ir/types.js';
import type { BuiltinDef, Config, ConfigSpec, EmitContext } from '../builtin.js';
import type { BinaryOpName } from '../emit.js';
import type { Located, TensorVal, Val } from '../values.js';
import { axisOf } from './activations.js';

const num = (value: number): Val => ({ kind: 'number', value, isInt: Number.isInteger(value) });
const bool = (value: boolean): Val => ({ kind: 'bool', value });
const DTYPE: ConfigSpec = { name: 'dtype', kind: 'string', default: { kind: 'string', value: 'f32' }, choices: ['f32', 'i32', 'bool'] };

/** Checks a `shape` argument: non-negative integers (−1, once, where `allowInfer`). */
function shapeArg(ctx: EmitContext, cfg: Config, name: string, allowInfer: boolean): number[] {
  const shape = cfg.ints(name);
  const span = cfg.spanOf(name, ctx.span);
  const infers = shape.filter((d) => d === -1).length;
  if (shape.some((d) => d < -1 || (d === -1 && !allowInfer))) ctx.fail('E0408', { reason: `[${shape.join(', ')}] has a negative extent` }, span);
  if (infers > 1) ctx.fail('E0408', { reason: `[${shape.join(', ')}] has more than one -1` }, span);
  return shape;
}

/** Sorted, unique, non-negative axes of an `axes` argument (all axes when absent). */
function axesArg(ctx: EmitContext, cfg: Config, x: Located<TensorVal>): number[] {
  const rank = x.val.type.shape.length;
  if (!cfg.has('axis')) return Array.from({ length: rank }, (_, i) => i);
  const out = new Set<number>();
  for (const a of cfg.ints('axis')) {
    const n = normalizeAxis(a, rank);
    if (n === null) ctx.fail('E0306', { name: 'axis', reason: `axis ${a} is out of range for ${formatType(x.val.type)}` }, cfg.spanOf('axis', ctx.span));
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

const reshape: BuiltinDef = {
  name: 'reshape',
  doc: 'reshape(x, [d0, d1, …]): same elements, new shape (one extent may be -1)',
  config: [{ name: 'shape', kind: 'shape' }],
  inputs: ['x'],
  ownsParams: false,
  apply(ctx, cfg, [x]) {
    const shape = shapeArg(ctx, cfg, 'shape', true);
    const total = x!.val.type.shape.reduce((p, d) => p * d, 1);
    const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
    if (resolved.some((d) => !Number.isInteger(d)) || resolved.reduce((p, d) => p * d, 1) !== total) {
      ctx.fail('E0402', { message: `cannot reshape ${formatType(x!.val.type)} (${total} elements) to [${shape.join(', ')}]` }, cfg.spanOf('shape', ctx.span));
    }
    return ctx.reshape(x!.val, resolved);
  },
};

const transpose: BuiltinDef = {
  name: 'transpose',
  doc: 'transpose(x, perm: [..]): permutes axes (default: reverses them)',
  config: [{ name: 'perm', kind: 'shape', optional: true }],
  inputs: ['x'],
  ownsParams: false,
  apply(ctx, cfg, [x]) {
    const rank = x!.val.type.shape.length;
    const perm = cfg.has('perm') ? cfg.ints('perm').map((p) => (p < 0 ? p + rank : p)) : Array.from({ length: rank }, (_, i) => rank - 1 - i);
    return ctx.op('transpose', [x!.val.id], { perm });
  },
};

const concat: BuiltinDef = {
  name: 'concat',
  doc: 'concat(a, b, …, axis: -1): joins tensors along an axis',
  config: [{ name: 'axis', kind: 'int', default: num(-1) }],
  inputs: 'variadic',
  ownsParams: false,
  apply(ctx, cfg, xs) {
    const axis = axisOf(ctx, xs[0]!, cfg.number('axis'), 'axis');
    return ctx.op('concat', xs.map((x) => x.val.id), { axis });
  },
};

const matmul: BuiltinDef = {
  name: 'matmul',
  doc: 'matmul(a, b): a @ b',
  config: [],
  inputs: ['a', 'b'],
  ownsParams: false,
  apply: (ctx, _cfg, [a, b]) => ctx.matmul(a!.val, b!.val),
};

function reduction(name: 'sum' | 'mean' | 'max'): BuiltinDef {
  return {
    name,
    doc: `${name}(x, axis: n or [..], keepdims: false): ${name} over axes (all when omitted)`,
    config: [
      { name: 'axis', kind: 'axes', optional: true },
      { name: 'keepdims', kind: 'bool', default: bool(false) },
    ],
    inputs: ['x'],
    ownsParams: false,
    apply: (ctx, cfg, [x]) => ctx.op(name, [x!.val.id], { axes: axesArg(ctx, cfg, x!), keepdims: cfg.bool('keepdims') }),
  };
}

const argmax: BuiltinDef = {
  name: 'argmax',
  doc: 'argmax(x, axis: -1): i32 index of the largest element along axis',
  config: [
    { name: 'axis', kind: 'int', default: num(-1) },
    { name: 'keepdims', kind: 'bool', default: bool(false) },
  ],
  inputs: ['x'],
  ownsParams: false,
  apply: (ctx, cfg, [x]) => ctx.op('argmax', [x!.val.id], { axis: axisOf(ctx, x!, cfg.number('axis'), 'axis'), keepdims: cfg.bool('keepdims') }),
};

function filled(name: string, value: number | null): BuiltinDef {
  const config: ConfigSpec[] = [{ name: 'shape', kind: 'shape' }];
  if (value === null) config.push({ name: 'value', kind: 'number' });
  config.push(DTYPE);
  return {
    name,
    doc: value === null ? `${name}([d0, …], value, dtype: "f32"): a tensor filled with value` : `${name}([d0, …], dtype: "f32"): a tensor of ${value}s`,
    config,
    inputs: [],
    ownsParams: false,
    apply(ctx, cfg) {
      const dtype = cfg.string('dtype') as DType;
      const v = value ?? cfg.number('value');
      if (dtype !== 'f32' && !Number.isInteger(v)) ctx.fail('E0306', { name: 'value', reason: `${v} is not an integer, as ${dtype} needs` }, cfg.spanOf('value', ctx.span));
      return ctx.constant(v, dtype, shapeArg(ctx, cfg, 'shape', false));
    },
  };
}

function binaryFn(name: BinaryOpName, doc: string): BuiltinDef {
  return { name, doc, config: [], inputs: ['a', 'b'], ownsParams: false, apply: (ctx, _cfg, [a, b]) => ctx.binary(name, a!.val, b!.val) };
}

const cast: BuiltinDef = {
  name: 'cast',
  doc: 'cast(x, "i32"): converts the dtype (f32 → i32 truncates)',
  config: [{ name: 'dtype', kind: 'string', choices: ['f32', 'i32', 'bool'] }],
  inputs: ['x'],
  ownsParams: false,
  apply: (ctx, cfg, [x]) => ctx.op('cast', [x!.val.id], { to: cfg.string('dtype') }),
};

const oneHot: BuiltinDef = {
  name: 'one_hot',
  doc: 'one_hot(ids, depth): i32 [...] → f32 [..., depth]',
  config: [{ name: 'depth', kind: 'int', min: 1 }],
  inputs: ['ids'],
  ownsParams: false,
  apply: (ctx, cfg, [x]) => ctx.op('one_hot', [x!.val.id], { depth: cfg.number('depth') }),
};

export const TENSOR_BUILTINS: readonly BuiltinDef[] = [
  reshape,
  transpose,
  concat,
  matmul,
  reduction('sum'),
  reduction('mean'),
  reduction('max'),
  argmax,
  filled('zeros', 0),
  filled('ones', 1),
  filled('full', null),
  binaryFn('maximum', 'maximum(a, b): elementwise larger, broadcasting'),
  binaryFn('minimum', 'minimum(a, b): elementwise smaller, broadcasting'),
  cast,
  oneHot,
];
