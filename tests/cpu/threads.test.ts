// Kernels split between worker threads give the same bits as one thread: tiled contractions, conv-heavy train steps, a model's train step.
//
// The backend here runs on three threads (more than this machine's two cores, so shares are
// uneven and threads interleave) and splits every kernel whose range has more than one
// element, however small (parallelWork 0). Each session waits for its workers before the
// first step, so the parallel path is the one measured. Results must be bit-identical to
// the single-threaded backend's (NaN equal to NaN, −0 equal to +0): each output element is
// computed by exactly one thread with the same code.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { buildTrainStep } from '../../compiler/passes/train-step.js';
import { createNodeCpuBackend } from '../../runtime/cpu/node.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { identicalOutputs, randomFeeds } from '../passes/support.js';

const threaded = createNodeCpuBackend({ threads: 3, parallelWork: 0 });

/** Two steps on one thread and on three; outputs and params must match bit for bit. */
async function sameOnThreads(g: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor>): Promise<void> {
  const many = threaded.load(g);
  await many.whenReady();
  expect(many.threads).toBe(3);
  const one = cpuBackend.load(g);
  one.setParams(params);
  many.setParams(params);
  const names = g.outputs.map((o) => o.name);
  for (let step = 0; step < 2; step++) expect(identicalOutputs(many.run(inputs, names), one.run(inputs, names)), `step ${step}`).toBe(true);
  expect(identicalOutputs(many.getParams(), one.getParams())).toBe(true);
}

/** The Fashion CNN's train step at batch 4 with seeded feeds, step 1 and fixed labels. */
async function cnnTrainStep(): Promise<{ g: Graph; inputs: Map<string, Tensor> }> {
  const model = await loadTrainingModel('examples/fashion_cnn.sinter', undefined);
  const g = model.graphs.train(4);
  const inputs = new Map(randomFeeds(g).inputs);
  inputs.set(model.names.step, { type: { dtype: 'f32', shape: [] }, data: Float32Array.of(1) });
  inputs.set(model.names.label, { type: { dtype: 'i32', shape: [4] }, data: Int32Array.of(1, 7, 3, 0) });
  return { g, inputs };
}

describe('cpu backend on three threads', () => {
  it('multiplies and convolves as on one thread (GEMM split by rows, columns and batch; epilogues)', async () => {
    const b = new GraphBuilder('Tiled');
    const x = b.input('x', { dtype: 'f32', shape: [3, 5, 9, 11] });
    const w = b.param('w', { dtype: 'f32', shape: [6, 5, 3, 3] }, { kind: 'zeros', args: {} });
    const a = b.input('a', { dtype: 'f32', shape: [37, 29] });
    const c = b.param('c', { dtype: 'f32', shape: [29, 53] }, { kind: 'zeros', args: {} });
    const y = b.op('conv2d', [x, w], { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
    b.output('conv', b.op('relu', [y]));
    b.output('wide', b.op('matmul', [a, c], { transpose_a: false, transpose_b: false }));
    b.output('tall', b.op('tanh', [b.op('matmul', [c, a], { transpose_a: true, transpose_b: true })]));
    const g = b.build();
    const feeds = randomFeeds(g);
    await sameOnThreads(g, feeds.inputs, feeds.params);
  });

  it('trains the Fashion CNN as on one thread (batch 4)', async () => {
    const { g, inputs } = await cnnTrainStep();
    await sameOnThreads(g, inputs, initParams(g, 3));
  });

  it('serves each phase once: a wake-up without a new generation (a late notify) reruns nothing', async () => {
    // The main thread can be descheduled between bumping the generation and notifying; a
    // worker that already served that generation must not serve it again when the notify
    // lands. The step's last phase updates params in place (Adam), so a rerun would show.
    const { g, inputs } = await cnnTrainStep();
    const params = initParams(g, 4);
    const many = threaded.load(g);
    await many.whenReady();
    const one = cpuBackend.load(g);
    one.setParams(params);
    many.setParams(params);
    many.run(inputs, []);
    one.run(inputs, []);
    const control = (many as unknown as { storage: { control: Int32Array } }).storage.control;
    for (let i = 0; i < 3; i++) {
      Atomics.notify(control, 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(identicalOutputs(many.getParams(), one.getParams())).toBe(true);
  });

  it('runs random conv-heavy train steps as on one thread (12 graphs)', async () => {
    const ops: OpName[] = ['conv2d', 'matmul', 'maxpool2d', 'relu', 'add', 'pad'];
    const graphs = fc.sample(arbGraph({ ops, maxNodes: 10 }), { seed: 9, numRuns: 40 }).flatMap((g) => {
      const out = g.outputs.find((o) => g.nodes.find((n) => n.id === o.value)?.type.dtype === 'f32');
      if (!out || !g.params.some((p) => p.trainable)) return [];
      const forward = { ...g, outputs: [{ name: out.name, value: out.value }] };
      return [buildTrainStep(forward, { loss: { kind: 'mse', output: out.name, label: 'label' }, optimizer: { kind: 'adam', args: { beta1: 0.9, beta2: 0.999, eps: 1e-7 } }, l2: 0, clip_norm: 0 })];
    });
    expect(graphs.length).toBeGreaterThanOrEqual(12);
    for (const g of graphs.slice(0, 12)) {
      const feeds = randomFeeds(g);
      await sameOnThreads(g, feeds.inputs, feeds.params);
    }
  });
});
