// The results table of examples/README.md: rows computed from training logs, and the README rewritten between its markers.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MARKERS, comparisonTable, replaceTable, resultsTable, seedsTable, settingsTable, summarize } from '../../examples/results.js';

const line = (r: object): string => JSON.stringify(r);
const log = [
  line({ kind: 'start', model: 'FashionCNN', backend: 'cpu', threads: 2, parameters: 93322, epochs: 2, batch: 64, seed: 0, command: 'sinter train examples/fashion_cnn.sinter --data fashion-mnist --log x.jsonl --log-every 50 --save c.ckpt' }),
  line({ kind: 'step', step: 50, loss: 1 }),
  line({ kind: 'epoch', epoch: 1, seconds: 10, samples_per_s: 100, train_loss: 0.5, test_accuracy: 0.9 }),
  line({ kind: 'epoch', epoch: 2, seconds: 30, samples_per_s: 200, train_loss: 0.3, test_accuracy: 0.915 }),
  line({ kind: 'end', seconds: 125, test_loss: 0.25, test_accuracy: 0.915 }),
].join('\n');

describe('examples/results.ts', () => {
  it('summarizes a run: the last test accuracy, wall time, and training throughput over all epochs', () => {
    const r = summarize('fashion_cnn', log, 'x.jsonl');
    expect(r).toMatchObject({ model: 'FashionCNN', parameters: 93322, epochs: 2, testAccuracy: 0.915, wallSeconds: 125, backend: 'cpu', threads: 2 });
    // (10 s · 100 + 30 s · 200) samples over 40 s of training.
    expect(r.samplesPerSecond).toBeCloseTo(7000 / 40, 9);
    expect(r.command).toBe('npx sinter train examples/fashion_cnn.sinter --data fashion-mnist');
    const table = resultsTable([r]);
    expect(table).toContain('| `fashion_cnn` (FashionCNN) | 93,322 | 2 | **0.9150** | ✓ ≥ 0.91 | 2 min 05 s | cpu, 2 threads | 175 |');
    expect(resultsTable([{ ...r, testAccuracy: 0.9 }])).toContain('✗ ≥ 0.91');
  });

  it('refuses logs of unfinished or foreign runs, naming the file', () => {
    expect(() => summarize('mlp', log.split('\n').slice(0, -1).join('\n'), 'mlp.jsonl')).toThrow('mlp.jsonl: no end record: the run did not finish');
    expect(() => summarize('mlp', log.split('\n').slice(1).join('\n'), 'mlp.jsonl')).toThrow('mlp.jsonl: no start record');
    expect(() => summarize('mlp', '{"kind": "start"\n', 'mlp.jsonl')).toThrow('mlp.jsonl:1: not a JSON line');
  });

  it('replaces exactly the text between the markers, and the committed README has them', () => {
    const readme = 'intro\n<!-- results:start (npm run results) -->\nold\n<!-- results:end -->\nafter\n';
    expect(replaceTable(readme, 'NEW')).toBe('intro\n<!-- results:start (npm run results) -->\nNEW\n<!-- results:end -->\nafter\n');
    expect(() => replaceTable('no markers', 'x')).toThrow('lacks the markers');
    expect(() => replaceTable(readFileSync('examples/README.md', 'utf8'), 'x')).not.toThrow();
  });

  it('sets a peer\'s run of the same recipe beside Sinter\'s, epoch by epoch; refuses runs of different lengths', () => {
    const peer = log
      .replace('"backend":"cpu","threads":2', '"backend":"tfjs-wasm","threads":1')
      .replace('sinter train examples/fashion_cnn.sinter --data fashion-mnist --log x.jsonl --log-every 50 --save c.ckpt', 'npm run reference -- --data fashion-mnist --log y.jsonl')
      .replace('"train_loss":0.3,"test_accuracy":0.915', '"train_loss":0.31,"test_accuracy":0.9123');
    const table = comparisonTable('fashion_cnn', { text: log, file: 'x.jsonl' }, { text: peer, file: 'y.jsonl', label: 'TF.js' });
    expect(table).toContain('(`npm run reference -- --data fashion-mnist`, 2 min 05 s on tfjs-wasm, 1 thread)');
    expect(table).toContain('| 2 | 0.3000 | 0.3100 | **0.9150** | **0.9123** |');
    const shorter = log.split('\n').filter((l) => !l.includes('"epoch":2')).join('\n');
    expect(() => comparisonTable('fashion_cnn', { text: shorter, file: 'x.jsonl' }, { text: peer, file: 'y.jsonl', label: 'TF.js' })).toThrow('y.jsonl: 2 epochs, but x.jsonl has 1');
    expect(() => replaceTable(readFileSync('examples/README.md', 'utf8'), 'x', MARKERS.reference)).not.toThrow();
  });

  it('lists the runs of other seeds with the mean and how many meet the bar; refuses a seed twice', () => {
    const r = summarize('fashion_cnn', log, 'x.jsonl');
    const table = seedsTable([{ ...r, seed: 2, testAccuracy: 0.905 }, r, { ...r, seed: 1, testAccuracy: 0.9 }]);
    expect(table).toContain('`fashion_cnn` with seeds 0, 1, 2 (`npx sinter train examples/fashion_cnn.sinter --data fashion-mnist --seed S`, 2 epochs each):');
    expect(table).toContain('| 0 | 0.9150 |\n| 1 | 0.9000 |\n| 2 | 0.9050 |');
    // (0.915 + 0.9 + 0.905) / 3
    expect(table).toContain('| mean | **0.9067** (1 of 3 at ≥ 0.91) |');
    expect(() => seedsTable([r, r])).toThrow('two runs of fashion_cnn have the same seed');
    expect(() => replaceTable(readFileSync('examples/README.md', 'utf8'), 'x', MARKERS.seeds)).not.toThrow();
  });

  it('lists runs with a setting changed under the main run, with their commands and batch sizes', () => {
    const r = summarize('fashion_cnn', log, 'x.jsonl');
    const b32 = summarize('fashion_cnn', log.replace('"batch":64', '"batch":32').replace('--data fashion-mnist --log', '--data fashion-mnist --batch 32 --log').replace(/"test_accuracy":0\.915\}$/, '"test_accuracy":0.9004}'), 'y.jsonl');
    expect(b32.batch).toBe(32);
    const table = settingsTable(r, [b32]);
    expect(table).toContain("| the results table's | `npx sinter train examples/fashion_cnn.sinter --data fashion-mnist` | 64 | 2 | 0.9150 |");
    expect(table).toContain('| changed | `npx sinter train examples/fashion_cnn.sinter --data fashion-mnist --batch 32` | 32 | 2 | 0.9004 |');
    expect(() => settingsTable(r, [{ ...b32, example: 'mlp' }])).toThrow('takes runs of one example');
    expect(() => replaceTable(readFileSync('examples/README.md', 'utf8'), 'x', MARKERS.settings)).not.toThrow();
  });
});
