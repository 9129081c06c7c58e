// The training loop on the reference backend: loss falls, partial batches, bit-identical resume, NaN stops.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initParams } from '../../compiler/ir/init.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { buildEvalStep, buildTrainStep, STEP } from '../../compiler/passes/train-step.js';
import type { TrainStepConfig } from '../../compiler/passes/train-step.js';
import { compileSource } from '../../dsl/frontend.js';
import { decodeSafetensors, encodeSafetensors } from '../../runtime/checkpoint/safetensors.js';
import type { Dataset } from '../../runtime/data/dataset.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import type { StepEvent, TrainRun } from '../../runtime/train/loop.js';
import { evaluate, train, TrainingDiverged } from '../../runtime/train/loop.js';
import { rngFor } from '../../compiler/ir/random.js';

const SOURCE = `
model Tiny(x: f32[batch, 6]) -> logits: f32[batch, 3] {
  x |> dense(16, act: tanh) |> batchnorm |> dropout(0.1) |> dense(3)
}
train Tiny {
  loss = softmax_cross_entropy(logits, label)
  optimizer = adam(lr: 0.05)
}`;

/** A separable 3-class problem: the label is the argmax of three fixed projections of x. */
function blobs(n: number, seed: number): Dataset {
  const rng = rngFor(seed, 'blobs');
  const x = Array.from({ length: n * 6 }, () => rng.nextFloat() * 2 - 1);
  const y = Array.from({ length: n }, (_, i) => {
    const r = x.slice(i * 6, i * 6 + 6);
    const s = [r[0]! + r[1]!, r[2]! - r[3]!, r[4]! + r[5]! - r[0]!];
    return s.indexOf(Math.max(...s));
  });
  return { inputs: tensorFrom('f32', [n, 6], x), labels: tensorFrom('i32', [n], y) };
}

const cfg: TrainStepConfig = { loss: { kind: 'softmax_cross_entropy', output: 'logits', label: 'label' }, optimizer: { kind: 'adam', args: { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-7 } }, l2: 0, clip_norm: 0 };

function graphs() {
  const forward = (batch: number, mode: 'train' | 'infer') => compileSource(SOURCE, 't.sinter', { dims: { batch }, mode }).graph!;
  const cache = new Map<string, Graph>();
  const memo = (key: string, make: () => Graph) => cache.get(key) ?? cache.set(key, make()).get(key)!;
  return {
    train: (b: number) => memo(`t${b}`, () => buildTrainStep(forward(b, 'train'), cfg)),
    eval: (b: number) => memo(`e${b}`, () => buildEvalStep(forward(b, 'infer'), cfg)),
  };
}

const names = { input: 'x', label: 'label', lr: STEP.lr, step: STEP.step, loss: STEP.loss, correct: STEP.correct, randomKey: 'random_key' };

async function run(overrides: Partial<TrainRun> & { params: Map<string, Tensor> }): Promise<{ params: Map<string, Tensor>; steps: StepEvent[] }> {
  const steps: StepEvent[] = [];
  const params = await train({
    backend: referenceBackend,
    graphs: graphs(),
    names,
    train: blobs(100, 1),
    validation: null,
    test: null,
    batch: 32,
    epochs: 3,
    seed: 5,
    lr: 0.05,
    schedule: { kind: 'constant', args: { warmup: 0 } },
    startStep: 0,
    onStep: (e) => steps.push(e),
    ...overrides,
  });
  return { params, steps };
}

const fresh = () => initParams(graphs().train(32), 5);

describe('training loop', () => {
  it('learns: held-out accuracy rises well above chance (1/3), loss falls', async () => {
    const g = graphs();
    const test = blobs(200, 2);
    const before = await evaluate(referenceBackend, g, names, fresh(), test, 50);
    const { params, steps } = await run({ params: fresh(), epochs: 20 });
    const after = await evaluate(referenceBackend, g, names, params, test, 50);
    expect(after.accuracy!).toBeGreaterThan(0.75);
    expect(after.loss).toBeLessThan(before.loss * 0.6);
    const epochMean = (e: number) => {
      const ls = steps.filter((s) => s.epoch === e && s.samples === 32).map((s) => s.loss!);
      return ls.reduce((a, b) => a + b, 0) / ls.length;
    };
    expect(epochMean(19)).toBeLessThan(epochMean(0) * 0.5);
  });

  it('runs each epoch as full batches then one partial batch, and updates batchnorm statistics', async () => {
    const start = fresh();
    const { params, steps } = await run({ params: start, epochs: 2 });
    expect(steps.map((s) => s.samples)).toEqual([32, 32, 32, 4, 32, 32, 32, 4]);
    expect(Array.from(params.get('batchnorm_1.mean')!.data)).not.toEqual(Array.from(start.get('batchnorm_1.mean')!.data));
    expect(Array.from(params.get('opt.m.dense_1.w')!.data).some((v) => v !== 0)).toBe(true);
  });

  it('resumes from a checkpoint bit-identically to an uninterrupted run', async () => {
    const straight = (await run({ params: fresh(), epochs: 3 })).params;
    const first = (await run({ params: fresh(), epochs: 1 })).params;
    const saved = decodeSafetensors(encodeSafetensors(first, { step: '4' }), 'mem');
    const resumed = (await run({ params: saved.tensors, epochs: 3, startStep: 4 })).params;
    for (const [name, t] of straight) expect(Array.from(resumed.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('reads the loss back every readEvery steps and at epoch ends, computing the same parameters', async () => {
    const every = await run({ params: fresh(), epochs: 2 });
    const sparse = await run({ params: fresh(), epochs: 2, readEvery: 3 });
    const read = sparse.steps.filter((s) => s.loss !== null).map((s) => s.step);
    const want = sparse.steps.filter((s) => (s.step + 1) % 3 === 0 || s.batch === s.batchesPerEpoch - 1).map((s) => s.step);
    expect(read).toEqual(want);
    expect(read.length).toBeLessThan(sparse.steps.length);
    for (const s of sparse.steps) if (s.loss !== null) expect(s.loss).toBe(every.steps[s.step]!.loss);
    for (const [name, t] of every.params) expect(Array.from(sparse.params.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('stops with TrainingDiverged naming the step when the loss is not finite', async () => {
    const ds = blobs(100, 1);
    (ds.inputs.data as Float32Array)[40 * 6] = Number.NaN;
    let error: unknown;
    try {
      await run({ params: fresh(), train: ds });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDiverged);
    const d = error as TrainingDiverged;
    expect(Number.isNaN(d.loss)).toBe(true);
    expect(d.message).toBe(`the loss is NaN at step ${d.step} (epoch 1); training stopped`);
  });

  it('the bundled example models build train steps whose parameters match their forward graphs', () => {
    for (const f of ['mlp', 'residual_mlp']) {
      const src = readFileSync(`examples/${f}.sinter`, 'utf8');
      const r = compileSource(src, f, { dims: { batch: 2 }, mode: 'train' });
      const step = buildTrainStep(r.graph!, { loss: r.train!.loss, optimizer: r.train!.optimizer, l2: 0.001, clip_norm: 1 });
      const trainable = r.graph!.params.filter((p) => p.trainable).map((p) => p.name);
      expect(step.outputs.filter((o) => o.aliases !== undefined && !o.aliases.startsWith('opt.')).map((o) => o.aliases)).toEqual(trainable);
    }
  });
});
