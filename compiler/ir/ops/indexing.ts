// Index arithmetic shared by the reference semantics: row-major iteration, strided copies, axis splits.
//
// The reference ops are written as plain loops over multi-indices; these helpers keep the
// odometer and stride bookkeeping in one place so each op reads as its definition.

import type { Shape, TensorType } from '../types.js';
import { numel } from '../types.js';
import type { Precision, RefData, RefTensor } from './op.js';
import { allocRef } from './op.js';

/**
 * Calls `f(index, flat)` for every multi-index of `shape` in row-major order. The index
 * array is reused between calls: copy it if it must outlive the call.
 */
export function forEachIndex(shape: Shape, f: (index: readonly number[], flat: number) => void): void {
  const n = numel(shape);
  if (n === 0) return;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(index, flat);
    for (let axis = rank - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) break;
      index[axis] = 0;
    }
  }
}

/**
 * A new tensor of type `out` whose element at multi-index i is
 * `src[offset + Σ_k i[k] · strides[k]]`: transpose, broadcast (stride 0) and slice are all this.
 */
export function stridedRead(src: RefData, out: TensorType, strides: readonly number[], offset: number, precision: Precision): RefTensor {
  const data = allocRef(out.dtype, numel(out.shape), precision);
  const rank = out.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  for (let flat = 0; flat < data.length; flat++) {
    data[flat] = src[at]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      at += strides[axis]!;
      if (++index[axis]! < out.shape[axis]!) break;
      at -= strides[axis]! * index[axis]!;
      index[axis] = 0;
    }
  }
  return { type: out, data };
}

/**
 * Writes every element of `src` (row-major over `srcShape`) into `dst` at
 * `offset + Σ_k i[k] · strides[k]`: pad and concat place their inputs this way.
 */
export function stridedWrite(src: RefData, srcShape: Shape, dst: RefData, strides: readonly number[], offset: number): void {
  forEachIndex(srcShape, (index, flat) => {
    let at = offset;
    for (let k = 0; k < index.length; k++) at += index[k]! * strides[k]!;
    dst[at] = src[flat]!;
  });
}

/** A shape seen around one axis: the product of the axes before it, its extent, the product after. */
export interface AxisSplit {
  readonly outer: number;
  readonly extent: number;
  readonly inner: number;
}

export function splitAtAxis(shape: Shape, axis: number): AxisSplit {
  return { outer: numel(shape.slice(0, axis)), extent: shape[axis]!, inner: numel(shape.slice(axis + 1)) };
}

/**
 * Whether `v` should replace `best` as the running maximum. Only a strictly larger value
 * replaces (so ties keep the first), and NaN counts as larger than everything, as in NumPy:
 * a NaN anywhere in a max window makes the result NaN.
 */
export function beats(v: number, best: number): boolean {
  return v > best || (Number.isNaN(v) && !Number.isNaN(best));
}
