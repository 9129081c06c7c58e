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

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadData, loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { subset } from '../../runtime/data/dataset.js';
import type { AnyBackend } from '../../runtime/session.js';
import { train } from '../../runtime/train/loop.js';
import { gpu, gpuReport, webgpu } from './support.js';

const EXAMPLES = ['mlp', 'fashion_cnn'] as const;
const dir = mkdtempSync(join(tmpdir(), 'sinter-webgpu-train-'));

/** The example with its optimizer replaced by plain SGD (see the header). */
function withSgd(name: string): string {
  const source = readFileSync(`examples/${name}.sinter`, 'utf8');
  const changed = source.replace(/optimizer\s*=\s*\w+\([^)]*\)/, 'optimizer = sgd(lr: 1e-2)');
  if (changed === source) throw new Error(`examples/${name}.sinter: no optimizer to replace`);
  const file = join(dir, `${name}.sinter`);
  writeFileSync(file, changed);
  return file;
}

describe.skipIf(!webgpu)('train steps of the example models, webgpu against cpu', () => {
  for (const name of EXAMPLES) {
    it(`${name}: two steps agree (loss, params, optimizer state)`, async () => {
      const model = await loadTrainingModel(withSgd(name), undefined);
      const graph = model.graphs.train(3);
      const rng = rngFor(11, name);
      const inputs = new Map<string, Tensor>(
        graph.inputs.map((i): [string, Tensor] => {
          const n = numel(i.type.shape);
          if (i.name === model.names.label) return [i.name, tensorFrom('i32', i.type.shape, Array.from({ length: n }, () => rng.nextInt(10)))];
          if (i.name === model.names.lr) return [i.name, tensorFrom('f32', [], [1e-2])];
          if (i.name === model.names.step) return [i.name, tensorFrom('f32', [], [1])];
          return [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: n }, () => rng.nextFloat()))];
        }),
      );
      const params = initParams(graph, 5);
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
      const curve = async (backend: AnyBackend): Promise<number[]> => {
        const losses: number[] = [];
        await train({
          backend,
          graphs: model.graphs,
          names: model.names,
          train: few,
          validation: null,
          test: null,
          batch: 16,
          epochs: 1,
          seed: 3,
          lr: 1e-3,
          schedule: { kind: 'constant', args: { warmup: 0 } },
          params: initParams(model.graphs.train(16), 3),
          startStep: 0,
          onStep: (e) => losses.push(e.loss!),
        });
        return losses;
      };
      const want = await curve(cpuBackend);
      const got = await curve(gpu());
      expect(want.length).toBe(6);
      expect(got.length).toBe(6);
      const worst = Math.max(...got.map((l, i) => Math.abs(l - want[i]!) / Math.max(1, Math.abs(want[i]!))));
      expect(worst).toBeLessThanOrEqual(1e-3);
    });
  }
});
