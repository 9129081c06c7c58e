// `npm run results`: the results table of examples/README.md, produced from the training logs in examples/results/.
//
// Each full run writes a log with `sinter train … --log examples/results/<model>.jsonl`
// (a `start` record with the settings, `epoch` records, an `end` record). This script reads
// every such log and rewrites the table between the README's markers, so the table shows
// what the runs measured and nothing typed by hand.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../cli/io.js';

/** The accuracy each example must reach on the full test set (issue 7). */
export const BARS: Readonly<Record<string, number>> = { fashion_cnn: 0.91, rnn: 0.87, transformer: 0.85, mlp: 0.88 };

export interface RunSummary {
  readonly example: string;
  readonly model: string;
  readonly parameters: number;
  readonly epochs: number;
  readonly testAccuracy: number;
  readonly wallSeconds: number;
  readonly backend: string;
  readonly threads: number | null;
  /** Training examples per second over the epochs (evaluation excluded). */
  readonly samplesPerSecond: number;
  readonly command: string;
  readonly seed: number;
  /** The batch size, where the log says (logs of older runs may not). */
  readonly batch: number | null;
}

type LogRecord = Record<string, unknown> & { kind: string };

function parseLog(text: string, file: string): LogRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      let r: unknown;
      try {
        r = JSON.parse(l);
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON line`);
      }
      if (typeof r !== 'object' || r === null || typeof (r as LogRecord).kind !== 'string') throw new Error(`${file}:${i + 1}: not a log record`);
      return r as LogRecord;
    });
}

const num = (r: LogRecord, key: string, file: string): number => {
  const v = r[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${file}: the ${r.kind} record has no number '${key}'`);
  return v;
};

/** The command a reader reruns: the logged one without where this run kept its log and checkpoint. */
function rerunCommand(command: string): string {
  return command.replace(/\s--(log|log-every|save)\s+\S+/g, '').replace(/^sinter /, 'npx sinter ');
}

/** One run's row, from its log's text. */
export function summarize(example: string, text: string, file: string): RunSummary {
  const records = parseLog(text, file);
  const start = records.find((r) => r.kind === 'start');
  const end = records.find((r) => r.kind === 'end');
  const epochs = records.filter((r) => r.kind === 'epoch');
  if (!start) throw new Error(`${file}: no start record (was it written by sinter train --log?)`);
  if (!end) throw new Error(`${file}: no end record: the run did not finish`);
  if (epochs.length === 0) throw new Error(`${file}: no epoch records`);
  const trainSeconds = epochs.reduce((s, r) => s + num(r, 'seconds', file), 0);
  const trainSamples = epochs.reduce((s, r) => s + num(r, 'seconds', file) * num(r, 'samples_per_s', file), 0);
  return {
    example,
    model: String(start['model']),
    parameters: num(start, 'parameters', file),
    epochs: epochs.length,
    testAccuracy: num(end, 'test_accuracy', file),
    wallSeconds: num(end, 'seconds', file),
    backend: String(start['backend']),
    threads: typeof start['threads'] === 'number' ? start['threads'] : null,
    samplesPerSecond: trainSamples / trainSeconds,
    command: rerunCommand(String(start['command'])),
    seed: num(start, 'seed', file),
    batch: typeof start['batch'] === 'number' ? start['batch'] : null,
  };
}

