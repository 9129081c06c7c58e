// The browser adapter of the WebGPU backend: a device from `navigator.gpu`, or null where the browser has no WebGPU.

/// <reference types="@webgpu/types" />

import type { WebgpuBackend, WebgpuOptions } from './backend.js';
import { createWebgpuBackend, gemmFormFor, requestDeviceFor } from './backend.js';

export async function createBrowserWebgpuBackend(options: WebgpuOptions = {}): Promise<WebgpuBackend | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  return createWebgpuBackend(await requestDeviceFor(adapter, options), { gemm: gemmFormFor(adapter), ...options });
}
