// Movement ops: reshape, transpose, broadcast, slice, pad, concat, gather. Values move; none is computed.

import { allocData } from '../tensor.js';
import { formatType, numel, stridesOf } from '../types.js';
import { expectDType, expectLength, expectPerm, fail, result } from './common.js';
import { splitAtAxis, stridedRead, stridedWrite } from './indexing.js';
import type { Attrs, OpDef } from './op.js';
import { floatAttr, intAttr, intsAttr } from './op.js';

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

export const MOVEMENT_OPS = {
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
    reference: ([x], _attrs, out) => ({ type: out, data: x!.data.slice() }),
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
    reference([x], attrs, out) {
      const strides = stridesOf(x!.type.shape);
      return stridedRead(x!.data, out, intsAttr(attrs, 'perm').map((p) => strides[p]!), 0);
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
    reference([x], attrs, out) {
      const xStrides = stridesOf(x!.type.shape);
      const strides = new Array<number>(out.shape.length).fill(0);
      intsAttr(attrs, 'dims').forEach((d, i) => {
        if (x!.type.shape[i] !== 1) strides[d] = xStrides[i]!;
      });
      return stridedRead(x!.data, out, strides, 0);
    },
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
    reference([x], attrs, out) {
      const xStrides = stridesOf(x!.type.shape);
      const steps = intsAttr(attrs, 'steps');
      const offset = intsAttr(attrs, 'starts').reduce((acc, s, i) => acc + s * xStrides[i]!, 0);
      return stridedRead(x!.data, out, xStrides.map((s, i) => s * steps[i]!), offset);
    },
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
    reference([x], attrs, out) {
      const data = allocData(out.dtype, numel(out.shape));
      data.fill(floatAttr(attrs, 'value'));
      const outStrides = stridesOf(out.shape);
      const offset = intsAttr(attrs, 'low').reduce((acc, l, i) => acc + l * outStrides[i]!, 0);
      stridedWrite(x!.data, x!.type.shape, data, outStrides, offset);
      return { type: out, data };
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
    reference(xs, attrs, out) {
      const axis = intAttr(attrs, 'axis');
      const data = allocData(out.dtype, numel(out.shape));
      const outStrides = stridesOf(out.shape);
      let start = 0;
      for (const x of xs) {
        stridedWrite(x.data, x.type.shape, data, outStrides, start * outStrides[axis]!);
        start += x.type.shape[axis]!;
      }
      return { type: out, data };
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
    reference([x, idx], attrs, out) {
      const { outer, extent, inner } = splitAtAxis(x!.type.shape, intAttr(attrs, 'axis'));
      const count = idx!.data.length;
      const data = allocData(out.dtype, numel(out.shape));
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
  },
} satisfies Record<string, OpDef>;
