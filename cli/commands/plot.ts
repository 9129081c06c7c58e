// `sinter plot`: training curves (per-epoch loss and accuracy) as an SVG chart, from a `--log` file or a running `sinter train --plot`.
//
// Both routes go through one record shape, the `epoch` line of the JSONL log (see
// cli/progress.ts), so a chart drawn live and one drawn later from the log are the same file.

import type { Command } from 'commander';
import type { EpochEvent } from '../../runtime/train/loop.js';
import { readText, UserError, writeFileAtomic } from '../io.js';
import type { ChartPanel, ChartSeries } from '../svg-chart.js';
import { renderChart } from '../svg-chart.js';

/** The metrics of one `epoch` record of a `--log` file (absent or null where the run had none). */
export interface EpochRecord {
  readonly epoch: number;
  readonly train_loss: number;
  readonly train_accuracy?: number | null;
  readonly val_loss?: number | null;
  readonly val_accuracy?: number | null;
  readonly test_loss?: number | null;
  readonly test_accuracy?: number | null;
}

/** What the chart's title names. */
export interface RunInfo {
  readonly model: string;
  readonly backend: string;
}

/** An epoch event as the log writes it. */
export function epochRecord(e: EpochEvent): EpochRecord {
  return {
    epoch: e.epoch + 1,
    train_loss: e.train.loss,
    train_accuracy: e.train.accuracy,
    ...(e.validation ? { val_loss: e.validation.loss, val_accuracy: e.validation.accuracy } : {}),
    ...(e.test ? { test_loss: e.test.loss, test_accuracy: e.test.accuracy } : {}),
  };
}

const COLORS = { train: '#1f77b4', val: '#2ca02c', test: '#d62728' } as const;

/** The series of one metric (`loss` or `accuracy`) over the splits that have it. */
function seriesOf(records: readonly EpochRecord[], metric: 'loss' | 'accuracy'): ChartSeries[] {
  const out: ChartSeries[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const key = `${split}_${metric}` as keyof EpochRecord;
    const points = records.flatMap((r): [number, number][] => (typeof r[key] === 'number' ? [[r.epoch, r[key]]] : []));
    if (points.length > 0) out.push({ label: `${split === 'val' ? 'validation' : split} ${metric}`, points, color: COLORS[split], dashed: split !== 'train' });
  }
  return out;
}

/** The chart of a run: a loss panel, and an accuracy panel when the run measured accuracy. */
export function curvesSvg(run: RunInfo, records: readonly EpochRecord[]): string {
  const panels: ChartPanel[] = [{ title: 'Loss', yLabel: 'loss', series: seriesOf(records, 'loss') }];
  const accuracy = seriesOf(records, 'accuracy');
  if (accuracy.length > 0) panels.push({ title: 'Accuracy', yLabel: 'accuracy', series: accuracy });
  return renderChart({ title: `${run.model} on ${run.backend}: ${records.length} epoch${records.length === 1 ? '' : 's'}`, xLabel: 'epoch', panels });
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optionalNum = (v: unknown): boolean => v === undefined || v === null || isNum(v);

/** Reads a `--log` file: its run settings and its epoch records; a file that is not one is a UserError naming the line. */
export function readRunLog(path: string): { run: RunInfo; records: EpochRecord[] } {
  const lines = readText(path).split('\n');
  let run: RunInfo = { model: 'model', backend: 'unknown backend' };
  const records: EpochRecord[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UserError(`${path}:${i + 1}: not a JSON line`, 'pass the file `sinter train --log` wrote');
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new UserError(`${path}:${i + 1}: expected a JSON object`, 'pass the file `sinter train --log` wrote');
    if (rec['kind'] === 'start') run = { model: String(rec['model'] ?? run.model), backend: String(rec['backend'] ?? run.backend) };
    if (rec['kind'] !== 'epoch') return;
    const keys = ['train_accuracy', 'val_loss', 'val_accuracy', 'test_loss', 'test_accuracy'];
    if (!isNum(rec['epoch']) || !isNum(rec['train_loss']) || !keys.every((k) => optionalNum(rec[k]))) {
      throw new UserError(`${path}:${i + 1}: an epoch record needs a numeric epoch and train_loss (and numeric metrics where present)`);
    }
    records.push(rec as unknown as EpochRecord);
  });
  if (records.length === 0) throw new UserError(`${path}: no epoch records to plot`, 'a log gets one per finished epoch: `sinter train --log run.jsonl`');
  return { run, records };
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw the per-epoch loss and accuracy of a `sinter train --log` file as an SVG chart')
    .argument('<log>', 'a JSONL log written by sinter train --log')
    .requiredOption('-o, --output <file.svg>', 'where to write the chart')
    .action((log: string, opts: { output: string }) => {
      const { run, records } = readRunLog(log);
      writeFileAtomic(opts.output, curvesSvg(run, records));
      process.stdout.write(`wrote ${opts.output} (${records.length} epoch${records.length === 1 ? '' : 's'})\n`);
    });
}
