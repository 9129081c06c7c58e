// Gradient parity with an independent library: conv2d, maxpool2d and avgpool2d gradients against TensorFlow.js (CPU backend).
//
// TensorFlow.js works in NHWC with HWIO filters, so inputs are transposed on the way in and
// gradients on the way out. Its conv2d gradient supports neither dilation nor groups, so
// those stay 1 here (the finite-difference tests cover them). Both sides compute in float32
// with different summation orders, so the comparison uses the float32-gradient tolerance.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import { expectAllClose } from '../helpers/allclose.js';
import { F32_GRAD_TOLERANCE, addWeightedLoss } from './gradcheck.js';

beforeAll(async () => {
  // The CPU backend greets Node users with advice to install tfjs-node; it is noise in a test run.
  tf.env().set('IS_NODE', false);
  await tf.setBackend('cpu');
});

function random(shape: Shape, seed: number, name: string, distinct = false): Tensor {
  const rng = rngFor(seed, name);
  const n = numel(shape);
  // Distinct values (a shuffled ramp) keep max pooling away from ties, where libraries may differ.
  const values = distinct ? shuffled(Array.from({ length: n }, (_, i) => (i - n / 2) / n), seed) : Array.from({ length: n }, () => 2 * rng.nextFloat() - 1);
  return tensorFrom('f32', shape, values);
}

function shuffled(xs: number[], seed: number): number[] {
  const rng = rngFor(seed, 'shuffle');
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Sinter's float32 gradients of Σ op(inputs) · weights with respect to every input. */
function sinterGrads(op: OpName, inputs: readonly Tensor[], attrs: Attrs, weights: (shape: Shape) => Tensor): Float32Array[] {
  const b = new GraphBuilder('parity');
  const ids = inputs.map((t, i) => b.param(`p${i}`, t.type, { kind: 'zeros', args: {} }));
  const y = b.op(op, ids, attrs);
  const w = weights(b.typeOf(y).shape);
  addWeightedLoss(b, y);
  const { graph, grads } = differentiate(b.build(), 'loss', inputs.map((_, i) => `p${i}`));
  const params = new Map(inputs.map((t, i) => [`p${i}`, t]));
  const out = interpret(graph, { inputs: new Map([['loss_weights', w]]), params }).outputs;
  return inputs.map((_, i) => out.get(grads.get(`p${i}`)!)!.data as Float32Array);
}

const toNhwc = (t: Tensor): tf.Tensor4D => tf.transpose(tf.tensor4d(t.data as Float32Array, t.type.shape as [number, number, number, number]), [0, 2, 3, 1]);
const fromNhwc = (t: tf.Tensor): Float32Array => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array;
const explicit = (p: readonly number[]): [[number, number], [number, number], [number, number], [number, number]] => [[0, 0], [p[0]!, p[1]!], [p[2]!, p[3]!], [0, 0]];

/** TensorFlow.js's gradients of Σ f(x, …) · weights, with weights laid out NCHW like Sinter's. */
function tfGrads(f: (...xs: tf.Tensor[]) => tf.Tensor4D, inputs: readonly tf.Tensor[], weights: Tensor): tf.Tensor[] {
  const w = tf.tensor(weights.data as Float32Array, [...weights.type.shape]);
  return tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tf.transpose(f(...xs), [0, 3, 1, 2]), w)))([...inputs]);
}

const geometry = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  o: fc.integer({ min: 1, max: 3 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  extra: fc.tuple(fc.nat(3), fc.nat(3)),
  seed: fc.nat(),
});

describe('gradients against TensorFlow.js', () => {
  it('conv2d: input and filter gradients with stride and explicit padding', () => {
    fc.assert(
      fc.property(geometry, ({ n, c, o, k, stride, pad, extra, seed }) => {
        const padding = [pad[0] % k[0], pad[1] % k[0], pad[2] % k[1], pad[3] % k[1]];
        const x = random([n, c, k[0] + extra[0], k[1] + extra[1]], seed, 'x');
        const w = random([o, c, k[0], k[1]], seed, 'w');
        const attrs = { stride: [...stride], padding, dilation: [1, 1], groups: 1 };
        let weights: Tensor | null = null;
        const [dx, dw] = sinterGrads('conv2d', [x, w], attrs, (shape) => (weights = random(shape, seed, 'weights')));
        const filter = tf.transpose(tf.tensor4d(w.data as Float32Array, [o, c, k[0], k[1]]), [2, 3, 1, 0]);
        const [tdx, tdw] = tfGrads((a, f) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, stride, explicit(padding)), [toNhwc(x), filter], weights!);
        expectAllClose(dx!, fromNhwc(tdx!), F32_GRAD_TOLERANCE);
        expectAllClose(dw!, tf.transpose(tdw!, [3, 2, 0, 1]).dataSync() as Float32Array, F32_GRAD_TOLERANCE);
      }),
      { seed: 42, numRuns: 30 },
    );
  });

  it('maxpool2d: the cotangent goes to each window maximum, with padding', () => {
    fc.assert(
      fc.property(geometry, ({ n, c, k, stride, pad, extra, seed }) => {
        const padding = [pad[0] % k[0], pad[1] % k[0], pad[2] % k[1], pad[3] % k[1]];
        const x = random([n, c, k[0] + extra[0], k[1] + extra[1]], seed, 'x', true);
        let weights: Tensor | null = null;
        const [dx] = sinterGrads('maxpool2d', [x], { kernel: [...k], stride: [...stride], padding }, (shape) => (weights = random(shape, seed, 'weights')));
        const [tdx] = tfGrads((a) => tf.maxPool(a as tf.Tensor4D, k, stride, explicit(padding)), [toNhwc(x)], weights!);
        expectAllClose(dx!, fromNhwc(tdx!), F32_GRAD_TOLERANCE);
      }),
      { seed: 42, numRuns: 30 },
    );
  });

  it('avgpool2d: windows inside the input (TensorFlow.js divides padded windows by the full kernel size in its gradient)', () => {
    fc.assert(
      fc.property(geometry, ({ n, c, k, stride, extra, seed }) => {
        const x = random([n, c, k[0] + extra[0], k[1] + extra[1]], seed, 'x');
        let weights: Tensor | null = null;
        const [dx] = sinterGrads('avgpool2d', [x], { kernel: [...k], stride: [...stride], padding: [0, 0, 0, 0] }, (shape) => (weights = random(shape, seed, 'weights')));
        const [tdx] = tfGrads((a) => tf.avgPool(a as tf.Tensor4D, k, stride, 'valid'), [toNhwc(x)], weights!);
        expectAllClose(dx!, fromNhwc(tdx!), F32_GRAD_TOLERANCE);
      }),
      { seed: 42, numRuns: 30 },
    );
  });
});
