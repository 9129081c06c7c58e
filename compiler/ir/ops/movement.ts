// Movement ops: reshape, transpose, broadcast, slice, pad, concat, gather, and gather's adjoint scatter_add.
//
// Values move; none is computed, except that scatter_add sums the updates that land on one element.

import type { ValueId } from '../graph.js';
import type { Shape } from '../types.js';
import { formatType, numel, shapesEqual, stridesOf } from '../types.js';
import { expectDType, expectLength, expectPerm, fail, fill, result } from './common.js';
import { splitAtAxis, stridedRead, stridedWrite } from './indexing.js';
import type { Attrs, OpDef, VjpContext } from './op.js';
import { allocRef, defineOps, floatAttr, intAttr, intsAttr } from './op.js';

/** The ops of this family (see ElementwiseOpName for why they are listed apart). */
export type MovementOpName = 'reshape' | 'transpose' | 'broadcast' | 'slice' | 'pad' | 'concat' | 'gather' | 'scatter_add';

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** `v` reshaped to `shape`, or `v` itself when it already has that shape. */
function reshapeTo(ctx: VjpContext, v: ValueId, shape: Shape): ValueId {
  return shapesEqual(ctx.typeOf(v).shape, shape) ? v : ctx.op('reshape', [v], { shape: [...shape] });
}

/**
 * The adjoint of broadcast: dy summed over every output axis that repeated its input (axes
 * broadcast adds, and input axes of extent 1 that were widened), then reshaped to the input.
 */
function unbroadcast(ctx: VjpContext, dy: ValueId, inShape: Shape, attrs: Attrs): ValueId {
  const outShape = ctx.typeOf(dy).shape;
  const dims = intsAttr(attrs, 'dims');
  const kept = new Set(dims.filter((d, i) => inShape[i] === outShape[d]));
  const axes = outShape.map((_, a) => a).filter((a) => !kept.has(a));
  const summed = axes.length > 0 ? ctx.op('sum', [dy], { axes, keepdims: false }) : dy;
  return reshapeTo(ctx, summed, inShape);
}

/**
 * The adjoint of slice: dy placed back at the sliced positions, zeros elsewhere. A step s > 1
 * first interleaves s − 1 zeros after each element (reshape to [n, 1], pad to [n, s], merge to
 * n·s, trim what runs past the input), then pad puts the block at its start.
 */
function unslice(ctx: VjpContext, dy: ValueId, inShape: Shape, attrs: Attrs): ValueId {
  const starts = intsAttr(attrs, 'starts');
  const steps = intsAttr(attrs, 'steps');
  const n = ctx.typeOf(dy).shape;
  let g = dy;
  let extents: readonly number[] = n;
  if (steps.some((s) => s > 1)) {
    const split = n.flatMap((e, i) => (steps[i]! > 1 ? [e, 1] : [e]));
    const gaps = n.flatMap((_, i) => (steps[i]! > 1 ? [0, steps[i]! - 1] : [0]));
    g = ctx.op('pad', [reshapeTo(ctx, g, split)], { low: gaps.map(() => 0), high: gaps, value: 0 });
    const spread = n.map((e, i) => e * steps[i]!);
    g = reshapeTo(ctx, g, spread);
    extents = spread.map((len, i) => Math.min(len, inShape[i]! - starts[i]!));
    if (!shapesEqual(extents, spread)) g = ctx.op('slice', [g], { starts: n.map(() => 0), ends: [...extents], steps: n.map(() => 1) });
  }
  const high = inShape.map((d, i) => d - starts[i]! - extents[i]!);
  if (starts.every((s) => s === 0) && high.every((h) => h === 0)) return g;
  return ctx.op('pad', [g], { low: [...starts], high, value: 0 });
}

