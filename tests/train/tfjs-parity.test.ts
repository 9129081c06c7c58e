// Whole training steps against an independent library: the Fashion CNN trained by Sinter and by TensorFlow.js from the same start.
//
// Both start from Sinter's initial weights for one seed (converted to TF.js's NHWC/HWIO
// layout by the benchmark's model builder), take the same batches of the bundled
// Fashion-MNIST subset in the training loop's order (epoch 0's shuffle), and step with Adam
// at the example's settings. The per-op tests compare gradients one op at a time
// (tests/autodiff/tfjs.test.ts); this compares what a user runs — the fused, scheduled,
// compiled train step on the CPU backend — against TF.js's own gradients and optimizer.
//
// Losses are compared step by step, not weights: Adam's first update is ±lr for every weight
// whatever its gradient's size, so a gradient that rounds to the other sign moves a weight
// by 2·lr without being wrong. The loss of step k depends on every earlier update; a wrong
// gradient, bias correction or moment update moves it far beyond float32 rounding.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FASHION_CNN } from '../../bench/cases.js';
import { layerWeights } from '../../bench/data.js';
import { buildModel, tfBatch } from '../../bench/impls/tfjs.js';
import { BUNDLED_DATA, loadData, loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { batchAt, datasetSize, epochOrder } from '../../runtime/data/dataset.js';
import { createCpuBackend } from '../../runtime/cpu/session.js';

// TF.js's cpu backend is plain JavaScript, about a second per image for a CNN step: kept small.
const BATCH = 4;
const STEPS = 3;
const SEED = 0;

beforeAll(async () => {
  tf.env().set('IS_NODE', false);
  await tf.setBackend('cpu');
});

describe('the Fashion CNN against TensorFlow.js, step by step', () => {
  it(`${STEPS} Adam steps of batch ${BATCH} from the same weights and batches: the same losses`, { timeout: 120_000 }, async () => {
    const model = await loadTrainingModel('examples/fashion_cnn.sinter', undefined);
    const graph = model.graphs.train(BATCH);
    const init = initParams(graph, SEED);
    const weights = layerWeights(graph, FASHION_CNN, init);
    expect(weights.map((w) => w.wShape)).toEqual([[32, 1, 3, 3], [64, 32, 3, 3], [64, 64, 3, 3], [576, 64], [64, 10]]);

    const data = await loadData(BUNDLED_DATA);
    const order = epochOrder(datasetSize(data.train), SEED, 0);
    const batches = Array.from({ length: STEPS }, (_, k) => batchAt(data.train, order, BATCH, k));

    const session = createCpuBackend({ threads: 1 }).load(graph);
    session.setParams(init);
    const sinter: number[] = [];
    for (const [k, b] of batches.entries()) {
      const feeds = new Map([
        [model.names.input, b.inputs],
        [model.names.label, b.labels],
        [model.names.lr, tensorFrom('f32', [], [model.config.optimizer.args['lr']!])],
        [model.names.step, tensorFrom('f32', [], [k + 1])],
      ]);
      sinter.push(session.run(feeds, [model.names.loss]).get(model.names.loss)!.data[0]!);
    }

    const net = buildModel(tf, { model: FASHION_CNN, weights });
    const a = model.config.optimizer.args;
    const adam = tf.train.adam(a['lr'], a['beta1'], a['beta2'], a['eps']);
    const tensors = (b: (typeof batches)[number]) => tfBatch(tf, FASHION_CNN, b.inputs.data as Float32Array, b.labels.data as Int32Array);
    const last = tensors(batches[STEPS - 1]!);
    const untrained = tf.tidy(() => tf.losses.softmaxCrossEntropy(last.y, net.forward(last.x)).dataSync()[0]!);
    const reference: number[] = [];
    for (const b of batches) {
      const { x, y } = tensors(b);
      const cost = adam.minimize(() => tf.losses.softmaxCrossEntropy(y, net.forward(x)) as tf.Scalar, true, net.variables)!;
      reference.push(cost.dataSync()[0]!);
      tf.dispose([x, y, cost]);
    }

    // The first loss is the forward pass alone; the rest follow Adam steps.
    const tolerance = (k: number) => 1e-3 * Math.abs(reference[k]!);
    for (let k = 0; k < STEPS; k++) expect(Math.abs(sinter[k]! - reference[k]!), `step ${k + 1}: sinter ${sinter[k]}, tf.js ${reference[k]}`).toBeLessThan(tolerance(k));
    // The updates moved the last batch's loss by far more than the tolerance: the comparison sees them.
    expect(Math.abs(reference[STEPS - 1]! - untrained)).toBeGreaterThan(20 * tolerance(STEPS - 1));
  });
});