function minutes(s: number): string {
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

/** The markdown table of some runs. */
export function resultsTable(runs: readonly RunSummary[]): string {
  const rows = runs.map((r) => {
    const bar = BARS[r.example];
    const verdict = bar === undefined ? '' : `${r.testAccuracy >= bar ? '✓' : '✗'} ≥ ${bar}`;
    const backend = `${r.backend}${r.threads !== null ? `, ${r.threads} thread${r.threads === 1 ? '' : 's'}` : ''}`;
    return `| \`${r.example}\` (${r.model}) | ${r.parameters.toLocaleString('en-US')} | ${r.epochs} | **${r.testAccuracy.toFixed(4)}** | ${verdict} | ${minutes(r.wallSeconds)} | ${backend} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} |`;
  });
  const commands = runs.map((r) => `- \`${r.example}\`: \`${r.command}\``);
  return [
    '| example | parameters | epochs | test accuracy | bar | wall time | backend | train samples/s |',
    '| --- | ---: | ---: | ---: | --- | ---: | --- | ---: |',
    ...rows,
    '',
    'Commands (each run also had `--log examples/results/<example>.jsonl`):',
    '',
    ...commands,
  ].join('\n');
}

interface EpochMetrics {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly testAccuracy: number;
}

function epochMetrics(text: string, file: string): EpochMetrics[] {
  return parseLog(text, file)
    .filter((r) => r.kind === 'epoch')
    .map((r) => ({ epoch: num(r, 'epoch', file), trainLoss: num(r, 'train_loss', file), testAccuracy: num(r, 'test_accuracy', file) }));
}

/**
 * Sinter's run beside a peer's run of the same recipe (`npm run reference`: the same initial
 * weights, batches and optimizer in another library), epoch by epoch.
 */
export function comparisonTable(example: string, sinter: { text: string; file: string }, peer: { text: string; file: string; label: string }): string {
  const ours = epochMetrics(sinter.text, sinter.file);
  const theirs = epochMetrics(peer.text, peer.file);
  if (ours.length !== theirs.length) throw new Error(`${peer.file}: ${theirs.length} epochs, but ${sinter.file} has ${ours.length}`);
  const start = summarize(example, peer.text, peer.file);
  const rows = ours.map((o, i) => {
    const t = theirs[i]!;
    return `| ${o.epoch} | ${o.trainLoss.toFixed(4)} | ${t.trainLoss.toFixed(4)} | **${o.testAccuracy.toFixed(4)}** | **${t.testAccuracy.toFixed(4)}** |`;
  });
  return [
    `\`${example}\` against ${peer.label}, trained from the same initial weights on the same batches (\`${start.command}\`, ${minutes(start.wallSeconds)} on ${start.backend}${start.threads !== null ? `, ${start.threads} thread${start.threads === 1 ? '' : 's'}` : ''}):`,
    '',
    `| epoch | train loss, Sinter | train loss, ${peer.label} | test accuracy, Sinter | test accuracy, ${peer.label} |`,
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/**
 * The runs of one example that differ only in the seed (initial weights and shuffles): the
 * spread a single row hides. Rows in seed order, then the mean.
 */
export function seedsTable(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return '';
  const example = runs[0]!.example;
  if (runs.some((r) => r.example !== example || r.epochs !== runs[0]!.epochs)) throw new Error('internal: seedsTable takes runs of one example with the same epochs');
  const sorted = [...runs].sort((a, b) => a.seed - b.seed);
  const seeds = sorted.map((r) => r.seed);
  if (new Set(seeds).size !== seeds.length) throw new Error(`two runs of ${example} have the same seed`);
  const mean = sorted.reduce((s, r) => s + r.testAccuracy, 0) / sorted.length;
  const bar = BARS[example];
  return [
    `\`${example}\` with seeds ${seeds.join(', ')} (\`${sorted[0]!.command} --seed S\`, ${sorted[0]!.epochs} epochs each):`,
    '',
    '| seed | test accuracy |',
    '| ---: | ---: |',
    ...sorted.map((r) => `| ${r.seed} | ${r.testAccuracy.toFixed(4)} |`),
    `| mean | **${mean.toFixed(4)}**${bar === undefined ? '' : ` (${sorted.filter((r) => r.testAccuracy >= bar).length} of ${sorted.length} at ≥ ${bar})`} |`,
  ].join('\n');
}

/**
 * Runs of one example with a setting changed from its main run (a batch size, an epoch
 * count): the main run first, then the others, each with its command and test accuracy.
 */
export function settingsTable(main: RunSummary, others: readonly RunSummary[]): string {
  if (others.some((r) => r.example !== main.example)) throw new Error('internal: settingsTable takes runs of one example');
  const row = (r: RunSummary, what: string) => `| ${what} | \`${r.command}\` | ${r.batch ?? '?'} | ${r.epochs} | ${r.testAccuracy.toFixed(4)} |`;
  return [
    `\`${main.example}\` with other settings of the recipe:`,
    '',
    '| run | command | batch | epochs | test accuracy |',
    '| --- | --- | ---: | ---: | ---: |',
    row(main, 'the results table\'s'),
    ...others.map((r) => row(r, 'changed')),
  ].join('\n');
}

/** The README's generated parts: the results table, the seed spreads, other settings, and the comparisons with other libraries. */
export const MARKERS = {
  results: ['<!-- results:start (npm run results) -->', '<!-- results:end -->'],
  seeds: ['<!-- seeds:start (npm run results) -->', '<!-- seeds:end -->'],
  settings: ['<!-- settings:start (npm run results) -->', '<!-- settings:end -->'],
  reference: ['<!-- reference:start (npm run results) -->', '<!-- reference:end -->'],
} as const;

/** The README with the text between one pair of markers replaced. */
export function replaceTable(readme: string, table: string, [start, end]: readonly [string, string] = MARKERS.results): string {
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`examples/README.md lacks the markers ${start} … ${end}`);
  return `${readme.slice(0, a + start.length)}\n${table}\n${readme.slice(b)}`;
}

/** The peers `npm run reference` can train with, by the suffix of their logs. */
const PEERS: Readonly<Record<string, string>> = { tfjs: 'TF.js' };

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, 'results');
  const order = Object.keys(BARS);
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => f.slice(0, -'.jsonl'.length))
    .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const runs = logs.map((m) => summarize(m, readFileSync(join(dir, `${m}.jsonl`), 'utf8'), `examples/results/${m}.jsonl`));
  // Logs of `npm run reference` runs: results/reference/<example>.<peer>.jsonl.
  const comparisons = readdirSync(join(dir, 'reference'))
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => {
      const [example, peer] = f.slice(0, -'.jsonl'.length).split('.') as [string, string];
      const label = PEERS[peer];
      if (!label || !logs.includes(example)) throw new Error(`examples/results/reference/${f}: expected <example>.<${Object.keys(PEERS).join('|')}>.jsonl beside examples/results/<example>.jsonl`);
      const read = (path: string) => ({ text: readFileSync(join(dir, path), 'utf8'), file: `examples/results/${path}` });
      return comparisonTable(example, read(`${example}.jsonl`), { ...read(`reference/${f}`), label });
    })
    .join('\n\n');
  // Reruns with other seeds: results/seeds/<example>.seed<N>.jsonl, beside the seed of the main run.
  const reruns = readdirSync(join(dir, 'seeds')).filter((f) => f.endsWith('.jsonl'));
  const spreads = logs
    .map((example) => {
      const mine = reruns.filter((f) => f.startsWith(`${example}.seed`)).map((f) => summarize(example, readFileSync(join(dir, 'seeds', f), 'utf8'), `examples/results/seeds/${f}`));
      return mine.length === 0 ? '' : seedsTable([runs.find((r) => r.example === example)!, ...mine]);
    })
    .filter((t) => t !== '')
    .join('\n\n');
  // Runs with a setting changed: results/settings/<example>.<what>.jsonl.
  const changed = readdirSync(join(dir, 'settings')).filter((f) => f.endsWith('.jsonl'));
  const settings = logs
    .map((example) => {
      const mine = changed.filter((f) => f.startsWith(`${example}.`)).sort().map((f) => summarize(example, readFileSync(join(dir, 'settings', f), 'utf8'), `examples/results/settings/${f}`));
      return mine.length === 0 ? '' : settingsTable(runs.find((r) => r.example === example)!, mine);
    })
    .filter((t) => t !== '')
    .join('\n\n');
  const readmePath = join(here, 'README.md');
  let readme = replaceTable(readFileSync(readmePath, 'utf8'), resultsTable(runs));
  readme = replaceTable(readme, spreads, MARKERS.seeds);
  readme = replaceTable(readme, settings, MARKERS.settings);
  readme = replaceTable(readme, comparisons, MARKERS.reference);
  writeFileAtomic(readmePath, readme);
  process.stdout.write(`${resultsTable(runs)}\n\n${spreads}\n\n${settings}\n\n${comparisons}\n\nwrote ${readmePath}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
