// The local rewrite rules of `simplify`, as data: each a {match, rewrite} pair with the algebra it applies.
//
// A rule looks at one node (the root) of the graph being rebuilt; `match` returns what the
// rewrite needs, or null; `rewrite` returns the value that replaces the root, building any
// new nodes through the Rewriter (so they are hash-consed too). Every rule preserves the
// reference semantics exactly, with two stated exceptions: `x + 0 → x` can turn a −0 result
// into +0's sign (x = −0), which compares equal; and `maxpool(x + b) → maxpool(x) + b`
// differs where b is infinite and a window holds the opposite infinity (there x + b is NaN
// for that element only). Rules must make progress (a rewrite never
// returns an equivalent of its own root), so the driver reaches a fixed point.

import type { Node, ValueId } from '../ir/graph.js';
import type { Attrs } from '../ir/ops/op.js';
import type { OpName } from '../ir/ops/registry.js';
import { opDef } from '../ir/ops/registry.js';
import type { Tensor } from '../ir/tensor.js';
import { allocData } from '../ir/tensor.js';
import type { DType, Shape } from '../ir/types.js';
import { numel, shapesEqual } from '../ir/types.js';
import { fusionClass } from '../kernel/lower-kernel.js';
import type { Rewriter } from './rewrite.js';

export interface Rule<M> {
  readonly name: string;
  /** The root ops the rule looks at; 'any' for every op. */
  readonly ops: readonly OpName[] | 'any';
  match(n: Node, rw: Rewriter): M | null;
  rewrite(m: M, rw: Rewriter, n: Node): ValueId;
}

/** Erases a rule's match type so rules of different types share one table. */
function rule<M>(r: Rule<M>): Rule<unknown> {
  return r as Rule<unknown>;
}

/** Largest tensor (elements) that constant folding materializes to run an op's reference. */
export const FOLD_MAX_ELEMENTS = 4096;

const ints = (n: Node, key: string): readonly number[] => n.attrs[key] as readonly number[];

/** The value a `constant` node fills its tensor with, or null when `v` is not one. */
function constValue(rw: Rewriter, v: ValueId): number | null {
  const d = rw.def(v);
  return d?.op === 'constant' ? (d.attrs['value'] as number) : null;
}

function isConst(rw: Rewriter, v: ValueId, value: number): boolean {
  const c = constValue(rw, v);
  return c !== null && c === value;
}

/** `value` as the dtype stores it (f32 rounding, i32 wrapping, bool 0/1). */
function stored(dtype: DType, value: number): number {
  const a = allocData(dtype, 1);
  a[0] = value;
  return a[0]!;
}

function constant(rw: Rewriter, value: number, dtype: DType, shape: Shape): ValueId {
  return rw.op('constant', [], { value, dtype, shape: [...shape] });
}

function identityPerm(p: readonly number[]): boolean {
  return p.every((x, i) => x === i);
}

/** The one input of a node whose producer is `op`, with that producer. */
function producedBy(rw: Rewriter, v: ValueId, op: OpName): Node | null {
  const d = rw.def(v);
  return d?.op === op ? d : null;
}

/** Runs an op's reference on constant inputs filled to their shapes; null when the result is not one finite value. */
function foldByReference(rw: Rewriter, n: Node, values: readonly number[]): number | null {
  const inputs: Tensor[] = n.inputs.map((v, k) => {
    const t = rw.typeOf(v);
    const data = allocData(t.dtype, numel(t.shape));
    data.fill(values[k]!);
    return { type: t, data };
  });
  const out = opDef(n.op).reference(inputs, n.attrs, n.type).data;
  if (out.length === 0) return null;
  const first = out[0]!;
  if (!Number.isFinite(first)) return null;
  for (let i = 1; i < out.length; i++) if (!Object.is(out[i], first)) return null;
  return first;
}

/** matmul with one operand's last two axes swapped by a transpose that the flag can absorb. */
function swapsLastTwo(rw: Rewriter, v: ValueId): ValueId | null {
  const t = producedBy(rw, v, 'transpose');
  if (!t) return null;
  const p = ints(t, 'perm');
  const r = p.length;
  return r >= 2 && p[r - 1] === r - 2 && p[r - 2] === r - 1 && p.slice(0, -2).every((x, i) => x === i) ? t.inputs[0]! : null;
}

