// Reductions over axes: sum, mean, max (float64 accumulation), and argmax.

import type { ValueId } from '../graph.js';
import type { TensorType } from '../types.js';
import { numel, stridesOf } from '../types.js';
import { expectAxes, expectDType, fail, fill, noGradient, result, unreduce, zerosLike } from './common.js';
import { beats, forEachIndex, splitAtAxis } from './indexing.js';
import type { Attrs, OpDef, OpRule, Precision, RefTensor, VjpContext, VjpFn } from './op.js';
import { allocRef, boolAttr, defineOps, intAttr, intsAttr } from './op.js';

type ReduceKind = 'sum' | 'mean' | 'max';

/** The ops of this family (see ElementwiseOpName for why they are listed apart). */
export type ReduceOpName = ReduceKind | 'argmax';

function reducedShape(x: TensorType, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/**
 * For each input axis, the step its index contributes to the output's flat index: 0 on a
 * reduced axis. keepdims does not change the output's element order, so one map serves both.
 */
function outputStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const kept = shape.filter((_, i) => !axes.includes(i));
  const keptStrides = stridesOf(kept);
  let k = 0;
  return shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[k++]!));
}

/**
 * Sum and mean accumulate in float64 in row-major input order; an i32 sum wraps at every
 * step, as 32-bit addition does. Max keeps the first maximum, NaN propagating.
 */
function reduceReference(kind: ReduceKind, x: RefTensor, axes: readonly number[], out: TensorType, precision: Precision): RefTensor {
  const size = numel(out.shape);
  const acc = new Float64Array(size).fill(kind === 'max' ? -Infinity : 0);
  const steps = outputStrides(x.type.shape, axes);
  forEachIndex(x.type.shape, (index, flat) => {
    let o = 0;
    for (let k = 0; k < index.length; k++) o += index[k]! * steps[k]!;
    const v = x.data[flat]!;
    if (kind === 'max') {
      if (beats(v, acc[o]!)) acc[o] = v;
    } else if (out.dtype === 'i32') {
      acc[o] = (acc[o]! + v) | 0;
    } else {
      acc[o]! += v;
    }
  });
  if (kind === 'mean') {
    const count = numel(axes.map((a) => x.type.shape[a]!));
    for (let i = 0; i < size; i++) acc[i]! /= count;
  }
  const data = allocRef(out.dtype, size, precision);
  for (let i = 0; i < size; i++) data[i] = acc[i]!;
  return { type: out, data };
}

/**
 * Cotangents of reductions: a sum spreads dy over the reduced axes, a mean also divides by
 * the count, and a max shares dy evenly among the elements equal to the maximum (so a tie
 * splits it, and a NaN maximum passes nothing).
 */
const REDUCE_VJPS: Record<ReduceKind, VjpFn> = {
  sum: (ctx, [x], _y, attrs, dy) => [() => spread(ctx, x!, attrs, dy)],
  mean: (ctx, [x], _y, attrs, dy) => [
    () => {
      const shape = ctx.typeOf(x!).shape;
      const count = numel(intsAttr(attrs, 'axes').map((a) => shape[a]!));
      return ctx.op('div', [spread(ctx, x!, attrs, dy), fill(ctx, count, shape)]);
    },
  ],
  max: (ctx, [x], y, attrs, dy) => [
    () => {
      const axes = intsAttr(attrs, 'axes');
      const keepdims = boolAttr(attrs, 'keepdims');
      const isMax = ctx.op('equal', [x!, spread(ctx, x!, attrs, y)]);
      const ties = ctx.op('sum', [ctx.op('cast', [isMax], { to: 'f32' })], { axes, keepdims });
      const share = spread(ctx, x!, attrs, ctx.op('div', [dy, ties]));
      return ctx.op('select', [isMax, share, zerosLike(ctx, x!)]);
    },
  ],
};

/** A value of the reduction's result shape, repeated over the reduced axes of x. */
function spread(ctx: VjpContext, x: ValueId, attrs: Attrs, v: ValueId): ValueId {
  return unreduce(ctx, v, ctx.typeOf(x).shape, intsAttr(attrs, 'axes'), boolAttr(attrs, 'keepdims'));
}

function reduction(name: ReduceKind, dtypes: readonly ('f32' | 'i32')[]): OpRule {
  return {
    family: 'reduce',
    arity: 1,
    attrs: { axes: { kind: 'ints' }, keepdims: { kind: 'bool' } },
    tolerance: name === 'max' ? 'exact' : 'reduction',
    infer([x], attrs: Attrs) {
      expectDType(x!, dtypes, 'operand');
      const axes = intsAttr(attrs, 'axes');
      expectAxes(axes, x!.shape.length, name);
      if (name !== 'sum' && axes.some((a) => x!.shape[a] === 0)) fail(`${name} over an empty axis`);
      return result(x!.dtype, reducedShape(x!, axes, boolAttr(attrs, 'keepdims')));
    },
    evaluate: ([x], attrs, out, precision) => reduceReference(name, x!, intsAttr(attrs, 'axes'), out, precision),
    vjp: REDUCE_VJPS[name],
  };
}

export const REDUCE_OPS: Record<ReduceOpName, OpDef> = defineOps<ReduceOpName>({
  /** sum {axes, keepdims}: over an empty axis the sum is 0. */
  sum: reduction('sum', ['f32', 'i32']),
  /** mean {axes, keepdims}: the sum divided by the number of reduced elements. */
  mean: reduction('mean', ['f32']),
  /** max {axes, keepdims}: NaN anywhere in the reduced set gives NaN (as in NumPy). */
  max: reduction('max', ['f32', 'i32']),
  /**
   * argmax {axis, keepdims}: index (i32) of the first largest element along axis; a NaN
   * counts as largest, so the first NaN's index is returned.
   */
  argmax: {
    family: 'reduce',
    arity: 1,
    attrs: { axis: { kind: 'int' }, keepdims: { kind: 'bool' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      expectDType(x!, ['f32', 'i32'], 'operand');
      const axis = intAttr(attrs, 'axis');
      expectAxes([axis], x!.shape.length, 'argmax');
      if (x!.shape[axis] === 0) fail('argmax over an empty axis');
      return result('i32', reducedShape(x!, [axis], boolAttr(attrs, 'keepdims')));
    },
    evaluate([x], attrs, out, precision) {
      const { outer, extent, inner } = splitAtAxis(x!.type.shape, intAttr(attrs, 'axis'));
      const data = allocRef('i32', outer * inner, precision);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * extent * inner + i;
          let best = 0;
          for (let a = 1; a < extent; a++) {
            if (beats(x!.data[base + a * inner]!, x!.data[base + best * inner]!)) best = a;
          }
          data[o * inner + i] = best;
        }
      }
      return { type: out, data };
    },
    vjp: noGradient,
  },
});
