// `sinter summary`: the layer table's rows and totals agree with the IR's parameters, on every example.

import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { numel } from '../../compiler/ir/types.js';
import { summaryOfFile } from '../../cli/commands/summary.js';
import { loadModel } from '../../cli/load.js';
import { runCli } from '../helpers/cli.js';

const examples = readdirSync('examples').filter((f) => f.endsWith('.sinter')).map((f) => join('examples', f));
const dir = mkdtempSync(join(tmpdir(), 'sinter-summary-'));

describe('sinter summary', () => {
  it.each(examples)('%s: totals are the sums over the graph params, and the rows add up to them', (file) => {
    const s = summaryOfFile(file, 2);
    const { graph } = loadModel(file, { batch: 2 });
    const sum = (ps: typeof graph.params) => ps.reduce((n, p) => n + numel(p.type.shape), 0);
    expect(s.total).toBe(sum(graph.params));
    expect(s.trainable).toBe(sum(graph.params.filter((p) => p.trainable)));
    expect(s.non_trainable).toBe(s.total - s.trainable);
    expect(s.rows.reduce((n, r) => n + r.params, 0)).toBe(s.total);
    expect(new Set(s.rows.map((r) => r.layer)).size).toBe(s.rows.length);
  });

  it('the Fashion CNN has the 93,322 parameters Keras reports for this architecture, per layer as Keras counts them', async () => {
    const r = await runCli('summary', 'examples/fashion_cnn.sinter', '--batch', '64');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Total params: 93,322');
    expect(r.stdout).toContain('Non-trainable params: 0');
    const s = summaryOfFile('examples/fashion_cnn.sinter', 64);
    // conv: (9·cin + 1)·cout; dense: (in + 1)·out.
    const withParams = s.rows.filter((x) => x.params > 0).map((x) => [x.layer, x.params]);
    expect(withParams).toEqual([['conv2d_1', 10 * 32], ['conv2d_2', (9 * 32 + 1) * 64], ['conv2d_3', (9 * 64 + 1) * 64], ['dense_1', 577 * 64], ['dense_2', 65 * 10]]);
    expect(s.rows.find((x) => x.layer === 'conv2d_1')!.output).toEqual([64, 32, 26, 26]);
    expect(s.rows.at(-1)!.output).toEqual([64, 10]);
    expect(s.rows.find((x) => x.layer === 'flatten_1')!.output).toEqual([64, 576]);
  });

  it('counts a recurrent cell applied 28 times once, and non-trainable state apart', () => {
    const rnn = summaryOfFile('examples/rnn.sinter', 1);
    expect(rnn.rows.filter((r) => r.kind === 'GRUCell')).toHaveLength(1);
    const bn = join(dir, 'bn.sinter');
    writeFileSync(bn, 'model B(x: f32[batch, 4]) -> y: f32[batch, 4] {\n  x |> batchnorm\n}\n');
    const s = summaryOfFile(bn, 1);
    const { graph } = loadModel(bn, { batch: 1 });
    const frozen = graph.params.filter((p) => !p.trainable).reduce((n, p) => n + numel(p.type.shape), 0);
    expect(frozen).toBeGreaterThan(0);
    expect(s.non_trainable).toBe(frozen);
    expect(s.rows[0]!.params).toBe(s.total);
  });

  it('summarizes a textual .ir file by parameter prefix, and --json gives the same figures', async () => {
    const ir = await runCli('ir', 'examples/mlp.sinter');
    const file = join(dir, 'mlp.ir');
    writeFileSync(file, ir.stdout);
    const r = await runCli('summary', file, '--json');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { total: number; rows: { layer: string }[] };
    expect(s.total).toBe(summaryOfFile('examples/mlp.sinter', 1).total);
    expect(s.rows.map((x) => x.layer)).toEqual(['dense_1', 'dense_2', 'dense_3']);
  });

  it('a missing file is a user error, exit 1', async () => {
    const r = await runCli('summary', join(dir, 'nope.sinter'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no such file');
  });
});
