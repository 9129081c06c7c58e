// Which contraction form a program gets: `rows` on software adapters, `tiled` on GPUs, and the lowering writing each (or falling back to tiles).

import { describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { compileForWebgpu, gemmFormFor } from '../../runtime/webgpu/backend.js';

/** An adapter as far as gemmFormFor reads one. */
const adapter = (info: Record<string, unknown>): GPUAdapter => ({ info }) as unknown as GPUAdapter;

function matmulGraph(m: number, k: number, n: number) {
  const b = new GraphBuilder('mm');
  const x = b.input('x', { dtype: 'f32', shape: [m, k] });
  const w = b.input('w', { dtype: 'f32', shape: [k, n] });
  b.output('y', b.op('matmul', [x, w], { transpose_a: false, transpose_b: false }));
  return b.build();
}

describe('contraction forms', () => {
  it.each([
    ['a fallback adapter', { isFallbackAdapter: true }, 'rows'],
    ['lavapipe by architecture', { architecture: 'software', device: '' }, 'rows'],
    ['llvmpipe by name', { device: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, 'rows'],
    ['SwiftShader by description', { description: 'SwiftShader Device (Subzero)' }, 'rows'],
    ['a GPU', { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200' }, 'tiled'],
  ] as const)('%s gets %s', (_name, info, want) => {
    expect(gemmFormFor(adapter(info))).toBe(want);
  });

  it('writes a matmul in the form asked for, the rows form with its block in the kernel form', () => {
    const g = matmulGraph(37, 29, 53);
    const tiled = compileForWebgpu(g).kernels.map((k) => k.form);
    const rows = compileForWebgpu(g, { gemm: 'rows' }).kernels.map((k) => k.form);
    expect(tiled.some((f) => f.startsWith('gemm 37x53x29'))).toBe(true);
    expect(rows.some((f) => f.startsWith('gemm-rows 37x53x29 block 8x') && f.endsWith('uniform rows'))).toBe(true);
    expect(rows.some((f) => f.startsWith('gemm '))).toBe(false);
  });

  it('makes the operand with fewer reads the uniform one: both ways in the Fashion CNN train step', async () => {
    const model = await loadTrainingModel('examples/fashion_cnn.sinter', undefined);
    const forms = compileForWebgpu(model.graphs.train(4), { gemm: 'rows' }).kernels.map((k) => k.form);
    // The filter gradients read image patches (one load) against the ReLU-masked output gradient (three).
    expect(forms.filter((f) => /^gemm-rows .*conv|uniform cols$/.test(f)).length).toBeGreaterThanOrEqual(2);
    expect(forms.some((f) => f.endsWith('uniform rows'))).toBe(true);
  });

  it('with subgroups, gives a GEMM of few columns the 8 lanes its broadcasts need (4 invocations cover 9 columns without)', () => {
    const g = matmulGraph(64, 16, 9);
    const rows = (subgroups: boolean) => compileForWebgpu(g, { gemm: 'rows', subgroups }).kernels.find((x) => x.form.startsWith('gemm-rows'))!;
    expect(rows(false).workgroupSize).toEqual([4, 1, 1]);
    expect(rows(true).workgroupSize).toEqual([8, 1, 1]);
    expect(rows(true).form).toMatch(/, broadcast$/);
  });

  it('spreads 288 columns over 9 workgroups of 8 invocations, not 2 of 64 (fewest unused columns)', () => {
    const k = compileForWebgpu(matmulGraph(64, 16, 288), { gemm: 'rows' }).kernels.find((x) => x.form.startsWith('gemm-rows'))!;
    expect(k.workgroupSize).toEqual([8, 1, 1]);
    expect(k.dispatch).toEqual([9, 8, 1]);
  });
});
