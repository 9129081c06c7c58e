// The WebGPU backend over a device handed in by an adapter: compiles a graph (pipeline with WebGPU limits, WGSL lowering) into a WebgpuSession.
//
// Programs are compiled against WebGPU's default limits unless `limits: 'adapter'` asks for
// the device's own, so a program that runs here runs in every browser. No Node imports: the
// Node adapter (node.ts) and the browser adapter (browser.ts) create the device, both through
// requestDeviceFor, which asks for the features the options need.

/// <reference types="@webgpu/types" />

import type { Graph } from '../../compiler/ir/graph.js';
import { WGSL_DEFAULTS, limitsOfAdapter } from '../../compiler/lower/wgsl/limits.js';
import type { Precision } from '../../compiler/lower/wgsl/emit.js';
import type { WgslOptions, WgslProgram } from '../../compiler/lower/wgsl/lower.js';
import { lowerToWgsl } from '../../compiler/lower/wgsl/lower.js';
import { runPipeline } from '../../compiler/pipeline.js';
import type { Storage } from '../../compiler/kernel/target.js';
import type { KernelSource } from '../check/kernels.js';
import type { AsyncBackend } from '../session.js';
import { ShaderF16Unavailable } from './errors.js';
import type { WebgpuSessionOptions } from './session.js';
import { WebgpuSession } from './session.js';

export interface WebgpuOptions extends WebgpuSessionOptions {
  /** Compile for WebGPU's default limits (default) or the device's own. */
  readonly limits?: 'default' | 'adapter';
  /** How contractions are written (WgslOptions.gemm): the adapter (node.ts) asks for `rows` on a software adapter; `tiled` by default. */
  readonly gemm?: 'tiled' | 'rows';
  /**
   * The float type kernels compute in: `f32` (the default) or `f16`, which needs the
   * adapter's `shader-f16` feature (ShaderF16Unavailable otherwise). Storage is `storage`'s
   * choice, and sessions take and return f32 tensors either way; arithmetic is f16 but sums, means
   * and contractions accumulate in f32 and tanh, sigmoid, gelu and pow run in f32
   * (compiler/lower/wgsl/emit.ts). Expect about 3 significant digits (f16 rounding is 2^-11
   * relative) and constants below 6e-8 flushed to zero — an optimizer's epsilon of 1e-8
   * among them, so train with SGD or at f32.
   */
  readonly precision?: Precision;
  /**
   * How f32 temporaries are stored (WgslOptions.storage): `f32` (the default) or `f16`, in
   * a half arena of half the bytes (needs `shader-f16`). Inputs, params, optimizer state and
   * outputs stay f32, so sessions take and return the same tensors. Activations and
   * gradients between kernels of at least `halfMinElements` elements are rounded to f16
   * (about 2^-11 relative, as WGSL converts; magnitudes past f16's 65504 become infinite,
   * which the loss's finiteness check reports once they reach the loss, and those below
   * about 3e-8 zero); sums stay f32 (compiler/passes/memory-plan.ts says which values).
   */
  readonly storage?: Storage;
  /** With storage f16, the smallest temporary stored as f16 (default 1024 elements). */
  readonly halfMinElements?: number;
  /** Whether kernels use subgroup operations (WgslOptions.subgroups); by default, where the device has the `subgroups` feature. */
  readonly subgroups?: boolean;
}

/** Compiles a graph for WebGPU: the middle end with the target's limits (WebGPU's defaults unless given), then the WGSL lowering. */
export function compileForWebgpu(graph: Graph, options: WgslOptions = {}): WgslProgram {
  return compileForWebgpuWithSource(graph, options).program;
}

/** As compileForWebgpu, keeping the kernel program it lowered and the fused graph that program's node ids name (for `--check`). */
export function compileForWebgpuWithSource(graph: Graph, options: WgslOptions = {}): { program: WgslProgram; source: KernelSource } {
  const limits = options.limits ?? WGSL_DEFAULTS;
  const { state } = runPipeline(graph, { limits, storage: options.storage ?? 'f32', ...(options.halfMinElements !== undefined ? { halfMinElements: options.halfMinElements } : {}) });
  if (!state.program) throw new Error('internal: the pipeline produced no kernel program');
  return { program: lowerToWgsl(state.program, state.graph, { ...options, limits }), source: { program: state.program, graph: state.graph } };
}

/** What of the options needs `shader-f16`: f16 arithmetic, else f16 storage, else nothing. */
function halfUse(options: HalfOptions): 'precision' | 'storage' | null {
  return options.precision === 'f16' ? 'precision' : options.storage === 'f16' ? 'storage' : null;
}

/** The options that decide whether a device needs `shader-f16`. */
export type HalfOptions = Pick<WebgpuOptions, 'precision' | 'storage'>;

/** A device of an adapter with each of `timestamp-query`, `shader-f16` and `subgroups` the adapter has; ShaderF16Unavailable when precision or storage f16 needs what it lacks. */
export async function requestDeviceFor(adapter: GPUAdapter, options: HalfOptions = {}): Promise<GPUDevice> {
  const half = halfUse(options);
  if (half && !adapter.features.has('shader-f16')) throw new ShaderF16Unavailable(`the adapter (${adapterName(adapter)})`, half);
  // A plain string list: 'subgroups' is newer than the GPUFeatureName of @webgpu/types.
  const requiredFeatures = ['timestamp-query', 'shader-f16', 'subgroups'].filter((f) => adapter.features.has(f));
  return adapter.requestDevice({ requiredFeatures: requiredFeatures as GPUFeatureName[] });
}

function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info as GPUAdapterInfo | undefined;
  return [info?.vendor, info?.device || info?.description].filter((x) => x).join(' ') || 'unnamed';
}

export interface WebgpuBackend extends AsyncBackend {
  readonly device: GPUDevice;
  /** How its contractions are written (WebgpuOptions.gemm). */
  readonly gemm: 'tiled' | 'rows';
  /** Whether its kernels use subgroup operations (WebgpuOptions.subgroups). */
  readonly subgroups: boolean;
  /** Its arithmetic and storage types (WebgpuOptions.precision, .storage). */
  readonly precision: Precision;
  readonly storage: Storage;
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
  const precision = options.precision ?? 'f32';
  const storage = options.storage ?? 'f32';
  const half = halfUse(options);
  if (half && !device.features.has('shader-f16')) throw new ShaderF16Unavailable('the device (requested without it)', half);
  const subgroups = options.subgroups ?? device.features.has('subgroups');
  const sessionOptions: WebgpuSessionOptions = { ...options, debug: options.debug ?? envDebug() };
  return {
    name: 'webgpu',
    async: true,
    device,
    gemm: options.gemm ?? 'tiled',
    subgroups,
    precision,
    storage,
    load: (graph) => {
      const { program, source } = compileForWebgpuWithSource(graph, { limits, gemm: options.gemm ?? 'tiled', precision, storage, subgroups, ...(options.halfMinElements !== undefined ? { halfMinElements: options.halfMinElements } : {}) });
      return new WebgpuSession(graph, program, device, sessionOptions, source);
    },
  };
}
