// Hand-computed cases for every op of the registry; the table's type makes a new op without cases a type error.
//
// Each expected value is small enough to check by eye; where it is not, a comment gives
// the arithmetic. Transcendental cases pick inputs whose results have closed forms.

import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { BACKWARD_HAND_CASES } from '../autodiff/backward-hand-cases.js';

export interface HandCase {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly attrs?: Attrs;
  readonly want: Tensor;
}

export const f32 = (shape: Shape, values: readonly number[]): Tensor => tensorFrom('f32', shape, values);
export const i32 = (shape: Shape, values: readonly number[]): Tensor => tensorFrom('i32', shape, values);
export const bool = (shape: Shape, values: readonly number[]): Tensor => tensorFrom('bool', shape, values);

const LN2 = Math.LN2;
const LN3 = Math.log(3);
const NO_AXES = { axes: [], keepdims: false };
/** 1 2 3 / 4 5 6, the running example of the reduce and movement cases. */
const X23 = f32([2, 3], [1, 2, 3, 4, 5, 6]);
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const ELEMENTWISE_CASES = {
  neg: [
    { name: 'f32', inputs: [f32([3], [1, -2.5, 0])], want: f32([3], [-1, 2.5, 0]) },
    { name: 'i32', inputs: [i32([2], [3, -4])], want: i32([2], [-3, 4]) },
  ],
  abs: [
    { name: 'f32', inputs: [f32([3], [-1.5, 2, 0])], want: f32([3], [1.5, 2, 0]) },
    { name: 'i32', inputs: [i32([2], [-7, 7])], want: i32([2], [7, 7]) },
  ],
  exp: [{ name: 'e^0, e^1, e^-1', inputs: [f32([3], [0, 1, -1])], want: f32([3], [1, Math.E, 1 / Math.E]) }],
  log: [{ name: 'ln 1, ln e, ln 1/2', inputs: [f32([3], [1, Math.E, 0.5])], want: f32([3], [0, 1, -LN2]) }],
  sqrt: [{ name: 'squares', inputs: [f32([3], [4, 0.25, 2])], want: f32([3], [2, 0.5, Math.SQRT2]) }],
  rsqrt: [{ name: 'inverse roots', inputs: [f32([2], [4, 0.25])], want: f32([2], [0.5, 2]) }],
  relu: [
    { name: 'f32', inputs: [f32([3], [-1, 0, 2.5])], want: f32([3], [0, 0, 2.5]) },
    { name: 'i32', inputs: [i32([2], [-3, 3])], want: i32([2], [0, 3]) },
  ],
  // sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4.
  sigmoid: [{ name: '0 and ln 3', inputs: [f32([2], [0, LN3])], want: f32([2], [0.5, 0.75]) }],
  // tanh(ln 2) = (2 − 1/2) / (2 + 1/2) = 0.6.
  tanh: [{ name: '0 and ln 2', inputs: [f32([2], [0, LN2])], want: f32([2], [0, 0.6]) }],
  gelu: [
    // 0 → 0; ±10 saturate to 10 and 0; at 1 the tanh form is ½(1 + tanh(√(2/π)·(1 + 0.044715))).
    { name: 'saturating', inputs: [f32([3], [0, 10, -10])], want: f32([3], [0, 10, 0]) },
    { name: 'at 1', inputs: [f32([1], [1])], want: f32([1], [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715))]) },
  ],
  add: [
    { name: 'f32', inputs: [f32([2], [1, 2.5]), f32([2], [3, -0.5])], want: f32([2], [4, 2]) },
    { name: 'i32', inputs: [i32([2], [1, -2]), i32([2], [5, 7])], want: i32([2], [6, 5]) },
  ],
  sub: [{ name: 'f32', inputs: [f32([2], [1, 2.5]), f32([2], [3, -0.5])], want: f32([2], [-2, 3]) }],
  mul: [
    { name: 'f32', inputs: [f32([2], [1.5, -2]), f32([2], [4, 0.25])], want: f32([2], [6, -0.5]) },
    { name: 'i32', inputs: [i32([2], [3, -2]), i32([2], [4, 5])], want: i32([2], [12, -10]) },
  ],
  div: [
    { name: 'f32', inputs: [f32([2], [1, -3]), f32([2], [4, 2])], want: f32([2], [0.25, -1.5]) },
    { name: 'i32 truncates toward zero', inputs: [i32([3], [7, -7, 6]), i32([3], [-2, 2, 3])], want: i32([3], [-3, -3, 2]) },
  ],
  maximum: [{ name: 'f32', inputs: [f32([2], [1, 5]), f32([2], [3, 2])], want: f32([2], [3, 5]) }],
  minimum: [{ name: 'i32', inputs: [i32([2], [1, 5]), i32([2], [3, 2])], want: i32([2], [1, 2]) }],
  pow: [{ name: 'cube, root, inverse', inputs: [f32([3], [2, 9, 4]), f32([3], [3, 0.5, -1])], want: f32([3], [8, 3, 0.25]) }],
  greater: [{ name: 'f32', inputs: [f32([3], [1, 2, 3]), f32([3], [2, 2, 2])], want: bool([3], [0, 0, 1]) }],
  less: [{ name: 'i32', inputs: [i32([3], [1, 2, 3]), i32([3], [2, 2, 2])], want: bool([3], [1, 0, 0]) }],
  equal: [{ name: 'f32', inputs: [f32([3], [1, 2, 3]), f32([3], [2, 2, 2])], want: bool([3], [0, 1, 0]) }],
  select: [
    {
      name: 'picks per element',
      inputs: [bool([3], [1, 0, 1]), f32([3], [1, 2, 3]), f32([3], [10, 20, 30])],
      want: f32([3], [1, 20, 3]),
    },
  ],
  cast: [
    { name: 'f32 to i32 truncates', inputs: [f32([3], [-1.7, 2.9, 0])], attrs: { to: 'i32' }, want: i32([3], [-1, 2, 0]) },
    { name: 'f32 to bool is x != 0', inputs: [f32([3], [-1.7, 0, 0.5])], attrs: { to: 'bool' }, want: bool([3], [1, 0, 1]) },
    { name: 'bool to f32', inputs: [bool([2], [1, 0])], attrs: { to: 'f32' }, want: f32([2], [1, 0]) },
  ],
  random_uniform: [
    {
      name: 'counter hash, recomputed with BigInt arithmetic',
      inputs: [i32([], [12345])],
      attrs: { shape: [2, 2], salt: 3 },
      want: f32([2, 2], [0, 1, 2, 3].map((i) => bigCounterUniform(12345, 3, i))),
    },
  ],
  constant: [
    { name: 'f32 fill', inputs: [], attrs: { value: 2.5, dtype: 'f32', shape: [2, 2] }, want: f32([2, 2], [2.5, 2.5, 2.5, 2.5]) },
    { name: 'i32 scalar', inputs: [], attrs: { value: -3, dtype: 'i32', shape: [] }, want: i32([], [-3]) },
  ],
} satisfies Record<string, readonly HandCase[]>;

