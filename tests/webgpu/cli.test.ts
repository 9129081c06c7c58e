// The WebGPU backend from the command line: `run`, `train` and `eval --backend webgpu` agree with the cpu backend.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeTinyData } from '../helpers/tiny-data.js';
import { webgpu } from './support.js';

const sum = (out: string): number => Number(/sum=(\S+)/.exec(out)![1]);
const testLine = (out: string): [number, number] => {
  const m = /test loss (\S+) {2}test accuracy (\S+)/.exec(out)!;
  return [Number(m[1]), Number(m[2])];
};

describe.skipIf(!webgpu)('sinter --backend webgpu', () => {
  it('runs the Fashion CNN as the cpu backend does', { timeout: 120_000 }, async () => {
    const args = ['run', 'examples/fashion_cnn.sinter', '--batch', '2', '--seed', '3'];
    const [gpu, cpu] = [await runCli(...args, '--backend', 'webgpu'), await runCli(...args, '--backend', 'cpu')];
    expect(gpu.status, gpu.stderr).toBe(0);
    expect(Math.abs(sum(gpu.stdout) - sum(cpu.stdout))).toBeLessThan(1e-4 * Math.max(1, Math.abs(sum(cpu.stdout))));
  });

  it('runs in f16 arithmetic with --precision f16, within f16 rounding of f32', { timeout: 120_000 }, async () => {
    const args = ['run', 'examples/mlp.sinter', '--batch', '4', '--seed', '2', '--backend', 'webgpu'];
    const [half, full] = [await runCli(...args, '--precision', 'f16'), await runCli(...args)];
    expect(half.status, half.stderr).toBe(0);
    expect(half.stdout).not.toBe(full.stdout);
    expect(Math.abs(sum(half.stdout) - sum(full.stdout))).toBeLessThan(2e-2 * Math.max(1, Math.abs(sum(full.stdout))));
  });

  it('trains with --storage f16: the MLP\'s test loss within f16 rounding of float32 storage', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sinter-webgpu-cli-'));
    writeTinyData(join(dir, 'data'), 96, 40);
    const common = ['train', 'examples/mlp.sinter', '--data', join(dir, 'data'), '--epochs', '2', '--batch', '32', '--backend', 'webgpu'];
    const [half, full] = [await runCli(...common, '--storage', 'f16'), await runCli(...common)];
    expect(half.status, half.stderr).toBe(0);
    const [h, f] = [testLine(half.stdout), testLine(full.stdout)];
    expect(h[0]).not.toBe(f[0]);
    expect(Math.abs(h[0] - f[0])).toBeLessThan(2e-2 * Math.max(1, f[0]));
  });

  it('trains the MLP (loss read back every few steps) and evaluates its checkpoint as the cpu backend does', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sinter-webgpu-cli-'));
    writeTinyData(join(dir, 'data'), 96, 40);
    const common = ['examples/mlp.sinter', '--data', join(dir, 'data'), '--epochs', '2', '--batch', '32'];
    const gpu = await runCli('train', ...common, '--backend', 'webgpu', '--read-every', '2', '--save', join(dir, 'gpu.ckpt'));
    const cpu = await runCli('train', ...common, '--backend', 'cpu');
    expect(gpu.status, gpu.stderr).toBe(0);
    expect(gpu.stderr).toContain('backend webgpu');
    const [g, c] = [testLine(gpu.stdout), testLine(cpu.stdout)];
    expect(Math.abs(g[0] - c[0])).toBeLessThan(1e-3 * Math.max(1, c[0]));
    expect(g[1]).toBe(c[1]);
    const evaluated = await runCli('eval', 'examples/mlp.sinter', '--data', join(dir, 'data'), '--batch', '32', '--load', join(dir, 'gpu.ckpt'), '--backend', 'webgpu');
    expect(evaluated.status, evaluated.stderr).toBe(0);
    expect(testLine(evaluated.stdout)).toEqual(g);
  });
});
