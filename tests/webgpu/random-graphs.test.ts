// The WebGPU backend against the reference interpreter on random graphs, through the whole pipeline and the WGSL lowering, over two steps (aliasing included).
//
// As tests/cpu/random-graphs.test.ts: each random graph runs twice on `webgpu` and on `ref`
// from the same seeded feeds, the second step seeing the params that the first step's
// aliased outputs replaced (in-place updates and the runtime's aliasing copies both
// checked); outputs and final params compared with gpuReport (finite reference elements
// within rtol 1e-4, atol 1e-5 × scale; WGSL assumes no NaN/Inf). Train steps of random
// graphs cover the backward ops, the optimizers' in-place updates and the tiled GEMMs'
// masked (padded) operand tiles and fused epilogues; conv-heavy ones run on finite feeds
// (see finiteFeeds), the convolutions' filter and input gradients among them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { arbFiniteTrainStep, arbTrainStep, CONV_HEAVY, DIFFERENTIABLE } from '../helpers/random-train-step.js';
import { randomFeeds } from '../passes/support.js';
import type { WebgpuOptions } from '../../runtime/webgpu/backend.js';
import { KERNEL_FORMS, gpu, gpuReport, webgpu } from './support.js';

type Feeds = ReturnType<typeof randomFeeds>;

async function checkTwoSteps(g: Graph, feeds: Feeds = randomFeeds(g), options: WebgpuOptions = {}): Promise<void> {
  const names = g.outputs.map((o) => o.name);
  const ref = referenceBackend.load(g);
  const dev = gpu({ watch: [], ...options }).load(g);
  try {
    ref.setParams(feeds.params);
    dev.setParams(feeds.params);
    for (let step = 0; step < 2; step++) {
      const report = gpuReport(await dev.run(feeds.inputs, names), ref.run(feeds.inputs, names));
      if (report) expect.fail(`step ${step}: ${report}`);
    }
    const params = gpuReport(await dev.getParams(), ref.getParams());
    if (params) expect.fail(`params after two steps: ${params}`);
  } finally {
    dev.destroy();
  }
}

describe.skipIf(!webgpu)('webgpu backend on random graphs', () => {
  it('equals the reference on 100 random graphs, two steps each', async () => {
    await fc.assert(fc.asyncProperty(arbGraph(), (g) => checkTwoSteps(g)), { seed: 42, numRuns: 100 });
  });

  // Few train steps: random values overflow into NaN and infinities often here, and lavapipe runs kernels on non-finite data very slowly.
  it.each([['differentiable ops', DIFFERENTIABLE, 12]] as const)('equals the reference on train steps of random graphs (%s)', async (_name, ops, runs) => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbTrainStep(ops), async (step) => {
        if (step === null) return;
        checked++;
        await checkTwoSteps(step);
      }),
      { seed: 42, numRuns: runs },
    );
    expect(checked).toBeGreaterThan(2);
  });

  // Conv-heavy steps on finite feeds only (finiteFeeds), graphs the reference keeps finite: their contractions' backward forms through the tiled GEMMs.
  it.each(KERNEL_FORMS)('equals the reference on conv-heavy train steps of random graphs (finite feeds, %s contractions)', async (_form, options) => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbFiniteTrainStep(CONV_HEAVY), async (drawn) => {
        if (drawn === null) return;
        checked++;
        await checkTwoSteps(drawn.step, drawn.feeds, options);
      }),
      { seed: 42, numRuns: 60 },
    );
    expect(checked).toBeGreaterThan(20);
  });
});
