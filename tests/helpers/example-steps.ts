// Shared by the backend training tests: an example with SGD in place of its optimizer, seeded train-step feeds (and the step they feed), and a loss curve through the training loop.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingModel } from '../../cli/training.js';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import type { Rng } from '../../compiler/ir/random.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import type { Dataset } from '../../runtime/data/dataset.js';
import type { AnyBackend } from '../../runtime/session.js';
import type { StepNames } from '../../runtime/train/loop.js';
import { train } from '../../runtime/train/loop.js';

let dir: string | null = null;

/**
 * A copy of `examples/<name>.sinter` whose optimizer is plain SGD (lr 1e-2): Adam's first
 * step moves every weight by ±lr whatever its gradient's size, so comparing backends after
 * Adam steps would compare rounding, not arithmetic.
 */
export function exampleWithSgd(name: string): string {
  const source = readFileSync(`examples/${name}.sinter`, 'utf8');
  const changed = source.replace(/optimizer\s*=\s*\w+\([^)]*\)/, 'optimizer = sgd(lr: 1e-2)');
  if (changed === source) throw new Error(`examples/${name}.sinter: no optimizer to replace`);
  dir ??= mkdtempSync(join(tmpdir(), 'sinter-sgd-'));
  const file = join(dir, `${name}.sinter`);
  writeFileSync(file, changed);
  return file;
}

/** Feeds of one train step: labels in [0, 10), lr (1e-2 by default), step 1, other i32 inputs (random keys) in [0, 1000), images in [0, scale) (scale 1 by default). */
export function trainStepFeeds(graph: Graph, names: StepNames, rng: Rng, options: { lr?: number; scale?: number } = {}): Map<string, Tensor> {
  const scale = options.scale ?? 1;
  return new Map<string, Tensor>(
    graph.inputs.map((i): [string, Tensor] => {
      const n = numel(i.type.shape);
      if (i.name === names.label) return [i.name, tensorFrom('i32', i.type.shape, Array.from({ length: n }, () => rng.nextInt(10)))];
      if (i.name === names.lr) return [i.name, tensorFrom('f32', [], [options.lr ?? 1e-2])];
      if (i.name === names.step) return [i.name, tensorFrom('f32', [], [1])];
      if (i.type.dtype === 'i32') return [i.name, tensorFrom('i32', i.type.shape, Array.from({ length: n }, () => rng.nextInt(1000)))];
      return [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: n }, () => scale * rng.nextFloat()))];
    }),
  );
}

/** An example's SGD train step at batch 3 with seeded feeds (stream `name` of seed 11) and parameters from seed 5. */
export async function exampleStep(name: string): Promise<{ graph: Graph; inputs: Map<string, Tensor>; params: Map<string, Tensor> }> {
  const model = await loadTrainingModel(exampleWithSgd(name), undefined);
  const graph = model.graphs.train(3);
  return { graph, inputs: trainStepFeeds(graph, model.names, rngFor(11, name)), params: initParams(graph, 5) };
}

/** Every step's loss of one epoch over `data` (batch 16, seed 3, constant lr 1e-3, parameters initialized from seed 3). */
export async function lossCurve(backend: AnyBackend, model: TrainingModel, data: Dataset): Promise<number[]> {
  const losses: number[] = [];
  await train({
    backend,
    graphs: model.graphs,
    names: model.names,
    train: data,
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
}
