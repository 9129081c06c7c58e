// Contraction cases shared by the backend suites: shapes with partial tiles in both directions, long K, batches, and the three conv forms; seeded inputs for them.

import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';

export interface ContractionCase {
  readonly name: string;
  readonly op: OpName;
  readonly shapes: Shape[];
  readonly attrs: Attrs;
}

/** A standard-normal f32 tensor from stream `stream` of `seed`. */
export function seededNormal(shape: Shape, seed: number, stream: string): Tensor {
  const rng = rngFor(seed, stream);
  return tensorFrom('f32', shape, Array.from({ length: numel(shape) }, () => rng.nextNormal()));
}

const conv = (stride: number[], padding: number[], dilation: number[], groups: number): Attrs => ({ stride, padding, dilation, groups });

/** Matmuls with tails and a K of 2000, a batched transposed matmul, and conv2d with its two gradients under stride, padding, dilation and groups. */
export const TILED_CONTRACTIONS: readonly ContractionCase[] = [
  { name: 'matmul 37x29 · 29x53', op: 'matmul', shapes: [[37, 29], [29, 53]], attrs: { transpose_a: false, transpose_b: false } },
  { name: 'matmul, K = 2000, 9x40', op: 'matmul', shapes: [[9, 2000], [2000, 40]], attrs: { transpose_a: false, transpose_b: false } },
  { name: 'batched matmul, both transposed', op: 'matmul', shapes: [[3, 33, 17], [3, 9, 33]], attrs: { transpose_a: true, transpose_b: true } },
  { name: 'conv2d, padding 1, stride 2x1', op: 'conv2d', shapes: [[2, 3, 15, 13], [8, 3, 3, 3]], attrs: conv([2, 1], [1, 1, 1, 1], [1, 1], 1) },
  { name: 'conv2d, dilation 2, groups 2', op: 'conv2d', shapes: [[2, 4, 11, 9], [6, 2, 3, 2]], attrs: conv([1, 1], [2, 1, 0, 1], [2, 2], 2) },
  {
    name: 'conv2d_backward_input, padding 1, stride 2',
    op: 'conv2d_backward_input',
    shapes: [[2, 8, 8, 7], [8, 3, 3, 3]],
    attrs: { ...conv([2, 2], [1, 1, 1, 1], [1, 1], 1), input_shape: [2, 3, 15, 13] },
  },
  {
    name: 'conv2d_backward_filter, padding 1, stride 2',
    op: 'conv2d_backward_filter',
    shapes: [[2, 3, 15, 13], [2, 8, 8, 7]],
    attrs: { ...conv([2, 2], [1, 1, 1, 1], [1, 1], 1), filter_shape: [8, 3, 3, 3] },
  },
];
