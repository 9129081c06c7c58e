// The training loop: seeded epochs of batches through a backend's train step, evaluation, events.
//
// Everything a step does is a function of (seed, global step): the epoch's shuffle comes from
// stream `shuffle/<epoch>`, the learning rate from the schedule at that step. So a run resumed
// from a checkpoint of (parameters, optimizer state, step) continues bit-identically.

import type { Graph } from '../../compiler/ir/graph.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { batchAt, batchCount, datasetSize, epochOrder } from '../data/dataset.js';
import type { AnyBackend, AnySession } from '../session.js';
import type { Schedule } from './schedule.js';
import { learningRate } from './schedule.js';

/** The compiled step graphs for a batch size (the final partial batch has its own). */
export interface StepGraphs {
  train(batch: number): Graph;
  eval(batch: number): Graph;
}

/** Names the loop uses to feed and read the step graphs. */
export interface StepNames {
  readonly input: string;
  readonly label: string;
  readonly lr: string;
  readonly step: string;
  readonly loss: string;
  /** Absent when the loss has no notion of a correct prediction. */
  readonly correct: string | null;
  /** The i32 scalar input of per-step randomness (dropout), fed when a train graph has it. */
  readonly randomKey: string;
}

export interface Metrics {
  readonly loss: number;
  /** Null when the loss has no notion of accuracy. */
  readonly accuracy: number | null;
}

export interface StepEvent {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** The step's loss, or null on a step that read nothing back (see TrainRun.readEvery). */
  readonly loss: number | null;
  readonly lr: number;
  readonly samples: number;
  readonly seconds: number;
}

export interface EpochEvent {
  readonly epoch: number;
  readonly step: number;
  readonly train: Metrics;
  readonly validation: Metrics | null;
  readonly test: Metrics | null;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

export interface TrainRun {
  readonly backend: AnyBackend;
  readonly graphs: StepGraphs;
  readonly names: StepNames;
  readonly train: Dataset;
  readonly validation: Dataset | null;
  readonly test: Dataset | null;
  readonly batch: number;
  readonly epochs: number;
  readonly seed: number;
  readonly lr: number;
  readonly schedule: Schedule;
  /** Parameters and optimizer state to start from. */
  readonly params: Map<string, Tensor>;
  /** The global step to start at (0, or a checkpoint's). */
  readonly startStep: number;
  /**
   * Read the loss back every this many steps (default 1: every step). Steps in between fetch
   * nothing, so a device that runs asynchronously is never waited on; the epoch's train loss
   * and accuracy are then the means over the steps read back, and the NaN/Inf check sees only
   * those steps.
   */
  readonly readEvery?: number;
  onStep?(e: StepEvent): void;
  /** After each epoch, with the parameters (and optimizer state) at its end. */
  onEpoch?(e: EpochEvent, params: Map<string, Tensor>): void;
}

/** The loss became NaN or infinite: training stops and says where. */
export class TrainingDiverged extends Error {
  constructor(
    readonly step: number,
    readonly epoch: number,
    readonly loss: number,
  ) {
    super(`the loss is ${loss} at step ${step} (epoch ${epoch + 1}); training stopped`);
    this.name = 'TrainingDiverged';
  }
}

/** The random key of a step: its own stream of the seed, so a resumed run draws the same masks. */
function stepKey(seed: number, step: number): Tensor {
  return { type: { dtype: 'i32', shape: [] }, data: Int32Array.of(rngFor(seed, `dropout/${step}`).nextU32() | 0) };
}

function scalar(v: number): Tensor {
  return { type: { dtype: 'f32', shape: [] }, data: Float32Array.of(v) };
}

/**
 * Loads graphs into sessions on demand and moves state between them: one session per (kind,
 * batch size), parameters handed over only when the active session changes.
 */
class Sessions {
  private readonly cache = new Map<string, AnySession>();
  private current: AnySession | null = null;

  constructor(
    private readonly backend: AnyBackend,
    private readonly graphs: StepGraphs,
    public params: Map<string, Tensor>,
  ) {}

  async use(kind: 'train' | 'eval', batch: number): Promise<AnySession> {
    const key = `${kind}/${batch}`;
    let s = this.cache.get(key);
    if (!s) {
      s = this.backend.load(kind === 'train' ? this.graphs.train(batch) : this.graphs.eval(batch));
      this.cache.set(key, s);
    }
    if (s !== this.current) {
      await this.sync();
      s.setParams(this.params);
      this.current = s;
    }
    return s;
  }

