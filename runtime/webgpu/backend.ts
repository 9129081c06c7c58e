// The WebGPU backend over a device handed in by an adapter: compiles a graph (pipeline with WebGPU limits, WGSL lowering) into a WebgpuSession.
//
// Programs are compiled against WebGPU's default limits unless `limits: 'adapter'` asks for
// the device's own, so a program that runs here runs in every browser. No Node imports: the
// Node adapter (node.ts) and the browser adapter (browser.ts) create the device.

/// <reference types="@webgpu/types" />

import type { Graph } from '../../compiler/ir/graph.js';
import type { WgslLimits } from '../../compiler/lower/wgsl/limits.js';
import { WGSL_DEFAULTS, limitsOfAdapter } from '../../compiler/lower/wgsl/limits.js';
import type { WgslProgram } from '../../compiler/lower/wgsl/lower.js';
import { lowerToWgsl } from '../../compiler/lower/wgsl/lower.js';
import { runPipeline } from '../../compiler/pipeline.js';
import type { AsyncBackend } from '../session.js';
import type { WebgpuSessionOptions } from './session.js';
import { WebgpuSession } from './session.js';

export interface WebgpuOptions extends WebgpuSessionOptions {
  /** Compile for WebGPU's default limits (default) or the device's own. */
  readonly limits?: 'default' | 'adapter';
  /** How contractions are written (WgslOptions.gemm): the adapter (node.ts) asks for `rows` on a software adapter; `tiled` by default. */
  readonly gemm?: 'tiled' | 'rows';
}

/** Compiles a graph for WebGPU: the middle end with the target's limits, then the WGSL lowering. */
export function compileForWebgpu(graph: Graph, limits: WgslLimits = WGSL_DEFAULTS, gemm: 'tiled' | 'rows' = 'tiled'): WgslProgram {
  const { state } = runPipeline(graph, { limits });
  if (!state.program) throw new Error('internal: the pipeline produced no kernel program');
  return lowerToWgsl(state.program, state.graph, { limits, gemm });
}

export interface WebgpuBackend extends AsyncBackend {
  readonly device: GPUDevice;
  /** How its contractions are written (WebgpuOptions.gemm). */
  readonly gemm: 'tiled' | 'rows';
  load(graph: Graph): WebgpuSession;
}

/** The contraction form for an adapter: `rows` where it emulates a GPU on the CPU (Mesa lavapipe, SwiftShader; compiler/lower/wgsl/gemm-rows.ts), else `tiled`. */
export function gemmFormFor(adapter: GPUAdapter): 'tiled' | 'rows' {
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  const software = info?.isFallbackAdapter === true || info?.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info?.device ?? ''} ${info?.description ?? ''}`);
  return software ? 'rows' : 'tiled';
}

/** The SINTER_DEBUG level of the environment, where there is one (Node); 0 in a browser. */
function envDebug(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return Number(env?.['SINTER_DEBUG'] ?? 0) || 0;
}

export function createWebgpuBackend(device: GPUDevice, options: WebgpuOptions = {}): WebgpuBackend {
  const limits = options.limits === 'adapter' ? limitsOfAdapter(device.limits) : WGSL_DEFAULTS;
  const sessionOptions: WebgpuSessionOptions = { ...options, debug: options.debug ?? envDebug() };
  return {
    name: 'webgpu',
    async: true,
    device,
    gemm: options.gemm ?? 'tiled',
    load: (graph) => new WebgpuSession(graph, compileForWebgpu(graph, limits, options.gemm), device, sessionOptions),
  };
}
