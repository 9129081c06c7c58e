// Every example trains: a few dozen steps on the bundled subset, on the cpu backend, and the loss falls.
//
// The full Fashion-MNIST runs of examples/README.md take minutes to an hour; this is what CI
// can afford. Each example's train step runs through the training loop for 30 steps of 16
// images (seed 1); the mean loss of the last 10 steps must be below that of the first 10,
// by 10%: a model that does not learn stays within noise of its first losses.

import { describe, expect, it } from 'vitest';
import { loadData, loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import { subset } from '../../runtime/data/dataset.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { train } from '../../runtime/train/loop.js';

const EXAMPLES = ['fashion_cnn', 'mlp', 'rnn', 'transformer', 'residual_mlp'] as const;
const [STEPS, BATCH] = [30, 16];

describe('every example learns on the bundled subset', () => {
  for (const name of EXAMPLES) {
    it(`${name}: the loss of the last 10 of ${STEPS} steps is below the first 10's`, { timeout: 60_000 }, async () => {
      const model = await loadTrainingModel(`examples/${name}.sinter`, undefined);
      const data = await loadData(undefined);
      const losses: number[] = [];
      await train({
        backend: cpuBackend,
        graphs: model.graphs,
        names: model.names,
        train: subset(data.train, Int32Array.from({ length: STEPS * BATCH }, (_, i) => i)),
        validation: null,
        test: null,
        batch: BATCH,
        epochs: 1,
        seed: 1,
        lr: model.config.optimizer.args['lr']!,
        schedule: model.config.schedule,
        params: initParams(model.graphs.train(BATCH), 1),
        startStep: 0,
        onStep: (e) => losses.push(e.loss!),
      });
      expect(losses).toHaveLength(STEPS);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
      expect(last, `losses: ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(0.9 * first);
    });
  }
});
