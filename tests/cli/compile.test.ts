// `sinter compile --target wgsl`: the executable on disk (manifest + one .wgsl per kernel, commented back to the DSL), both contraction forms, usage errors.
//
// Compiling needs no adapter, so these run everywhere; the WGSL itself runs in tests/webgpu.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

interface Manifest {
  format: string;
  kernels: { name: string; file: string; form: string; loc?: { file: string; line: number } }[];
  buffers: { byteOffset: number; space: number; type: { dtype: string }; placement: { kind: string } }[];
}

describe('sinter compile --target wgsl', () => {
  it('writes a manifest and one commented .wgsl file per kernel; --gemm picks the contraction form', { timeout: 60_000 }, async () => {
    const forms: Record<string, string[]> = {};
    for (const gemm of ['tiled', 'rows']) {
      const dir = join(mkdtempSync(join(tmpdir(), 'sinter-compile-')), 'out');
      const r = await runCli('compile', 'examples/fashion_cnn.sinter', '--train', '--batch', '4', '-o', dir, '--gemm', gemm);
      expect(r.status, r.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      expect(manifest.format).toBe('sinter-wgsl-1');
      expect(readdirSync(dir).sort()).toEqual([...manifest.kernels.map((k) => k.file), 'manifest.json'].sort());
      for (const k of manifest.kernels) {
        const source = readFileSync(join(dir, k.file), 'utf8');
        expect(source).toMatch(/@compute @workgroup_size\(/);
        expect(source.startsWith(`// Sinter kernel ${k.name} of @`), k.name).toBe(true);
        if (k.loc) expect(source).toContain(`examples/fashion_cnn.sinter:${k.loc.line}:`);
      }
      // Arena offsets respect WebGPU's default minStorageBufferOffsetAlignment.
      for (const b of manifest.buffers) expect(b.byteOffset % 256).toBe(0);
      forms[gemm] = manifest.kernels.map((k) => k.form).filter((f) => f.startsWith('gemm'));
    }
    expect(forms['tiled']!.length).toBeGreaterThan(0);
    expect(forms['rows']!.some((f) => f.startsWith('gemm-rows'))).toBe(true);
    expect(forms['tiled']!.some((f) => f.startsWith('gemm-rows'))).toBe(false);
  });

  it('records the precision and the feature f16 shaders need', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sinter-compile-')), 'out');
    expect((await runCli('compile', 'examples/mlp.sinter', '-o', dir, '--precision', 'f16')).status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest & { precision: string; requiredFeatures: string[] };
    expect(manifest).toMatchObject({ precision: 'f16', requiredFeatures: ['shader-f16'] });
    for (const k of manifest.kernels) expect(readFileSync(join(dir, k.file), 'utf8')).toContain('enable f16;');
  });

  it('with --storage f16, temporaries sit in a half arena that the manifest lists, and the shaders binding it (and only they) declare array<f16> and need shader-f16', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sinter-compile-')), 'out');
    expect((await runCli('compile', 'examples/mlp.sinter', '--train', '--batch', '8', '-o', dir, '--storage', 'f16')).status).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Omit<Manifest, 'kernels'> & { requiredFeatures: string[]; spaces: { space: number; role: string; element: string; bytes: number }[]; kernels: { file: string; bindings: number[]; features: string[] }[] };
    const half = m.spaces.filter((s) => s.role === 'half arena');
    expect(half).toEqual([expect.objectContaining({ element: 'f16' })]);
    expect(m.spaces.filter((s) => s.role !== 'half arena').every((s) => s.element === 'u32')).toBe(true);
    expect(m.requiredFeatures).toEqual(['shader-f16']);
    const halfBuffers = m.buffers.filter((b) => b.space === half[0]!.space);
    expect(halfBuffers.length).toBeGreaterThan(0);
    expect(halfBuffers.every((b) => b.placement.kind === 'half-arena' && b.type.dtype === 'f32')).toBe(true);
    const binding = m.kernels.filter((k) => k.bindings.includes(half[0]!.space));
    expect(binding.length).toBeGreaterThan(0);
    for (const k of m.kernels) {
      const source = readFileSync(join(dir, k.file), 'utf8');
      expect(source.includes('array<f16>'), k.file).toBe(k.bindings.includes(half[0]!.space));
      expect(k.features.includes('shader-f16'), k.file).toBe(k.bindings.includes(half[0]!.space));
    }
  });

  it('with --subgroups, the tree reductions need the feature subgroups, and the manifest says which kernels', { timeout: 60_000 }, async () => {
    const features = async (...flags: string[]) => {
      const dir = join(mkdtempSync(join(tmpdir(), 'sinter-compile-')), 'out');
      const r = await runCli('compile', 'examples/fashion_cnn.sinter', '--train', '--batch', '64', '-o', dir, ...flags);
      expect(r.status, r.stderr).toBe(0);
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { requiredFeatures: string[]; kernels: { form: string; features: string[]; file: string }[] };
      for (const k of m.kernels) expect(readFileSync(join(dir, k.file), 'utf8').includes('\nenable subgroups;\n'), k.file).toBe(k.features.includes('subgroups'));
      return { required: m.requiredFeatures, withSubgroups: m.kernels.filter((k) => k.features.includes('subgroups')).map((k) => k.form) };
    };
    const on = await features('--subgroups');
    expect(on.required).toEqual(['subgroups']);
    expect(on.withSubgroups.length).toBeGreaterThan(0);
    expect(on.withSubgroups.every((f) => /^tree \d+ x\d+ subgroups$/.test(f))).toBe(true);
    expect(await features()).toEqual({ required: [], withSubgroups: [] });
  });

  it('rejects an unknown target, contraction form, precision or storage as a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sinter-compile-'));
    for (const args of [['--target', 'spirv'], ['--gemm', 'wide'], ['--precision', 'f8'], ['--storage', 'bf16']]) {
      const r = await runCli('compile', 'examples/mlp.sinter', '-o', dir, ...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^error: --(target|gemm|precision|storage) must be/);
    }
    for (const flag of ['--precision', '--storage']) {
      const r = await runCli('run', 'examples/mlp.sinter', '--backend', 'cpu', flag, 'f16');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${flag} f16 applies to the webgpu backend, not 'cpu'`);
    }
  });
});
