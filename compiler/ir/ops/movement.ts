// Movement ops: reshape, transpose, broadcast, slice, pad, concat, gather. Values move; none is computed.

import { formatType, numel } from '../types.js';
import { expectDType, expectLength, expectPerm, fail, referencePending, result } from './common.js';
import type { Attrs, OpDef } from './op.js';
import { floatAttr, intAttr, intsAttr } from './op.js';

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
    reference: referencePending('reshape'),
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
    reference: referencePending('transpose'),
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
    reference: referencePending('broadcast'),
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
    reference: referencePending('slice'),
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
      if (x!.dtype !== 'f32' && !Number.isInteger(floatAttr(attrs, 'value'))) fail('pad value must be an integer for integer tensors');
      return result(x!.dtype, x!.shape.map((d, i) => d + low[i]! + high[i]!));
    },
    reference: referencePending('pad'),
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
    reference: referencePending('concat'),
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
      return result(x!.dtype, [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)]);
    },
    reference: referencePending('gather'),
  },
} satisfies Record<string, OpDef>;
