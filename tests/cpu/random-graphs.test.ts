// The CPU backend against the reference interpreter on random graphs, through the whole pipeline, over two steps (aliasing included).
//
// Each random graph is loaded on `cpu` (pipeline with CPU limits, JavaScript kernels) and on
// `ref` (the reference interpreter on the unoptimized graph), fed the same seeded values,
// and run twice: the second step sees the params that the first step's aliased outputs
// replaced, so in-place updates and post-step copies are both checked. Outputs and the final
// params are compared NaN-aware (NaN only with NaN, infinities exactly, finite values within
// rtol 1e-4 and atol 1e-5 × the output's largest finite magnitude), as the middle-end tests do.
// Train-step graphs (random forward graphs with an MSE loss, backward pass and optimizer)
// cover the backward ops and the optimizers' in-place updates; conv-heavy ones cover the
// GEMM path's masked panels (padding) and its epilogues.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { OptimizerKind } from '../../compiler/passes/optimizers.js';
import { buildTrainStep } from '../../compiler/passes/train-step.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { outputsReport, randomFeeds } from '../passes/support.js';

function checkTwoSteps(g: Graph): void {
  const feeds = randomFeeds(g);
  const names = g.outputs.map((o) => o.name);
  const ref = referenceBackend.load(g);
  const cpu = cpuBackend.load(g);
  ref.setParams(feeds.params);
  cpu.setParams(feeds.params);
  for (let step = 0; step < 2; step++) {
    const report = outputsReport(cpu.run(feeds.inputs, names), ref.run(feeds.inputs, names));
    if (report) expect.fail(`step ${step}: ${report}`);
  }
  const params = outputsReport(cpu.getParams(), ref.getParams());
  if (params) expect.fail(`params after two steps: ${params}`);
}

const DIFFERENTIABLE: readonly OpName[] = [
  'add', 'sub', 'mul', 'div', 'exp', 'tanh', 'sigmoid', 'relu', 'neg', 'gelu', 'maximum', 'select', 'sqrt', 'abs',
  'matmul', 'conv2d', 'sum', 'mean', 'max', 'reshape', 'transpose', 'broadcast', 'slice', 'pad', 'concat', 'gather',
  'softmax', 'log_softmax', 'maxpool2d', 'avgpool2d',
];
const CONV_HEAVY: readonly OpName[] = ['conv2d', 'matmul', 'maxpool2d', 'avgpool2d', 'relu', 'add', 'reshape', 'pad'];

const OPTIMIZERS: Readonly<Record<OptimizerKind, Record<string, number>>> = {
  sgd: {},
  momentum: { momentum: 0.9, nesterov: 0 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-7 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01 },
};

/** A train step for a random forward graph of `ops` (MSE on its first f32 output), or null when it has nothing to train. */
const arbTrainStep = (ops: readonly OpName[]) =>
  fc
    .tuple(arbGraph({ ops, maxNodes: 12 }), fc.constantFrom<OptimizerKind>('sgd', 'momentum', 'adam', 'adamw'), fc.boolean(), fc.boolean())
    .map(([g, optimizer, l2, clip]): Graph | null => {
      const out = g.outputs.find((o) => g.nodes.find((n) => n.id === o.value)?.type.dtype === 'f32');
      if (!out || !g.params.some((p) => p.trainable)) return null;
      const forward = { ...g, outputs: [{ name: out.name, value: out.value }] };
      return buildTrainStep(forward, { loss: { kind: 'mse', output: out.name, label: 'label' }, optimizer: { kind: optimizer, args: OPTIMIZERS[optimizer] }, l2: l2 ? 0.01 : 0, clip_norm: clip ? 1 : 0 });
    });

describe('cpu backend on random graphs', () => {
  it('equals the reference on 250 random graphs, two steps each', () => {
    fc.assert(fc.property(arbGraph(), checkTwoSteps), { seed: 42, numRuns: 250 });
  });

  it.each([
    ['differentiable ops', DIFFERENTIABLE],
    ['conv-heavy', CONV_HEAVY],
  ])('equals the reference on train steps of random graphs (%s)', (_name, ops) => {
    let checked = 0;
    fc.assert(
      fc.property(arbTrainStep(ops), (step) => {
        if (step === null) return;
        checked++;
        checkTwoSteps(step);
      }),
      { seed: 42, numRuns: 100 },
    );
    expect(checked).toBeGreaterThan(40);
  });
});