const REDUCE_CASES = {
  sum: [
    { name: 'axis 0', inputs: [X23], attrs: { axes: [0], keepdims: false }, want: f32([3], [5, 7, 9]) },
    { name: 'axis 1 keepdims', inputs: [X23], attrs: { axes: [1], keepdims: true }, want: f32([2, 1], [6, 15]) },
    { name: 'all axes', inputs: [X23], attrs: { axes: [0, 1], keepdims: false }, want: f32([], [21]) },
    { name: 'no axes is the identity', inputs: [X23], attrs: NO_AXES, want: X23 },
    { name: 'empty axis sums to 0', inputs: [f32([2, 0], [])], attrs: { axes: [1], keepdims: false }, want: f32([2], [0, 0]) },
    { name: 'i32', inputs: [i32([3], [4, -9, 2])], attrs: { axes: [0], keepdims: false }, want: i32([], [-3]) },
  ],
  mean: [
    { name: 'axis 1', inputs: [X23], attrs: { axes: [1], keepdims: false }, want: f32([2], [2, 5]) },
    { name: 'all axes keepdims', inputs: [X23], attrs: { axes: [0, 1], keepdims: true }, want: f32([1, 1], [3.5]) },
  ],
  max: [
    { name: 'axis 0', inputs: [X23], attrs: { axes: [0], keepdims: false }, want: f32([3], [4, 5, 6]) },
    { name: 'negative row', inputs: [f32([1, 3], [-4, -1, -9])], attrs: { axes: [1], keepdims: true }, want: f32([1, 1], [-1]) },
    { name: 'i32 all axes', inputs: [i32([2, 2], [3, 8, -1, 7])], attrs: { axes: [0, 1], keepdims: false }, want: i32([], [8]) },
  ],
  argmax: [
    // Ties pick the first: row 0 has 3 at 1 and 2, row 1 has 5 at 0 and 2.
    { name: 'first maximum along axis 1', inputs: [f32([2, 3], [1, 3, 3, 5, 0, 5])], attrs: { axis: 1, keepdims: false }, want: i32([2], [1, 0]) },
    { name: 'along axis 0 keepdims', inputs: [f32([2, 3], [1, 3, 3, 5, 0, 5])], attrs: { axis: 0, keepdims: true }, want: i32([1, 3], [1, 0, 1]) },
    { name: 'i32', inputs: [i32([4], [-5, -2, -9, -2])], attrs: { axis: 0, keepdims: false }, want: i32([], [1]) },
  ],
} satisfies Record<string, readonly HandCase[]>;