  /** Brings the active session's state back into `params` (an eval session holds no optimizer state). */
  async sync(): Promise<Map<string, Tensor>> {
    if (this.current) for (const [k, v] of await this.current.getParams()) this.params.set(k, v);
    return this.params;
  }
}

/** Mean loss and accuracy of a dataset, batch by batch in order. */
async function evaluateWith(sessions: Sessions, names: StepNames, ds: Dataset, batch: number): Promise<Metrics> {
  const n = datasetSize(ds);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let lossSum = 0;
  let correct = 0;
  for (let k = 0; k < batchCount(n, batch); k++) {
    const b = batchAt(ds, order, batch, k);
    const size = datasetSize(b);
    const fetch = names.correct ? [names.loss, names.correct] : [names.loss];
    const out = await (await sessions.use('eval', size)).run(new Map([[names.input, b.inputs], [names.label, b.labels]]), fetch);
    lossSum += out.get(names.loss)!.data[0]! * size;
    if (names.correct) correct += out.get(names.correct)!.data[0]!;
  }
  return { loss: lossSum / n, accuracy: names.correct ? correct / n : null };
}

export function evaluate(backend: AnyBackend, graphs: StepGraphs, names: StepNames, params: Map<string, Tensor>, ds: Dataset, batch: number): Promise<Metrics> {
  return evaluateWith(new Sessions(backend, graphs, new Map(params)), names, ds, batch);
}

export async function train(run: TrainRun): Promise<Map<string, Tensor>> {
  const { names } = run;
  const sessions = new Sessions(run.backend, run.graphs, new Map(run.params));
  const n = datasetSize(run.train);
  const perEpoch = batchCount(n, run.batch);
  const total = perEpoch * run.epochs;
  let order: Int32Array = new Int32Array(0);
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let seenRead = 0;
  const readEvery = run.readEvery ?? 1;
  let epochStart = performance.now();
  for (let step = run.startStep; step < total; step++) {
    const epoch = Math.floor(step / perEpoch);
    const k = step % perEpoch;
    if (k === 0 || step === run.startStep) {
      order = epochOrder(n, run.seed, epoch);
      lossSum = correct = seen = seenRead = 0;
      epochStart = performance.now();
    }
    const t0 = performance.now();
    const batch = batchAt(run.train, order, run.batch, k);
    const size = datasetSize(batch);
    const lr = learningRate(run.lr, run.schedule, step, total);
    const inputs = new Map<string, Tensor>([
      [names.input, batch.inputs],
      [names.label, batch.labels],
      [names.lr, scalar(lr)],
      [names.step, scalar(step + 1)],
    ]);
    const session = await sessions.use('train', size);
    if (session.graph.inputs.some((i) => i.name === names.randomKey)) inputs.set(names.randomKey, stepKey(run.seed, step));
    const read = (step + 1) % readEvery === 0 || k === perEpoch - 1;
    const out = await session.run(inputs, !read ? [] : names.correct ? [names.loss, names.correct] : [names.loss]);
    seen += size;
    let loss: number | null = null;
    if (read) {
      loss = out.get(names.loss)!.data[0]!;
      if (!Number.isFinite(loss)) throw new TrainingDiverged(step, epoch, loss);
      lossSum += loss * size;
      seenRead += size;
      if (names.correct) correct += out.get(names.correct)!.data[0]!;
    }
    run.onStep?.({ step, totalSteps: total, epoch, batch: k, batchesPerEpoch: perEpoch, loss, lr, samples: size, seconds: (performance.now() - t0) / 1000 });
    if (k === perEpoch - 1) {
      const seconds = (performance.now() - epochStart) / 1000;
      const trainMetrics = { loss: lossSum / seenRead, accuracy: names.correct ? correct / seenRead : null };
      const validation = run.validation ? await evaluateWith(sessions, names, run.validation, run.batch) : null;
      const test = run.test ? await evaluateWith(sessions, names, run.test, run.batch) : null;
      run.onEpoch?.({ epoch, step: step + 1, train: trainMetrics, validation, test, seconds, samplesPerSecond: seen / seconds }, new Map(await sessions.sync()));
    }
  }
  return sessions.sync();
}
