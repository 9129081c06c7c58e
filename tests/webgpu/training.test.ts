// Training the example models on WebGPU against the CPU backend: train steps (loss, params, optimizer state) and a few steps of the training loop.
//
// Train steps of examples/mlp.sinter and examples/fashion_cnn.sinter at batch 3 run twice on
// `webgpu` and on `cpu` from the same initialization and feeds; the loss and every parameter
// and state tensor afterwards must agree within gpuReport's tolerance (rtol 1e-4, atol 1e-5 ×
// scale). They use SGD instead of the train block's Adam for the reason
// tests/cpu/training.test.ts gives: Adam's first step moves a weight by ±lr whatever the size
// of its gradient, so a gradient within float32 rounding of zero may flip a weight by 2·lr
// when two backends sum in different orders.
//
// Then each model trains for 6 steps with its own Adam through the training loop (batch 16,
// the bundled Fashion-MNIST subset, seed 3), loss read back every step, on both backends:
// each step's loss within 1e-3 relative of the CPU backend's. The looser bound is the sign
// flips above, which move a handful of weights by 2·lr per step and the loss by far less.

import { exampleStep, lossCurve } from '../helpers/example-steps.js';
import { describe, expect, it } from 'vitest';
import { loadData, loadTrainingModel } from '../../cli/training.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { subset } from '../../runtime/data/dataset.js';
import { gpu, gpuReport, webgpu } from './support.js';

const EXAMPLES = ['mlp', 'fashion_cnn'] as const;
describe.skipIf(!webgpu)('train steps of the example models, webgpu against cpu', () => {
  for (const name of EXAMPLES) {
    it(`${name}: two steps agree (loss, params, optimizer state)`, async () => {
      const { graph, inputs, params } = await exampleStep(name);
      const cpu = cpuBackend.load(graph);
      const dev = gpu().load(graph);
      try {
        cpu.setParams(params);
        dev.setParams(params);
        const names = graph.outputs.filter((o) => o.aliases === undefined).map((o) => o.name);
        for (let step = 0; step < 2; step++) {
          const report = gpuReport(await dev.run(inputs, names), cpu.run(inputs, names));
          if (report) expect.fail(`step ${step}: ${report}`);
        }
        const report = gpuReport(await dev.getParams(), cpu.getParams());
        if (report) expect.fail(`params after two steps: ${report}`);
      } finally {
        dev.destroy();
      }
    });
  }
});

describe.skipIf(!webgpu)('the example models train on webgpu as on cpu', () => {
  for (const name of EXAMPLES) {
    it(`${name}: 6 Adam steps of the training loop follow the cpu backend's losses within 1e-3 relative`, async () => {
      const model = await loadTrainingModel(`examples/${name}.sinter`, undefined);
      const data = await loadData(undefined);
      const few = subset(data.train, Int32Array.from({ length: 96 }, (_, i) => i));
      const want = await lossCurve(cpuBackend, model, few);
      const got = await lossCurve(gpu(), model, few);
      expect(want.length).toBe(6);
      expect(got.length).toBe(6);
      const worst = Math.max(...got.map((l, i) => Math.abs(l - want[i]!) / Math.max(1, Math.abs(want[i]!))));
      expect(worst).toBeLessThanOrEqual(1e-3);
    });
  }
});
