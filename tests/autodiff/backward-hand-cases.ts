// Hand-computed cases for the backward ops, in the shape of tests/ops/hand-cases.ts so that table can spread them in.
//
// Every expected value is a small sum readable off the inputs; comments give the arithmetic
// where it is not a copy. Values come from tensorFrom rather than hand-cases.ts's helpers,
// so hand-cases.ts can import this file without an import cycle.

import type { OpName } from '../../compiler/ir/ops/registry.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import type { HandCase } from '../ops/hand-cases.js';

const f32 = (shape: Shape, values: readonly number[]) => tensorFrom('f32', shape, values);
const i32 = (shape: Shape, values: readonly number[]) => tensorFrom('i32', shape, values);

const CONV = { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 };
/** A 2x2 filter 1 2 / 3 4 and a 3x3 input 1..9, the running example of the conv cases. */
const W22 = f32([1, 1, 2, 2], [1, 2, 3, 4]);
const X33 = f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);

export const BACKWARD_HAND_CASES = {
  scatter_add: [
    {
      // Indices clamp to 0, 2, 0, 2: element 0 gets 10 + 30, element 2 gets 20 + 40.
      name: 'repeated and clamped indices add up',
      inputs: [f32([3], [1, 2, 3]), i32([4], [0, 2, -1, 5]), f32([4], [10, 20, 30, 40])],
      attrs: { axis: 0 },
      want: f32([3], [41, 2, 63]),
    },
    {
      name: 'along axis 1',
      inputs: [f32([2, 2], [0, 0, 0, 0]), i32([1], [1]), f32([2, 1], [5, 6])],
      attrs: { axis: 1 },
      want: f32([2, 2], [0, 5, 0, 6]),
    },
  ],
  conv2d_backward_input: [
    {
      name: 'one output element spreads the filter over its window',
      inputs: [f32([1, 1, 2, 2], [1, 0, 0, 0]), W22],
      attrs: { ...CONV, input_shape: [1, 1, 3, 3] },
      want: f32([1, 1, 3, 3], [1, 2, 0, 3, 4, 0, 0, 0, 0]),
    },
    {
      // Each input element sums the filter taps that read it: the centre is read by all four.
      name: 'all-ones cotangent sums the taps over each input element',
      inputs: [f32([1, 1, 2, 2], [1, 1, 1, 1]), W22],
      attrs: { ...CONV, input_shape: [1, 1, 3, 3] },
      want: f32([1, 1, 3, 3], [1, 3, 2, 4, 10, 6, 3, 7, 4]),
    },
    {
      name: 'stride 2 leaves unread elements at zero',
      inputs: [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 1, 1], [2])],
      attrs: { ...CONV, stride: [2, 2], input_shape: [1, 1, 3, 3] },
      want: f32([1, 1, 3, 3], [2, 0, 4, 0, 0, 0, 6, 0, 8]),
    },
  ],
  conv2d_backward_filter: [
    {
      name: 'one output element picks its input window',
      inputs: [X33, f32([1, 1, 2, 2], [1, 0, 0, 0])],
      attrs: { ...CONV, filter_shape: [1, 1, 2, 2] },
      want: f32([1, 1, 2, 2], [1, 2, 4, 5]),
    },
    {
      // Tap (0,0) sums 1+2+4+5, (0,1) 2+3+5+6, (1,0) 4+5+7+8, (1,1) 5+6+8+9.
      name: 'all-ones cotangent sums each tap over the windows',
      inputs: [X33, f32([1, 1, 2, 2], [1, 1, 1, 1])],
      attrs: { ...CONV, filter_shape: [1, 1, 2, 2] },
      want: f32([1, 1, 2, 2], [12, 16, 24, 28]),
    },
  ],
  maxpool2d_backward: [
    {
      // Window 1 is 5 1 / 3 5 and window 2 is 2 7 / 7 0: each tie goes to the first in row-major order.
      name: 'ties go to the first maximum',
      inputs: [f32([1, 1, 2, 4], [5, 1, 2, 7, 3, 5, 7, 0]), f32([1, 1, 1, 2], [10, 20])],
      attrs: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] },
      want: f32([1, 1, 2, 4], [10, 0, 0, 20, 0, 0, 0, 0]),
    },
    {
      name: 'overlapping windows with one maximum add up',
      inputs: [f32([1, 1, 1, 3], [1, 3, 2]), f32([1, 1, 1, 2], [4, 5])],
      attrs: { kernel: [1, 2], stride: [1, 1], padding: [0, 0, 0, 0] },
      want: f32([1, 1, 1, 3], [0, 9, 0]),
    },
  ],
  avgpool2d_backward: [
    {
      name: 'one window shares its cotangent equally',
      inputs: [f32([1, 1, 1, 1], [8])],
      attrs: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], input_shape: [1, 1, 2, 2] },
      want: f32([1, 1, 2, 2], [2, 2, 2, 2]),
    },
    {
      // The first window covers the left pad and element 0 (count 1); the second, elements 0 and 1: 6 + 4/2 and 4/2.
      name: 'a padded window divides by its in-bounds count',
      inputs: [f32([1, 1, 1, 2], [6, 4])],
      attrs: { kernel: [1, 2], stride: [1, 1], padding: [0, 0, 1, 0], input_shape: [1, 1, 1, 2] },
      want: f32([1, 1, 1, 2], [8, 2]),
    },
  ],
} satisfies Partial<Record<OpName, readonly HandCase[]>>;
