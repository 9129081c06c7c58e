// `sinter train` and `sinter eval` end to end on a tiny MNIST-format directory: progress, logs, checkpoints, errors.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { writeTinyData } from '../helpers/tiny-data.js';
import { beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'sinter-train-'));
const data = join(dir, 'data');

beforeAll(() => writeTinyData(data, 96, 40));

describe('sinter train / eval', () => {
  it('trains with one progress line per epoch off a TTY, logs JSON lines, saves, and eval agrees', async () => {
    const ckpt = join(dir, 'mlp.safetensors');
    const log = join(dir, 'run.jsonl');
    const r = await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '2', '--batch', '32', '--save', ckpt, '--log', log, '--log-every', '2');
    expect(r.stderr).toMatch(/^training Mlp on .*: 96 examples, batch 32, 2 epochs, backend cpu\n/);
    expect(r.stderr.match(/^epoch \d\/2 .* train loss \S+ acc \S+ {2}test loss \S+ acc \S+$/gm)).toHaveLength(2);
    expect(r.status).toBe(0);
    const testLine = /test loss (\S+) {2}test accuracy (\S+)/.exec(r.stdout)!;
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((x) => x['kind'] === 'step').map((x) => x['step'])).toEqual([2, 4, 6]);
    const [start, end] = [records[0]!, records.at(-1)!];
    expect(start).toMatchObject({ kind: 'start', model: 'Mlp', backend: 'cpu', epochs: 2, batch: 32, train_examples: 96, test_examples: 40 });
    // 784·128 + 128 + 128·64 + 64 + 64·10 + 10: the MLP's weights and biases.
    expect(start['parameters']).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
    expect(end['kind']).toBe('end');
    expect(end['test_accuracy']).toBeCloseTo(Number(testLine[2]), 4);
    for (const rec of records.filter((x) => x['kind'] === 'step' || x['kind'] === 'epoch')) for (const key of ['step', 'epoch', 'time']) expect(rec).toHaveProperty(key);
    expect(records.filter((x) => x['kind'] === 'step').every((x) => typeof x['loss'] === 'number' && typeof x['lr'] === 'number' && typeof x['samples_per_s'] === 'number')).toBe(true);
    const e = await runCli('eval', 'examples/mlp.sinter', '--load', ckpt, '--data', data, '--batch', '32');
    expect(e.status).toBe(0);
    expect(e.stdout).toContain(`test loss ${testLine[1]}  test accuracy ${testLine[2]}`);
  });

  it('rejects corrupt, truncated and mismatched checkpoints with the file named', async () => {
    const ckpt = join(dir, 'ok.safetensors');
    expect((await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '1', '--batch', '48', '--save', ckpt)).status).toBe(0);
    const bytes = readFileSync(ckpt);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    let r = await runCli('eval', 'examples/mlp.sinter', '--load', truncated, '--data', data);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${truncated}: not a valid checkpoint`);
    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, 'not a checkpoint at all');
    expect((await runCli('eval', 'examples/mlp.sinter', '--load', garbage, '--data', data)).stderr).toContain(`${garbage}: not a valid checkpoint`);
    r = await runCli('eval', 'examples/residual_mlp.sinter', '--load', ckpt, '--data', data);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('saved from a different model');
    r = await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '2', '--batch', '32', '--resume', ckpt);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('saved with batch 48, but this run uses 32');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('reports missing data and models without a train block as user errors', async () => {
    let r = await runCli('train', 'examples/mlp.sinter', '--data', join(dir, 'nowhere'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('does not exist');
    const noTrain = join(dir, 'plain.sinter');
    writeFileSync(noTrain, 'model P(x: f32[batch, 1, 28, 28]) -> y: f32[batch, 10] { x |> flatten |> dense(10) }\n');
    r = await runCli('train', noTrain, '--data', data);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("model 'P' has no train block");
  });

  it('prints the train step graph with sinter ir --train', async () => {
    const r = await runCli('ir', 'examples/mlp.sinter', '--train', '--batch', '8');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('next.dense_1.w: f32[784,128] aliases %dense_1.w');
    expect(r.stdout).toContain('%label: i32[8]');
    expect(r.stdout).toMatch(/= conv2d|= matmul/);
  });
});
