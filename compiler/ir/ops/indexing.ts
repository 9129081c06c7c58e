// Index arithmetic shared by the reference semantics: row-major iteration, strided copies, axis splits, window taps.
//
// The reference ops are written as plain loops over multi-indices; these helpers keep the
// odometer, stride and window bookkeeping in one place so each op reads as its definition.

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

/**
 * The dims of a shape as int32 values. Graphs built by the front end may hold their dims
 * as heap doubles, and V8 then runs all of a loop nest's index arithmetic in floating
 * point, about half as fast; `| 0` is exact here since every dim is at most 2^28.
 */
export function int32Dims(shape: Shape): number[] {
  return shape.map((d) => d | 0);
}

/**
 * A 2-D sliding window over an h×w input plane giving an oh×ow output plane: output (oy, ox)
 * reads input (oy·stride[0] − padTop + ky·dilation[0], ox·stride[1] − padLeft + kx·dilation[1])
 * for kernel position ky < kh, kx < kw.
 */
export interface Window2d {
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: readonly number[];
  /** [top, bottom, left, right]; only top and left place the window. */
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
}

/**
 * The in-bounds taps of every window, listed once so that the loops of conv2d and its
 * gradients carry no bounds checks: output position p = oy·ow + ox owns the taps t with
 * start[p] ≤ t < start[p + 1], tap t reading the input plane at offset at[t] = iy·w + ix
 * with kernel position k[t] = ky·kw + kx. Taps in the zero padding are left out; the rest
 * come in row-major (ky, kx) order. The list has one entry per (position, in-bounds tap),
 * so it is never longer than the number of products one (input, output) channel pair costs.
 */
export interface WindowTaps {
  readonly start: Int32Array;
  readonly at: Int32Array;
  readonly k: Int32Array;
  /** Per position, how many of its taps lie in each kernel row: they come in runs of that many consecutive kx. */
  readonly rowRun: Int32Array;
}

/** For each output index along one axis, the kernel taps [lo, hi) that land inside [0, size). */
function axisTaps(extent: number, size: number, kernel: number, stride: number, padLow: number, dilation: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(extent);
  const hi = new Int32Array(extent);
  for (let o = 0; o < extent; o++) {
    let first = kernel;
    let last = -1;
    for (let k = 0; k < kernel; k++) {
      const i = o * stride - padLow + k * dilation;
      if (i < 0 || i >= size) continue;
      first = Math.min(first, k);
      last = k;
    }
    lo[o] = first;
    hi[o] = Math.max(first, last + 1);
  }
  return { lo, hi };
}

export function windowTaps(win: Window2d): WindowTaps {
  const { w, oh, ow, kw } = win;
  const [sh, sw] = win.stride as [number, number];
  const [pt, , pl] = win.padding as [number, number, number, number];
  const [dh, dw] = win.dilation as [number, number];
  const rows = axisTaps(oh, win.h, win.kh, sh, pt, dh);
  const cols = axisTaps(ow, w, kw, sw, pl, dw);
  let rowTaps = 0;
  let colTaps = 0;
  for (let oy = 0; oy < oh; oy++) rowTaps += rows.hi[oy]! - rows.lo[oy]!;
  for (let ox = 0; ox < ow; ox++) colTaps += cols.hi[ox]! - cols.lo[ox]!;
  const start = new Int32Array(oh * ow + 1);
  const rowRun = new Int32Array(oh * ow);
  const at = new Int32Array(rowTaps * colTaps);
  const k = new Int32Array(rowTaps * colTaps);
  let t = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      start[oy * ow + ox] = t;
      rowRun[oy * ow + ox] = cols.hi[ox]! - cols.lo[ox]!;
      for (let ky = rows.lo[oy]!; ky < rows.hi[oy]!; ky++) {
        for (let kx = cols.lo[ox]!; kx < cols.hi[ox]!; kx++) {
          at[t] = (oy * sh - pt + ky * dh) * w + ox * sw - pl + kx * dw;
          k[t++] = ky * kw + kx;
        }
      }
    }
  }
  start[oh * ow] = t;
  return { start, at, k, rowRun };
}

/**
 * `src` read through `strides` from `offset` (as stridedRead) into a new row-major float64
 * array of `shape`: how the contraction references lay an operand out so that the index
 * they sum over is contiguous, whatever the operand's layout and precision.
 */
export function packed(src: RefData, shape: Shape, strides: readonly number[], offset: number): Float64Array {
  const { data } = stridedRead(src, { dtype: 'f32', shape }, strides, offset, 'float64');
  if (!(data instanceof Float64Array)) throw new Error('internal: stridedRead of f32 at float64 precision must return a Float64Array');
  return data;
}
