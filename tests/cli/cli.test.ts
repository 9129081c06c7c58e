// End-to-end tests of the `sinter` command: exit codes, stdout/stderr contracts, files written.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../../runtime/data/npy.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'sinter-cli-'));

describe('sinter ir', () => {
  it('prints the Fashion CNN with three convolutions and a f32[64,10] output, and the text parses back identically', async () => {
    const r = await runCli('ir', 'examples/fashion_cnn.sinter', '--batch', '64');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.match(/= conv2d\(/g)).toHaveLength(3);
    expect(r.stdout).toContain('-> (logits: f32[64,10])');
    const irFile = join(dir, 'cnn.ir');
    writeFileSync(irFile, r.stdout);
    const again = await runCli('ir', irFile);
    expect(again.status).toBe(0);
    expect(again.stdout).toBe(r.stdout);
  });

  it('prints mermaid, dot and json views', async () => {
    expect((await runCli('ir', 'examples/mlp.sinter', '--format', 'mermaid')).stdout).toMatch(/^flowchart TD/);
    expect((await runCli('ir', 'examples/mlp.sinter', '--format', 'dot')).stdout).toMatch(/^digraph/);
    const json = JSON.parse((await runCli('ir', 'examples/mlp.sinter', '--format', 'json')).stdout) as { name: string };
    expect(json.name).toBe('Mlp');
  });

  it('reports a source error with file:line:col and a caret, exit 1, no stack trace', async () => {
    const bad = join(dir, 'bad.sinter');
    writeFileSync(bad, 'model M(x: f32[batch, 4]) -> y: f32[batch, 3] {\n  x |> Dnse(3)\n}\n');
    const r = spawnCli('ir', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:2:8: error[E0202]: unknown layer or function 'Dnse'`);
    expect(r.stderr).toMatch(/\n\s*\| {8}\^{4}\n/);
    expect(r.stderr).toContain("did you mean 'dense'?");
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(r.stdout).toBe('');
  });

  it('is a usage error (exit 2) for an unknown format or option', async () => {
    expect((await runCli('ir', 'examples/mlp.sinter', '--format', 'png')).status).toBe(2);
    expect((await runCli('ir', 'examples/mlp.sinter', '--bogus')).status).toBe(2);
    expect((await runCli('frobnicate')).status).toBe(2);
  });

  it('is a user error (exit 1) for a missing file', async () => {
    const r = await runCli('ir', join(dir, 'missing.sinter'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no such file');
  });

  it('dumps the IR after every pass with --dump-after all, and rejects unknown pass names', async () => {
    const r = await runCli('ir', 'examples/mlp.sinter', '--dump-after', 'all');
    expect(r.status).toBe(0);
    const stages = [...r.stdout.matchAll(/^\/\/ ---- after (\S+) /gm)].map((m) => m[1]);
    expect(stages).toEqual(['simplify', 'fusion', 'schedule', 'memory-plan', 'lower']);
    expect((await runCli('ir', 'examples/mlp.sinter', '--dump-after', 'fuson')).status).toBe(2);
  });

  it('prints stats as JSON with the documented keys', async () => {
    const r = await runCli('stats', 'examples/mlp.sinter', '--batch', '8', '--json');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, number>;
    for (const key of ['graph_ops', 'kernels', 'flops', 'bytes_unfused', 'bytes_fused', 'peak_bytes', 'naive_bytes', 'lower_bound_bytes', 'compile_ms']) expect(s).toHaveProperty(key);
    expect(s['kernels']).toBeLessThan(s['graph_ops']!);
  });

  it('has --help on every command', async () => {
    expect(spawnCli('--help').status).toBe(0);
    for (const cmd of ['ir', 'run', 'train', 'eval', 'opt', 'stats']) {
      const r = await runCli(cmd, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: sinter ${cmd}`);
    }
  });
});

describe('sinter run', () => {
  it('runs the Fashion CNN at batch 2 and prints the logits', async () => {
    const r = await runCli('run', 'examples/fashion_cnn.sinter', '--batch', '2');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^logits: f32\[2,10\] {2}sum=\S+ min=\S+ max=\S+ {2}fnv1a=[0-9a-f]{8}\n {2}\[/);
  });

  it('runs on every backend: cpu (the default) on any thread count bit-identically, ref within tolerance', async () => {
    const args = ['run', 'examples/fashion_cnn.sinter', '--batch', '3', '--seed', '5'];
    const cpu = await runCli(...args);
    expect(cpu.status).toBe(0);
    expect((await runCli(...args, '--threads', '1')).stdout).toBe(cpu.stdout);
    expect((await runCli(...args, '--backend', 'cpu', '--threads', '2')).stdout).toBe(cpu.stdout);
    const ref = await runCli(...args, '--backend', 'ref');
    const sum = (out: string) => Number(/sum=(\S+)/.exec(out)![1]);
    expect(Math.abs(sum(ref.stdout) - sum(cpu.stdout))).toBeLessThan(1e-4);
    const bad = await runCli(...args, '--backend', 'ref', '--threads', '2');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--threads applies to the cpu backend, not 'ref'");
  });

  it('is deterministic for a seed, and the seed matters', async () => {
    const a = (await runCli('run', 'examples/mlp.sinter', '--seed', '3')).stdout;
    expect((await runCli('run', 'examples/mlp.sinter', '--seed', '3')).stdout).toBe(a);
    expect((await runCli('run', 'examples/mlp.sinter', '--seed', '4')).stdout).not.toBe(a);
  });

  it('reads --input and writes --output as .npy, atomically', async () => {
    const input = join(dir, 'image.npy');
    const values = Array.from({ length: 2 * 784 }, (_, i) => (i % 17) / 17);
    writeFileSync(input, encodeNpy(tensorFrom('f32', [2, 1, 28, 28], values)));
    const out = join(dir, 'logits.npy');
    const r = await runCli('run', 'examples/mlp.sinter', '--batch', '2', '--input', `image=${input}`, '--output', `logits=${out}`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const logits = decodeNpy(new Uint8Array(readFileSync(out)), out);
    expect(logits.type).toEqual({ dtype: 'f32', shape: [2, 10] });
    const checksum = /fnv1a=([0-9a-f]{8})/.exec(r.stdout)![1];
    const again = await runCli('run', 'examples/mlp.sinter', '--batch', '2', '--input', `image=${input}`);
    expect(again.stdout).toContain(`fnv1a=${checksum}`);
  });

  it('rejects an input of the wrong shape with a clear message', async () => {
    const input = join(dir, 'wrong.npy');
    writeFileSync(input, encodeNpy(tensorFrom('f32', [3, 784], new Array(3 * 784).fill(0))));
    const r = await runCli('run', 'examples/mlp.sinter', '--batch', '2', '--input', `image=${input}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("input 'image' must be f32[2,1,28,28]");
  });

  it('rejects unknown input or output names as usage errors', async () => {
    expect((await runCli('run', 'examples/mlp.sinter', '--input', 'nope=x.npy')).status).toBe(2);
    expect((await runCli('run', 'examples/mlp.sinter', '--output', 'nope=x.npy')).status).toBe(2);
  });
});
