// Compile-time limit checks of the WGSL lowering: each WebGPU limit exceeded by one gets the compiler's fix (retiling, a 2-D grid) or a diagnostic naming the limit — never a GPU validation error.
//
// These tests compile only (no adapter needed): the limits are lowered so that small graphs
// exceed them by one (a limit of L where the program needs L + 1).

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import type { WgslLimits } from '../../compiler/lower/wgsl/limits.js';
import { WGSL_DEFAULTS, WgslLimitError } from '../../compiler/lower/wgsl/limits.js';
import { compileForWebgpu } from '../../runtime/webgpu/backend.js';

function matmul(m: number, k: number, n: number): Graph {
  const b = new GraphBuilder('mm');
  const x = b.input('x', { dtype: 'f32', shape: [m, k] });
  const w = b.input('w', { dtype: 'f32', shape: [k, n] });
  b.output('y', b.op('relu', [b.op('matmul', [x, w], { transpose_a: false, transpose_b: false })]));
  return b.build();
}

function elementwise(n: number): Graph {
  const b = new GraphBuilder('ew');
  const x = b.input('x', { dtype: 'f32', shape: [n] });
  b.output('y', b.op('exp', [x]));
  return b.build();
}

const limits = (over: Partial<WgslLimits>): WgslLimits => ({ ...WGSL_DEFAULTS, ...over });

function limitError(f: () => unknown): WgslLimitError {
  try {
    f();
  } catch (e) {
    if (e instanceof WgslLimitError) return e;
    throw e;
  }
  throw new Error('expected a WgslLimitError');
}

describe('WGSL limits at compile time', () => {
  it('retiles a GEMM whose 64x64x16 tiles (8 KiB) exceed workgroup storage by one byte', () => {
    const p = compileForWebgpu(matmul(64, 64, 64), { limits: limits({ maxWorkgroupBytes: 8191 }) });
    const gemm = p.kernels.find((k) => k.form.startsWith('gemm'))!;
    const [, tm, tn, kt] = /tiles (\d+)x(\d+)x(\d+)/.exec(gemm.form)!.map(Number);
    expect((tm! + tn!) * kt! * 4).toBeLessThanOrEqual(8191);
  });

  it('shrinks workgroups when 256 invocations exceed the limit by one', () => {
    const p = compileForWebgpu(matmul(64, 64, 64), { limits: limits({ maxInvocations: 255 }) });
    for (const k of p.kernels) expect(k.workgroupSize.reduce((a, b) => a * b, 1)).toBeLessThanOrEqual(255);
  });

  it('uses a 2-D grid when the workgroups of a dimension exceed the limit by one', () => {
    const p = compileForWebgpu(elementwise(256 * 65536));
    const k = p.kernels[0]!;
    expect(k.dispatch[0]).toBeLessThanOrEqual(65535);
    expect(k.dispatch[0]! * k.dispatch[1]! * 256).toBeGreaterThanOrEqual(256 * 65536);
  });

  it('names the limit when even a 2-D grid exceeds the workgroups per dimension', () => {
    const e = limitError(() => compileForWebgpu(elementwise(256 * 4 * 4 + 1), { limits: limits({ maxWorkgroupsPerDim: 4 }) }));
    expect(e.limit).toBe('maxComputeWorkgroupsPerDimension');
    expect(e.needed).toBe(5);
  });

  it('names the limit, the tensor and a fix when a tensor exceeds the binding size by one element', () => {
    const b = new GraphBuilder('big');
    b.output('y', b.op('sum', [b.input('x', { dtype: 'f32', shape: [257] })], { axes: [0], keepdims: false }));
    const e = limitError(() => compileForWebgpu(b.build(), { limits: limits({ maxBindingBytes: 1024 }) }));
    expect(e.limit).toBe('maxStorageBufferBindingSize');
    expect(e.message).toContain("input 'x'");
    expect(e.hint).toMatch(/split|limits/);
  });

  it('names the limit when a kernel needs one more storage binding than allowed', () => {
    const e = limitError(() => compileForWebgpu(elementwise(16), { limits: limits({ maxStorageBindings: 1 }) }));
    expect(e.limit).toBe('maxStorageBuffersPerShaderStage');
    expect(e.needed).toBe(2);
  });

  it('binds at most two memory spaces for a kernel reading nine tensors (the 8-binding limit does not bind fusion)', () => {
    const b = new GraphBuilder('wide');
    const xs = Array.from({ length: 9 }, (_, i) => b.input(`x${i}`, { dtype: 'f32', shape: [8] }));
    b.output('y', xs.slice(1).reduce((acc, x) => b.op('add', [acc, x]), xs[0]!));
    const p = compileForWebgpu(b.build());
    for (const k of p.kernels) expect(k.spaces.length).toBeLessThanOrEqual(2);
  });
});
