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
import { cpuBackend } from '../../runtime/cpu/session.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { arbTrainStep, CONV_HEAVY, DIFFERENTIABLE } from '../helpers/random-train-step.js';
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
