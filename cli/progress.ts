// Training progress for people (a bar on a TTY, one line per epoch otherwise) and a JSONL log for machines.

import { appendFileSync, writeFileSync } from 'node:fs';
import type { EpochEvent, Metrics, StepEvent } from '../runtime/train/loop.js';

function fmtMetrics(name: string, m: Metrics | null): string {
  if (!m) return '';
  return `  ${name} loss ${m.loss.toFixed(4)}${m.accuracy === null ? '' : ` acc ${m.accuracy.toFixed(4)}`}`;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** Renders steps and epochs to stderr; on a TTY a redrawn bar, elsewhere only epoch lines. */
export class Progress {
  private readonly tty: boolean;
  private windowSamples = 0;
  private windowSeconds = 0;
  private lastDraw = 0;
  /** The latest loss read back (steps in between read nothing: TrainRun.readEvery). */
  private lastLoss: number | null = null;

  constructor(
    private readonly epochs: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  step(e: StepEvent): void {
    if (e.loss !== null) this.lastLoss = e.loss;
    this.windowSamples += e.samples;
    this.windowSeconds += e.seconds;
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && e.batch !== e.batchesPerEpoch - 1) return;
    this.lastDraw = now;
    const rate = this.windowSamples / Math.max(this.windowSeconds, 1e-9);
    const done = (e.batch + 1) / e.batchesPerEpoch;
    const width = 24;
    const bar = '█'.repeat(Math.round(done * width)).padEnd(width, '░');
    const eta = ((e.batchesPerEpoch - e.batch - 1) * this.windowSeconds) / Math.max(1, this.windowSamples / e.samples);
    this.out.write(`\r\x1b[2Kepoch ${e.epoch + 1}/${this.epochs} ${bar} ${e.batch + 1}/${e.batchesPerEpoch}  loss ${this.lastLoss === null ? '—' : this.lastLoss.toFixed(4)}  ${rate.toFixed(0)} samples/s  eta ${fmtTime(eta)}`);
  }

  epoch(e: EpochEvent): void {
    if (this.tty) this.out.write('\r\x1b[2K');
    this.out.write(
      `epoch ${e.epoch + 1}/${this.epochs}  ${e.seconds.toFixed(1)}s  ${e.samplesPerSecond.toFixed(0)} samples/s${fmtMetrics('train', e.train)}${fmtMetrics('val', e.validation)}${fmtMetrics('test', e.test)}\n`,
    );
    this.windowSamples = 0;
    this.windowSeconds = 0;
  }
}

/**
 * `--log run.jsonl`: one JSON object per line, appended and flushed every `every` steps and at
 * each epoch's end, so a crash loses at most one interval.
 */
export class JsonlLog {
  private samples = 0;
  private seconds = 0;
  private readonly opened = performance.now();

  constructor(
    private readonly path: string,
    private readonly every: number,
  ) {
    writeFileSync(path, '');
  }

  private write(record: Record<string, unknown>): void {
    appendFileSync(this.path, `${JSON.stringify({ ...record, time: +((performance.now() - this.opened) / 1000).toFixed(3) })}\n`);
  }

  /** The run's settings, first: what a results table needs besides the epochs. */
  start(run: Record<string, unknown>): void {
    this.write({ kind: 'start', ...run });
  }

  /** The run's end: wall time of the whole run and its final test metrics. */
  end(result: Record<string, unknown>): void {
    this.write({ kind: 'end', ...result });
  }

  step(e: StepEvent): void {
    this.samples += e.samples;
    this.seconds += e.seconds;
    if ((e.step + 1) % this.every !== 0) return;
    this.write({ kind: 'step', step: e.step + 1, epoch: e.epoch + 1, loss: e.loss, lr: e.lr, samples_per_s: +(this.samples / this.seconds).toFixed(1) });
    this.samples = this.seconds = 0;
  }

  epoch(e: EpochEvent): void {
    this.write({
      kind: 'epoch',
      step: e.step,
      epoch: e.epoch + 1,
      train_loss: e.train.loss,
      train_accuracy: e.train.accuracy,
      ...(e.validation ? { val_loss: e.validation.loss, val_accuracy: e.validation.accuracy } : {}),
      ...(e.test ? { test_loss: e.test.loss, test_accuracy: e.test.accuracy } : {}),
      seconds: e.seconds,
      samples_per_s: +e.samplesPerSecond.toFixed(1),
    });
  }
}