export const RULES: readonly Rule<unknown>[] = [
  rule<number>({
    // f(c₁, …, cₙ) → c when the result is one finite value: an elementwise op of constants is
    // computed on one element (exact for any size); a movement of a constant is the constant;
    // other ops are run whole by their reference when every tensor is small.
    name: 'fold-constants',
    ops: 'any',
    match(n, rw) {
      if (n.op === 'constant') return null;
      const values = n.inputs.map((v) => constValue(rw, v));
      if (values.some((v) => v === null)) return null;
      const cs = values as number[];
      const family = opDef(n.op).family;
      // Only an op whose lowering reads every input at the output's own index is computed on
      // one element; others of the family (random_uniform reads the position) run whole.
      if (fusionClass(n.op) === 'elementwise') return foldScalar(n, cs, n.inputs.map((v) => rw.typeOf(v).dtype));
      if (n.op === 'pad') return stored(n.type.dtype, n.attrs['value'] as number) === cs[0] ? cs[0]! : foldSmall(rw, n, cs);
      if (n.op === 'concat') return cs.every((c) => Object.is(c, cs[0])) ? cs[0]! : null;
      if (family === 'movement' && n.op !== 'scatter_add') return cs[0]!;
      return foldSmall(rw, n, cs);
    },
    rewrite: (value, rw, n) => constant(rw, value, n.type.dtype, n.type.shape),
  }),
  rule<ValueId>({
    // gather(c, idx) → c: every element picked from a constant is the constant.
    name: 'gather-of-constant',
    ops: ['gather'],
    match: (n, rw) => (constValue(rw, n.inputs[0]!) !== null ? n.inputs[0]! : null),
    rewrite: (x, rw, n) => constant(rw, constValue(rw, x)!, n.type.dtype, n.type.shape),
  }),
  rule<ValueId>({
    // x·1 → x and 1·x → x (exact, NaN included).
    name: 'mul-one',
    ops: ['mul'],
    match: (n, rw) => (isConst(rw, n.inputs[1]!, 1) ? n.inputs[0]! : isConst(rw, n.inputs[0]!, 1) ? n.inputs[1]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // x+0 → x and 0+x → x (a −0 result may become +0's sign).
    name: 'add-zero',
    ops: ['add'],
    match: (n, rw) => (isConst(rw, n.inputs[1]!, 0) ? n.inputs[0]! : isConst(rw, n.inputs[0]!, 0) ? n.inputs[1]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // x−0 → x and x/1 → x (exact).
    name: 'sub-zero-div-one',
    ops: ['sub', 'div'],
    match: (n, rw) => (isConst(rw, n.inputs[1]!, n.op === 'sub' ? 0 : 1) ? n.inputs[0]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // −(−x) → x.
    name: 'double-neg',
    ops: ['neg'],
    match: (n, rw) => producedBy(rw, n.inputs[0]!, 'neg')?.inputs[0] ?? null,
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // relu(relu(x)) → relu(x).
    name: 'double-relu',
    ops: ['relu'],
    match: (n, rw) => (producedBy(rw, n.inputs[0]!, 'relu') ? n.inputs[0]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // max(x, x) → x and min(x, x) → x.
    name: 'idempotent-minmax',
    ops: ['maximum', 'minimum'],
    match: (n) => (n.inputs[0] === n.inputs[1] ? n.inputs[0]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // select(c, x, x) → x; select(true, a, b) → a; select(false, a, b) → b.
    name: 'select-trivial',
    ops: ['select'],
    match(n, rw) {
      const [c, a, b] = n.inputs as [ValueId, ValueId, ValueId];
      if (a === b) return a;
      const k = constValue(rw, c);
      return k === null ? null : k !== 0 ? a : b;
    },
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // cast(x: T) to T → x.
    name: 'cast-same',
    ops: ['cast'],
    match: (n, rw) => (rw.typeOf(n.inputs[0]!).dtype === n.attrs['to'] ? n.inputs[0]! : null),
    rewrite: (x) => x,
  }),
  rule<ValueId>({
    // transpose(x, id) → x; reshape(x: S) to S → x; identity broadcast, full slice, zero pad,
    // one-input concat and a reduction over no axes are x itself.
    name: 'identity-movement',
    ops: ['transpose', 'reshape', 'broadcast', 'slice', 'pad', 'concat', 'sum', 'mean', 'max'],
    match(n, rw) {
      const x = n.inputs[0]!;
      const shape = rw.typeOf(x).shape;
      const same = shapesEqual(shape, n.type.shape);
      switch (n.op) {
        case 'transpose':
          return identityPerm(ints(n, 'perm')) ? x : null;
        case 'reshape':
          return same ? x : null;
        case 'broadcast':
          return same && identityPerm(ints(n, 'dims')) ? x : null;
        case 'slice':
          return same && ints(n, 'steps').every((s) => s === 1) ? x : null;
        case 'pad':
          return [...ints(n, 'low'), ...ints(n, 'high')].every((p) => p === 0) ? x : null;
        case 'concat':
          return n.inputs.length === 1 ? x : null;
        default:
          return ints(n, 'axes').length === 0 ? x : null;
      }
    },
    rewrite: (x) => x,
  }),
  rule<{ x: ValueId; perm: number[] }>({
    // transpose(transpose(x, p), q) → transpose(x, p∘q), where (p∘q)[i] = p[q[i]].
    name: 'transpose-chain',
    ops: ['transpose'],
    match(n, rw) {
      const inner = producedBy(rw, n.inputs[0]!, 'transpose');
      if (!inner) return null;
      const p = ints(inner, 'perm');
      return { x: inner.inputs[0]!, perm: ints(n, 'perm').map((q) => p[q]!) };
    },
    rewrite: (m, rw) => rw.op('transpose', [m.x], { perm: m.perm }),
  }),
  rule<ValueId>({
    // reshape(reshape(x)) → reshape(x): only the final shape matters.
    name: 'reshape-chain',
    ops: ['reshape'],
    match: (n, rw) => producedBy(rw, n.inputs[0]!, 'reshape')?.inputs[0] ?? null,
    rewrite: (x, rw, n) => rw.op('reshape', [x], n.attrs),
  }),
  rule<{ x: ValueId; dims: number[] }>({
    // broadcast(broadcast(x, d₁), d₂) → broadcast(x, d₂∘d₁): input axis i lands on d₂[d₁[i]].
    name: 'broadcast-chain',
    ops: ['broadcast'],
    match(n, rw) {
      const inner = producedBy(rw, n.inputs[0]!, 'broadcast');
      if (!inner) return null;
      const outer = ints(n, 'dims');
      return { x: inner.inputs[0]!, dims: ints(inner, 'dims').map((d) => outer[d]!) };
    },
    rewrite: (m, rw, n) => rw.op('broadcast', [m.x], { shape: [...ints(n, 'shape')], dims: m.dims }),
  }),
  rule<{ a: ValueId; b: ValueId; attrs: Attrs }>({
    // matmul(aᵀ, b) → matmul(a, b) with transpose_a flipped (likewise b): the flag is free.
    name: 'transpose-into-matmul',
    ops: ['matmul'],
    match(n, rw) {
      const [a, b] = n.inputs as [ValueId, ValueId];
      const a2 = swapsLastTwo(rw, a);
      const b2 = swapsLastTwo(rw, b);
      if (a2 === null && b2 === null) return null;
      return {
        a: a2 ?? a,
        b: b2 ?? b,
        attrs: { transpose_a: (n.attrs['transpose_a'] as boolean) !== (a2 !== null), transpose_b: (n.attrs['transpose_b'] as boolean) !== (b2 !== null) },
      };
    },
    rewrite: (m, rw) => rw.op('matmul', [m.a, m.b], m.attrs),
  }),
  rule<ValueId>({
    // maxpool(relu(x)) → relu(maxpool(x)) for windows without padding: relu is monotone and
    // keeps NaN (the largest value) NaN, so it commutes with a window's max. The relu then
    // runs on the pooled values (a quarter of them for 2×2 windows), and the pooling's
    // gradient compares x itself.
    name: 'maxpool-of-relu',
    ops: ['maxpool2d'],
    match: (n, rw) => (unpadded(n) ? (producedBy(rw, n.inputs[0]!, 'relu')?.inputs[0] ?? null) : null),
    rewrite: (x, rw, n) => rw.op('relu', [rw.op('maxpool2d', [x], n.attrs)]),
  }),
  rule<{ x: ValueId; b: ValueId; dims: readonly number[] }>({
    // maxpool(x + broadcast(b)) → maxpool(x) + broadcast(b) when b does not vary over the
    // window axes (a per-channel bias) and the windows have no padding: adding a constant
    // and rounding to float32 is monotone, so the window's maximum is the same element
    // (see the header for the one exception, an infinite b).
    name: 'maxpool-of-bias',
    ops: ['maxpool2d'],
    match(n, rw) {
      const sum = producedBy(rw, n.inputs[0]!, 'add');
      if (!unpadded(n) || !sum || sum.type.dtype !== 'f32') return null;
      for (const [x, other] of [sum.inputs, [...sum.inputs].reverse()] as [ValueId, ValueId][]) {
        const bc = producedBy(rw, other, 'broadcast');
        const dims = bc ? ints(bc, 'dims') : null;
        if (bc && dims && !dims.includes(2) && !dims.includes(3)) return { x, b: bc.inputs[0]!, dims };
      }
      return null;
    },
    rewrite: (m, rw, n) => rw.op('add', [rw.op('maxpool2d', [m.x], n.attrs), rw.op('broadcast', [m.b], { shape: [...n.type.shape], dims: [...m.dims] })]),
  }),
];

/** A pooling node whose windows lie inside the input (no padding). */
function unpadded(n: Node): boolean {
  return ints(n, 'padding').every((p) => p === 0);
}

/**
 * An elementwise op of constants, computed on one element with the op's own reference, so
 * folding can never disagree with it; null when the result is not finite (a constant's
 * value must be).
 */
function foldScalar(n: Node, values: readonly number[], dtypes: readonly DType[]): number | null {
  const inputs: Tensor[] = dtypes.map((dtype, k) => {
    const data = allocData(dtype, 1);
    data[0] = values[k]!;
    return { type: { dtype, shape: [] }, data };
  });
  const v = opDef(n.op).reference(inputs, n.attrs, { dtype: n.type.dtype, shape: [] }).data[0]!;
  return Number.isFinite(v) ? v : null;
}

/** Any other op of constants, run whole by its reference when every tensor involved is small. */
function foldSmall(rw: Rewriter, n: Node, values: readonly number[]): number | null {
  const sizes = [...n.inputs.map((v) => numel(rw.typeOf(v).shape)), numel(n.type.shape)];
  return sizes.every((k) => k <= FOLD_MAX_ELEMENTS) ? foldByReference(rw, n, values) : null;
}