const MOVEMENT_CASES = {
  reshape: [
    { name: 'keeps row-major order', inputs: [X23], attrs: { shape: [3, 2] }, want: f32([3, 2], [1, 2, 3, 4, 5, 6]) },
    { name: 'to a scalar', inputs: [i32([1, 1], [7])], attrs: { shape: [] }, want: i32([], [7]) },
  ],
  transpose: [
    { name: 'matrix', inputs: [X23], attrs: { perm: [1, 0] }, want: f32([3, 2], [1, 4, 2, 5, 3, 6]) },
    // x[a,b,c] = 4a + 2b + c; out[i,j,k] = x[j,k,i] = 4j + 2k + i.
    { name: 'rank 3 rotation', inputs: [f32([2, 2, 2], iota(8))], attrs: { perm: [2, 0, 1] }, want: f32([2, 2, 2], [0, 2, 4, 6, 1, 3, 5, 7]) },
  ],
  broadcast: [
    { name: 'row to matrix', inputs: [f32([3], [1, 2, 3])], attrs: { shape: [2, 3], dims: [1] }, want: f32([2, 3], [1, 2, 3, 1, 2, 3]) },
    { name: 'extent 1 repeats', inputs: [f32([2, 1], [1, 2])], attrs: { shape: [2, 3], dims: [0, 1] }, want: f32([2, 3], [1, 1, 1, 2, 2, 2]) },
    { name: 'scalar', inputs: [i32([], [4])], attrs: { shape: [2], dims: [] }, want: i32([2], [4, 4]) },
  ],
  slice: [
    { name: 'with a step', inputs: [i32([10], iota(10))], attrs: { starts: [1], ends: [8], steps: [3] }, want: i32([3], [1, 4, 7]) },
    { name: 'matrix block', inputs: [X23], attrs: { starts: [1, 0], ends: [2, 3], steps: [1, 2] }, want: f32([1, 2], [4, 6]) },
    { name: 'empty', inputs: [X23], attrs: { starts: [0, 2], ends: [2, 2], steps: [1, 1] }, want: f32([2, 0], []) },
  ],
  pad: [
    { name: 'vector', inputs: [f32([2], [1, 2])], attrs: { low: [1], high: [2], value: -1 }, want: f32([5], [-1, 1, 2, -1, -1]) },
    {
      name: 'matrix',
      inputs: [i32([1, 2], [1, 2])],
      attrs: { low: [1, 0], high: [0, 1], value: 9 },
      want: i32([2, 3], [9, 9, 9, 1, 2, 9]),
    },
  ],
  concat: [
    { name: 'axis 0', inputs: [f32([1, 2], [1, 2]), f32([2, 2], [3, 4, 5, 6])], attrs: { axis: 0 }, want: f32([3, 2], [1, 2, 3, 4, 5, 6]) },
    {
      name: 'axis 1 of three',
      inputs: [f32([2, 1], [1, 2]), f32([2, 2], [3, 4, 5, 6]), f32([2, 0], [])],
      attrs: { axis: 1 },
      want: f32([2, 3], [1, 3, 4, 2, 5, 6]),
    },
  ],
  gather: [
    {
      // Rows 2 and 0, then -5 clamps to row 0 and 9 to row 2.
      name: 'rows with clamping',
      inputs: [f32([3, 2], [10, 11, 20, 21, 30, 31]), i32([4], [2, 0, -5, 9])],
      attrs: { axis: 0 },
      want: f32([4, 2], [30, 31, 10, 11, 10, 11, 30, 31]),
    },
    {
      // out[r, i, j] = x[r, idx[i, j]].
      name: 'columns by a matrix of indices',
      inputs: [X23, i32([2, 2], [2, 0, 1, 1])],
      attrs: { axis: 1 },
      want: f32([2, 2, 2], [3, 1, 2, 2, 6, 4, 5, 5]),
    },
  ],
} satisfies Record<string, readonly HandCase[]>;

