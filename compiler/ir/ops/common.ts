// Small helpers shared by the op families' type rules and gradient rules.

import type { ValueId } from '../graph.js';
import type { DType, Shape, TensorType } from '../types.js';
import { checkedNumel, formatType, shapesEqual, MAX_RANK } from '../types.js';
import type { LazyGrad, VjpContext, VjpFn } from './op.js';
import { OpTypeError } from './op.js';

export function fail(message: string): never {
  throw new OpTypeError(message);
}

/** A result type, rejecting shapes over the element cap or rank cap. */
export function result(dtype: DType, shape: Shape): TensorType {
  if (shape.length > MAX_RANK) fail(`result rank ${shape.length} exceeds the limit of ${MAX_RANK}`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`invalid result shape [${shape.join(', ')}]`);
  if (checkedNumel(shape) === null) fail(`result shape [${shape.join(', ')}] has too many elements`);
  // `| 0` keeps extents small integers for V8 (a computed 13.0 would stay a heap double and
  // turn every index computation that reads it into float arithmetic).
  return { dtype, shape: shape.map((d) => d | 0) };
}

export function expectDType(t: TensorType, allowed: readonly DType[], what: string): void {
  if (!allowed.includes(t.dtype)) fail(`${what} must be ${allowed.join(' or ')}, got ${formatType(t)}`);
}

export function expectSameShape(a: TensorType, b: TensorType, what: string): void {
  if (!shapesEqual(a.shape, b.shape)) fail(`${what} need the same shape, got ${formatType(a)} and ${formatType(b)}`);
}

export function expectRank(t: TensorType, rank: number, what: string): void {
  if (t.shape.length !== rank) fail(`${what} must have rank ${rank}, got ${formatType(t)}`);
}

export function expectLength(xs: readonly number[], n: number, what: string): void {
  if (xs.length !== n) fail(`${what} must have ${n} entries, got ${xs.length}`);
}

/** Checks a list of axes is sorted, unique, and within rank (the canonical form). */
export function expectAxes(axes: readonly number[], rank: number, what: string): void {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (a < 0 || a >= rank) fail(`${what}: axis ${a} is out of range for rank ${rank}`);
    if (i > 0 && a <= axes[i - 1]!) fail(`${what}: axes must be sorted and unique, got [${axes.join(', ')}]`);
  }
}

/** Checks a permutation of 0..rank-1. */
export function expectPerm(perm: readonly number[], rank: number): void {
  if (perm.length !== rank) fail(`perm must have ${rank} entries for rank ${rank}, got [${perm.join(', ')}]`);
  const seen = new Set(perm);
  if (seen.size !== rank || perm.some((p) => p < 0 || p >= rank)) fail(`perm [${perm.join(', ')}] is not a permutation of 0..${rank - 1}`);
}

/** An f32 tensor of `shape` filled with `value`, emitted as a constant node. */
export function fill(ctx: VjpContext, value: number, shape: Shape): ValueId {
  return ctx.op('constant', [], { value, dtype: 'f32', shape: [...shape] });
}

/** f32 zeros of the type of `like`. */
export function zerosLike(ctx: VjpContext, like: ValueId): ValueId {
  return fill(ctx, 0, ctx.typeOf(like).shape);
}

/** A value emitted at most once, on first use, so two inputs' cotangents can share a mask. */
export function shared(make: () => ValueId): () => ValueId {
  let v: ValueId | null = null;
  return () => (v ??= make());
}

/** The VJP of an op through which no gradient flows to any input (integer or bool results). */
export const noGradient: VjpFn = (_ctx, inputs) => inputs.map((): LazyGrad | null => null);

/**
 * Spreads `v`, of the shape `shape` has after reducing `axes` (kept as 1s when `keepdims`),
 * back over `shape`: the adjoint of summing over those axes.
 */
export function unreduce(ctx: VjpContext, v: ValueId, shape: Shape, axes: readonly number[], keepdims: boolean): ValueId {
  const dims = shape.map((_, i) => i).filter((i) => keepdims || !axes.includes(i));
  return ctx.op('broadcast', [v], { shape: [...shape], dims });
}
