// The Node adapter of the WebGPU backend: a Dawn device from the `webgpu` package (a software adapter such as Mesa lavapipe where there is no GPU).
//
// The `webgpu` package is imported lazily, so loading Sinter does not load Dawn. Dawn's
// Vulkan loader wants XDG_RUNTIME_DIR; it is set to the temp directory when missing.
// `timestamp-query` is requested when the adapter has it (per-kernel times at SINTER_DEBUG=2),
// `shader-f16` too (WebgpuOptions.precision and .storage 'f16' need it), and `subgroups` (used by default
// where the device has it: WebgpuOptions.subgroups).
// On a software adapter (lavapipe) contractions are written in the form made for CPUs
// (compiler/lower/wgsl/gemm-rows.ts).

/// <reference types="@webgpu/types" />

import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { HalfOptions, WebgpuBackend, WebgpuOptions } from './backend.js';
import { createWebgpuBackend, gemmFormFor, requestDeviceFor } from './backend.js';

export interface NodeWebgpuOptions extends WebgpuOptions {
  /** Dawn toggles and options, as the `webgpu` package's `create` takes them (default none). */
  readonly dawn?: readonly string[];
}

let gpu: GPU | null = null;

/** The `navigator.gpu` of Dawn in Node, created once per process. */
export async function nodeGpu(dawn: readonly string[] = []): Promise<GPU> {
  if (gpu) return gpu;
  process.env['XDG_RUNTIME_DIR'] ??= tmpdir();
  const webgpu = (await import('webgpu')) as unknown as { create(options: string[]): GPU; globals: Record<string, unknown> };
  // Dawn's objects refer to these constructors (GPUBufferUsage, …) as globals.
  Object.assign(globalThis, webgpu.globals);
  gpu = webgpu.create([...dawn]);
  return gpu;
}

/** The first adapter Dawn finds and a device of it, or null when there is none; ShaderF16Unavailable when precision or storage f16 is asked of an adapter without `shader-f16`. */
export async function requestNodeDevice(dawn: readonly string[] = [], half: HalfOptions = {}): Promise<{ adapter: GPUAdapter; device: GPUDevice } | null> {
  const adapter = await (await nodeGpu(dawn)).requestAdapter();
  if (!adapter) return null;
  return { adapter, device: await requestDeviceFor(adapter, half) };
}

/**
 * Whether a GPU driver's device node exists. On Linux a GPU is reached through a DRM render
 * node, NVIDIA's device or WSL's; without one, only a software adapter could answer, and
 * asking Dawn costs a second and prints its warnings, so the default backend does not ask.
 */
function gpuDeviceNode(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/** Whether Dawn finds an adapter that is a GPU (not a software fallback such as lavapipe). */
export async function hasHardwareAdapter(): Promise<boolean> {
  if (!gpuDeviceNode()) return false;
  try {
    const adapter = await (await nodeGpu()).requestAdapter();
    const info = adapter?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
    return adapter !== null && adapter !== undefined && info?.isFallbackAdapter !== true;
  } catch {
    return false;
  }
}

/** The WebGPU backend on Dawn, or null when no adapter is found (no GPU and no software Vulkan driver). */
export async function createNodeWebgpuBackend(options: NodeWebgpuOptions = {}): Promise<WebgpuBackend | null> {
  const found = await requestNodeDevice(options.dawn, options);
  if (!found) return null;
  return createWebgpuBackend(found.device, { gemm: gemmFormFor(found.adapter), ...options });
}