const CONTRACTION_CASES = {
  matmul: [
    // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[1·5+2·7, 1·6+2·8], [3·5+4·7, 3·6+4·8]].
    { name: 'plain', inputs: [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])], attrs: { transpose_a: false, transpose_b: false }, want: f32([2, 2], [19, 22, 43, 50]) },
    // aᵀ = [[1,3],[2,4]]: [[1·5+3·7, 1·6+3·8], [2·5+4·7, 2·6+4·8]].
    { name: 'transpose_a', inputs: [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])], attrs: { transpose_a: true, transpose_b: false }, want: f32([2, 2], [26, 30, 38, 44]) },
    // bᵀ = [[5,7],[6,8]]: [[1·5+2·6, 1·7+2·8], [3·5+4·6, 3·7+4·8]].
    { name: 'transpose_b', inputs: [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])], attrs: { transpose_a: false, transpose_b: true }, want: f32([2, 2], [17, 23, 39, 53]) },
    // [1,2,3] @ [[1,0],[0,1],[1,1]] = [1+3, 2+3].
    { name: 'non-square', inputs: [f32([1, 3], [1, 2, 3]), f32([3, 2], [1, 0, 0, 1, 1, 1])], attrs: { transpose_a: false, transpose_b: false }, want: f32([1, 2], [4, 5]) },
    // batch 0: [1,2]·[1,1] = 3; batch 1: [3,4]·[2,0] = 6.
    { name: 'batched', inputs: [f32([2, 1, 2], [1, 2, 3, 4]), f32([2, 2, 1], [1, 1, 2, 0])], attrs: { transpose_a: false, transpose_b: false }, want: f32([2, 1, 1], [3, 6]) },
  ],
  conv2d: [
    {
      // Identity-diagonal 2x2 kernel over 1..9: each output adds x[i,j] and x[i+1,j+1].
      name: 'single channel',
      inputs: [f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), f32([1, 1, 2, 2], [1, 0, 0, 1])],
      attrs: { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
      want: f32([1, 1, 2, 2], [6, 8, 12, 14]),
    },
    {
      // A 3x3 ones kernel, padding 1, over a 2x2 input: every window covers all of 1+2+3+4.
      name: 'zero padding',
      inputs: [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 3, 3], Array<number>(9).fill(1))],
      attrs: { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
      want: f32([1, 1, 2, 2], [10, 10, 10, 10]),
    },
    {
      // Taps two apart: [1+3, 2+4, 3+5].
      name: 'dilation',
      inputs: [f32([1, 1, 1, 5], [1, 2, 3, 4, 5]), f32([1, 1, 1, 2], [1, 1])],
      attrs: { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 2], groups: 1 },
      want: f32([1, 1, 1, 3], [4, 6, 8]),
    },
    {
      // Windows start at 0 and 2: [1+2, 3+4]; the last element is never reached.
      name: 'stride',
      inputs: [f32([1, 1, 1, 5], [1, 2, 3, 4, 5]), f32([1, 1, 1, 2], [1, 1])],
      attrs: { stride: [1, 2], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
      want: f32([1, 1, 1, 2], [3, 7]),
    },
    {
      // Asymmetric: one zero on the left only; windows [0,1], [2,3] → [1, 2+3].
      name: 'asymmetric padding',
      inputs: [f32([1, 1, 1, 3], [1, 2, 3]), f32([1, 1, 1, 2], [1, 1])],
      attrs: { stride: [1, 2], padding: [0, 0, 1, 0], dilation: [1, 1], groups: 1 },
      want: f32([1, 1, 1, 2], [1, 5]),
    },
    {
      // Two input channels summed: 2·1 + 3·10.
      name: 'channels sum',
      inputs: [f32([1, 2, 1, 1], [2, 3]), f32([1, 2, 1, 1], [1, 10])],
      attrs: { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
      want: f32([1, 1, 1, 1], [32]),
    },
    {
      // Depthwise (groups 2): channel 0 only sees weight 10, channel 1 only weight 100.
      name: 'groups',
      inputs: [f32([1, 2, 1, 1], [2, 3]), f32([2, 1, 1, 1], [10, 100])],
      attrs: { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 2 },
      want: f32([1, 2, 1, 1], [20, 300]),
    },
  ],
} satisfies Record<string, readonly HandCase[]>;

const POOL_3X3 = f32([1, 1, 3, 3], iota(9));
const POOL_PAD = { kernel: [2, 2], stride: [2, 2], padding: [1, 0, 1, 0] };