export const MOVEMENT_OPS: Record<MovementOpName, OpDef> = defineOps<MovementOpName>({
  /** reshape {shape}: same elements, row-major order kept. */
  reshape: {
    family: 'movement',
    arity: 1,
    attrs: { shape: { kind: 'ints' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      const shape = intsAttr(attrs, 'shape');
      const out = result(x!.dtype, shape);
      if (numel(out.shape) !== numel(x!.shape)) {
        fail(`cannot reshape ${formatType(x!)} (${numel(x!.shape)} elements) to [${shape.join(', ')}] (${numel(shape)} elements)`);
      }
      return out;
    },
    evaluate: ([x], _attrs, out) => ({ type: out, data: x!.data.slice() }),
    vjp: (ctx, [x], _y, _attrs, dy) => [() => ctx.op('reshape', [dy], { shape: [...ctx.typeOf(x!).shape] })],
  },

  /** transpose {perm}: out.shape[i] = x.shape[perm[i]]. */
  transpose: {
    family: 'movement',
    arity: 1,
    attrs: { perm: { kind: 'ints' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      const perm = intsAttr(attrs, 'perm');
      expectPerm(perm, x!.shape.length);
      return result(x!.dtype, perm.map((p) => x!.shape[p]!));
    },
    evaluate([x], attrs, out, precision) {
      const strides = stridesOf(x!.type.shape);
      return stridedRead(x!.data, out, intsAttr(attrs, 'perm').map((p) => strides[p]!), 0, precision);
    },
    vjp: (ctx, _inputs, _y, attrs, dy) => {
      const perm = intsAttr(attrs, 'perm');
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [() => ctx.op('transpose', [dy], { perm: inverse })];
    },
  },

  /**
   * broadcast {shape, dims}: input axis i becomes output axis dims[i] (strictly increasing);
   * an input extent of 1 is repeated, any other must equal the output's. Other output axes repeat.
   */
  broadcast: {
    family: 'movement',
    arity: 1,
    attrs: { shape: { kind: 'ints' }, dims: { kind: 'ints' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      const shape = intsAttr(attrs, 'shape');
      const dims = intsAttr(attrs, 'dims');
      expectLength(dims, x!.shape.length, 'broadcast dims');
      dims.forEach((d, i) => {
        if (d < 0 || d >= shape.length) fail(`broadcast dim ${d} is out of range for rank ${shape.length}`);
        if (i > 0 && d <= dims[i - 1]!) fail(`broadcast dims must be strictly increasing, got [${dims.join(', ')}]`);
        const e = x!.shape[i]!;
        if (e !== 1 && e !== shape[d]) fail(`cannot broadcast ${formatType(x!)} to [${shape.join(', ')}]: axis ${i} has ${e}, target axis ${d} has ${shape[d]}`);
      });
      return result(x!.dtype, shape);
    },
    evaluate([x], attrs, out, precision) {
      const xStrides = stridesOf(x!.type.shape);
      const strides = new Array<number>(out.shape.length).fill(0);
      intsAttr(attrs, 'dims').forEach((d, i) => {
        if (x!.type.shape[i] !== 1) strides[d] = xStrides[i]!;
      });
      return stridedRead(x!.data, out, strides, 0, precision);
    },
    vjp: (ctx, [x], _y, attrs, dy) => [() => unbroadcast(ctx, dy, ctx.typeOf(x!).shape, attrs)],
  },

  /** slice {starts, ends, steps}: per axis the elements start, start+step, … < end. */
  slice: {
    family: 'movement',
    arity: 1,
    attrs: { starts: { kind: 'ints' }, ends: { kind: 'ints' }, steps: { kind: 'ints' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      const rank = x!.shape.length;
      const starts = intsAttr(attrs, 'starts');
      const ends = intsAttr(attrs, 'ends');
      const steps = intsAttr(attrs, 'steps');
      expectLength(starts, rank, 'slice starts');
      expectLength(ends, rank, 'slice ends');
      expectLength(steps, rank, 'slice steps');
      const shape = x!.shape.map((d, i) => {
        const s = starts[i]!;
        const e = ends[i]!;
        const st = steps[i]!;
        if (st < 1) fail(`slice step must be at least 1, got ${st}`);
        if (s < 0 || e > d || s > e) fail(`slice ${s}:${e} is out of range for axis ${i} of size ${d}`);
        return Math.ceil((e - s) / st);
      });
      return result(x!.dtype, shape);
    },
    evaluate([x], attrs, out, precision) {
      const xStrides = stridesOf(x!.type.shape);
      const steps = intsAttr(attrs, 'steps');
      const offset = intsAttr(attrs, 'starts').reduce((acc, s, i) => acc + s * xStrides[i]!, 0);
      return stridedRead(x!.data, out, xStrides.map((s, i) => s * steps[i]!), offset, precision);
    },
    vjp: (ctx, [x], _y, attrs, dy) => [() => unslice(ctx, dy, ctx.typeOf(x!).shape, attrs)],
  },

  /** pad {low, high, value}: adds low[i] elements before and high[i] after axis i, filled with value. */
  pad: {
    family: 'movement',
    arity: 1,
    attrs: { low: { kind: 'ints' }, high: { kind: 'ints' }, value: { kind: 'float' } },
    tolerance: 'exact',
    infer([x], attrs: Attrs) {
      const low = intsAttr(attrs, 'low');
      const high = intsAttr(attrs, 'high');
      expectLength(low, x!.shape.length, 'pad low');
      expectLength(high, x!.shape.length, 'pad high');
      if ([...low, ...high].some((p) => p < 0)) fail('pad amounts must be non-negative');
      const value = floatAttr(attrs, 'value');
      if (x!.dtype === 'i32' && !(Number.isInteger(value) && value >= I32_MIN && value <= I32_MAX)) fail(`pad value for an i32 tensor must be a 32-bit integer, got ${value}`);
      if (x!.dtype === 'bool' && value !== 0 && value !== 1) fail(`pad value for a bool tensor must be 0 or 1, got ${value}`);
      return result(x!.dtype, x!.shape.map((d, i) => d + low[i]! + high[i]!));
    },
    evaluate([x], attrs, out, precision) {
      const data = allocRef(out.dtype, numel(out.shape), precision);
      data.fill(floatAttr(attrs, 'value'));
      const outStrides = stridesOf(out.shape);
      const offset = intsAttr(attrs, 'low').reduce((acc, l, i) => acc + l * outStrides[i]!, 0);
      stridedWrite(x!.data, x!.type.shape, data, outStrides, offset);
      return { type: out, data };
    },
    vjp: (ctx, [x], _y, attrs, dy) => {
      const low = intsAttr(attrs, 'low');
      const shape = ctx.typeOf(x!).shape;
      return [() => ctx.op('slice', [dy], { starts: [...low], ends: shape.map((d, i) => low[i]! + d), steps: shape.map(() => 1) })];
    },
  },

  /** concat {axis}: joins inputs along axis; all other extents equal. */
  concat: {
    family: 'movement',
    arity: 'variadic',
    attrs: { axis: { kind: 'int' } },
    tolerance: 'exact',
    infer(xs, attrs: Attrs) {
      const first = xs[0]!;
      const axis = intAttr(attrs, 'axis');
      if (axis < 0 || axis >= first.shape.length) fail(`concat axis ${axis} is out of range for rank ${first.shape.length}`);
      let total = 0;
      for (const x of xs) {
        if (x.dtype !== first.dtype || x.shape.length !== first.shape.length || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
          fail(`concat along axis ${axis} needs matching shapes elsewhere, got ${formatType(first)} and ${formatType(x)}`);
        }
        total += x.shape[axis]!;
      }
      const shape = [...first.shape];
      shape[axis] = total;
      return result(first.dtype, shape);
    },
    evaluate(xs, attrs, out, precision) {
      const axis = intAttr(attrs, 'axis');
      const data = allocRef(out.dtype, numel(out.shape), precision);
      const outStrides = stridesOf(out.shape);
      let start = 0;
      for (const x of xs) {
        stridedWrite(x.data, x.type.shape, data, outStrides, start * outStrides[axis]!);
        start += x.type.shape[axis]!;
      }
      return { type: out, data };
    },
    vjp: (ctx, xs, _y, attrs, dy) => {
      const axis = intAttr(attrs, 'axis');
      const outShape = ctx.typeOf(dy).shape;
      let start = 0;
      return xs.map((x) => {
        const from = start;
        const to = (start += ctx.typeOf(x).shape[axis]!);
        const starts = outShape.map((_, i) => (i === axis ? from : 0));
        const ends = outShape.map((d, i) => (i === axis ? to : d));
        return () => ctx.op('slice', [dy], { starts, ends, steps: outShape.map(() => 1) });
      });
    },
  },

  /**
   * gather {axis}: gather(x, idx) picks slices of x along axis by i32 indices;
   * out.shape = x.shape[:axis] ++ idx.shape ++ x.shape[axis+1:]. Out-of-range indices are clamped.
   */
  gather: {
    family: 'movement',
    arity: 2,
    attrs: { axis: { kind: 'int' } },
    tolerance: 'exact',
    infer([x, idx], attrs: Attrs) {
      expectDType(idx!, ['i32'], 'indices');
      const axis = intAttr(attrs, 'axis');
      if (axis < 0 || axis >= x!.shape.length) fail(`gather axis ${axis} is out of range for rank ${x!.shape.length}`);
      if (x!.shape[axis] === 0 && numel(idx!.shape) > 0) fail(`gather from ${formatType(x!)}: axis ${axis} is empty, so no index can be clamped into it`);
      return result(x!.dtype, [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)]);
    },
    evaluate([x, idx], attrs, out, precision) {
      const { outer, extent, inner } = splitAtAxis(x!.type.shape, intAttr(attrs, 'axis'));
      const count = idx!.data.length;
      const data = allocRef(out.dtype, numel(out.shape), precision);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < count; j++) {
          const picked = Math.min(Math.max(idx!.data[j]!, 0), extent - 1);
          const from = (o * extent + picked) * inner;
          const to = (o * count + j) * inner;
          for (let i = 0; i < inner; i++) data[to + i] = x!.data[from + i]!;
        }
      }
      return { type: out, data };
    },
    vjp: (ctx, [x, idx], _y, attrs, dy) => [
      () => ctx.op('scatter_add', [fill(ctx, 0, ctx.typeOf(x!).shape), idx!, dy], { axis: intAttr(attrs, 'axis') }),
      null,
    ],
  },

  /**
   * scatter_add {axis}: scatter_add(x, idx, updates) is x with each slice of updates added
   * along axis at its i32 index, clamped into range as gather clamps; updates has gather's
   * result shape x.shape[:axis] ++ idx.shape ++ x.shape[axis+1:]. Updates landing on one
   * element are summed in float64 (x first, then in row-major order of updates) and rounded
   * once. It is gather's adjoint: the cotangent of gather's x is scatter_add(0, idx, dy).
   */
  scatter_add: {
    family: 'movement',
    arity: 3,
    attrs: { axis: { kind: 'int' } },
    tolerance: 'reduction',
    infer([x, idx, updates], attrs: Attrs) {
      expectDType(x!, ['f32'], 'scatter_add base');
      expectDType(idx!, ['i32'], 'indices');
      expectDType(updates!, ['f32'], 'updates');
      const axis = intAttr(attrs, 'axis');
      if (axis < 0 || axis >= x!.shape.length) fail(`scatter_add axis ${axis} is out of range for rank ${x!.shape.length}`);
      if (x!.shape[axis] === 0 && numel(idx!.shape) > 0) fail(`scatter_add into ${formatType(x!)}: axis ${axis} is empty, so no index can be clamped into it`);
      const want = [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)];
      if (!shapesEqual(updates!.shape, want)) fail(`scatter_add updates must have shape [${want.join(', ')}] for base ${formatType(x!)} and indices ${formatType(idx!)}, got ${formatType(updates!)}`);
      return result('f32', x!.shape);
    },
    evaluate([x, idx, updates], attrs, out, precision) {
      const { outer, extent, inner } = splitAtAxis(x!.type.shape, intAttr(attrs, 'axis'));
      const count = idx!.data.length;
      const acc = Float64Array.from(x!.data);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < count; j++) {
          const picked = Math.min(Math.max(idx!.data[j]!, 0), extent - 1);
          const to = (o * extent + picked) * inner;
          const from = (o * count + j) * inner;
          for (let i = 0; i < inner; i++) acc[to + i]! += updates!.data[from + i]!;
        }
      }
      const data = allocRef('f32', acc.length, precision);
      data.set(acc);
      return { type: out, data };
    },
    vjp: (ctx, [, idx], _y, attrs, dy) => [() => dy, null, () => ctx.op('gather', [dy, idx!], { axis: intAttr(attrs, 'axis') })],
  },
});
