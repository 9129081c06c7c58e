// Training on the CPU backend: train steps of the example models, and the MLP's loss curve over 100 steps, against the reference backend.
//
// Train steps (forward, loss, backward, optimizer update with in-place state) of every
// example model at a small batch run two steps on `cpu` and on `ref` from the same
// initialization and feeds; the losses and every parameter and state tensor afterwards must
// agree NaN-aware within rtol 1e-4, atol 1e-5 × scale. These steps use SGD in place of the
// train block's optimizer: Adam's first step moves every weight by ±lr whatever its
// gradient's size, so a gradient within float32 rounding of zero (the CPU GEMMs sum in
// float32, the reference in float64) may flip a weight by 2·lr, which no useful tolerance
// on the weights admits. (Adam's arithmetic is checked op by op in the backend suite, and
// over 100 steps by the loss curve below.)
//
// The MLP of examples/mlp.sinter then trains with Adam for 100 steps (batch 16, the bundled
// Fashion-MNIST subset, seed 3) through the training loop on both backends. The stated
// tolerance: every step's loss within 1e-4 relative of the reference's (and the loss must
// fall).

import { exampleStep, lossCurve } from '../helpers/example-steps.js';
import { describe, expect, it } from 'vitest';
import { loadData, loadTrainingModel } from '../../cli/training.js';
import { subset } from '../../runtime/data/dataset.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { outputsReport } from '../passes/support.js';

const EXAMPLES = ['mlp', 'fashion_cnn', 'residual_mlp', 'rnn', 'transformer'] as const;
describe('train steps of the example models, cpu against ref', () => {
  for (const name of EXAMPLES) {
    it(`${name}: two steps agree (loss, params, optimizer state)`, async () => {
      const { graph, inputs, params } = await exampleStep(name);
      const sessions = [cpuBackend, referenceBackend].map((b) => {
        const s = b.load(graph);
        s.setParams(params);
        return s;
      });
      const names = graph.outputs.filter((o) => o.aliases === undefined).map((o) => o.name);
      for (let step = 0; step < 2; step++) {
        const [got, want] = sessions.map((s) => s.run(inputs, names));
        const report = outputsReport(got!, want!);
        if (report) expect.fail(`step ${step}: ${report}`);
      }
      const report = outputsReport(sessions[0]!.getParams(), sessions[1]!.getParams());
      if (report) expect.fail(`params after two steps: ${report}`);
    });
  }
});

describe('the MLP trains on cpu as on ref', () => {
  it('follows the reference loss curve for 100 steps within 1e-4 relative', async () => {
    const model = await loadTrainingModel('examples/mlp.sinter', undefined);
    const data = await loadData(undefined);
    const few = subset(data.train, Int32Array.from({ length: 1600 }, (_, i) => i));
    const cpu = await lossCurve(cpuBackend, model, few);
    const ref = await lossCurve(referenceBackend, model, few);
    expect(cpu.length).toBe(100);
    expect(ref.length).toBe(100);
    const worst = Math.max(...cpu.map((l, i) => Math.abs(l - ref[i]!) / Math.max(1, Math.abs(ref[i]!))));
    expect(worst).toBeLessThanOrEqual(1e-4);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(cpu.slice(-10))).toBeLessThan(mean(cpu.slice(0, 10)));
  });
});