const NN_CASES = {
  maxpool2d: [
    // 0..15 in 4x4; the 2x2 windows' maxima are their bottom-right corners.
    { name: '2x2 stride 2', inputs: [f32([1, 1, 4, 4], iota(16))], attrs: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }, want: f32([1, 1, 2, 2], [5, 7, 13, 15]) },
    // Padding top/left 1: windows are {0}, {1,2}, {3,6}, {4,5,7,8} of 0..8.
    { name: 'padding', inputs: [POOL_3X3], attrs: POOL_PAD, want: f32([1, 1, 2, 2], [0, 2, 6, 8]) },
    // The same windows of −1..−9: padding never wins, it is −∞ and not 0.
    { name: 'padding with negatives', inputs: [f32([1, 1, 3, 3], iota(9).map((v) => -v - 1))], attrs: POOL_PAD, want: f32([1, 1, 2, 2], [-1, -2, -4, -5]) },
  ],
  avgpool2d: [
    // Window means of 0..15: (0+1+4+5)/4 = 2.5, then +2 across, +8 down.
    { name: '2x2 stride 2', inputs: [f32([1, 1, 4, 4], iota(16))], attrs: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }, want: f32([1, 1, 2, 2], [2.5, 4.5, 10.5, 12.5]) },
    // Windows {0}, {1,2}, {3,6}, {4,5,7,8}, each divided by its own in-bounds count.
    { name: 'padding counts in-bounds only', inputs: [POOL_3X3], attrs: POOL_PAD, want: f32([1, 1, 2, 2], [0, 1.5, 4.5, 6]) },
  ],
  softmax: [
    // exp of [0, ln 2, ln 3] is [1, 2, 3], out of 6.
    { name: 'row', inputs: [f32([3], [0, LN2, LN3])], attrs: { axis: 0 }, want: f32([3], [1 / 6, 1 / 3, 1 / 2]) },
    // Columns: [1, 3]/4 and [1, 1]/2.
    { name: 'axis 0 of a matrix', inputs: [f32([2, 2], [0, 0, LN3, 0])], attrs: { axis: 0 }, want: f32([2, 2], [0.25, 0.5, 0.75, 0.5]) },
    { name: 'large inputs do not overflow', inputs: [f32([2], [1000, 1000])], attrs: { axis: 0 }, want: f32([2], [0.5, 0.5]) },
  ],
  log_softmax: [
    { name: 'row', inputs: [f32([3], [0, LN2, LN3])], attrs: { axis: 0 }, want: f32([3], [-Math.log(6), -LN3, -LN2]) },
    { name: 'large inputs do not overflow', inputs: [f32([1, 2], [1000, 1000])], attrs: { axis: 1 }, want: f32([1, 2], [-LN2, -LN2]) },
  ],
  one_hot: [
    {
      name: 'out of range gives a zero row',
      inputs: [i32([4], [0, 2, -1, 3])],
      attrs: { depth: 3 },
      want: f32([4, 3], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    },
    { name: 'matrix of indices', inputs: [i32([1, 2], [1, 0])], attrs: { depth: 2 }, want: f32([1, 2, 2], [0, 1, 1, 0]) },
  ],
} satisfies Record<string, readonly HandCase[]>;

/**
 * compiler/ir/random.ts's counterUniform written again with BigInt arithmetic mod 2^32 (an
 * independent derivation of the same formula: MurmurHash3's finalizer over key, salt, index).
 */
function bigCounterUniform(key: number, salt: number, index: number): number {
  const M = 2n ** 32n;
  const fmix = (h: bigint): bigint => {
    h ^= h >> 16n;
    h = (h * 0x85ebca6bn) % M;
    h ^= h >> 13n;
    h = (h * 0xc2b2ae35n) % M;
    return h ^ (h >> 16n);
  };
  let h = fmix(((BigInt(key) * 0x9e3779b1n) % M) ^ fmix((BigInt(salt) + 0x85ebca77n) % M));
  h = fmix(h ^ ((BigInt(index) * 0xc2b2ae3dn) % M));
  return Number(h >> 8n) / 2 ** 24;
}

export const HAND_CASES = {
  ...ELEMENTWISE_CASES,
  ...REDUCE_CASES,
  ...MOVEMENT_CASES,
  ...CONTRACTION_CASES,
  ...NN_CASES,
  ...BACKWARD_HAND_CASES,
} satisfies { readonly [K in OpName]: readonly HandCase[] };
