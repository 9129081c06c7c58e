// WebGPU in Node for the benchmark: Dawn (the `webgpu` package) installed as `navigator.gpu`, and what the adapter says it is.
//
// Every WebGPU implementation of a case runs on the adapter Dawn picks by default, so the
// record made here names the device its figures were measured on. On a software adapter
// (Mesa lavapipe) the figures compare compilers on one CPU-emulated device, not GPU speed.

import type { AdapterRecord } from '../results.js';
import { NotAvailable } from '../measure.js';

/**
 * fp32 peak (GFLOP/s, FMA counted as two) of GPUs the device machine may lend, matched on the
 * adapter's description; the matmul figure is reported as a fraction of it. Vendor figures:
 * H100/H200 SXM 67 TFLOP/s, H100 PCIe 51, A100 19.5, L4 30.3, L40S 91.6.
 */
const FP32_PEAKS: readonly { readonly pattern: RegExp; readonly gflops: number; readonly name: string }[] = [
  { pattern: /H200/i, gflops: 67_000, name: 'NVIDIA H200 (SXM)' },
  { pattern: /H100.*PCIe/i, gflops: 51_200, name: 'NVIDIA H100 PCIe' },
  { pattern: /H100/i, gflops: 67_000, name: 'NVIDIA H100 (SXM)' },
  { pattern: /A100/i, gflops: 19_500, name: 'NVIDIA A100' },
  { pattern: /L40S/i, gflops: 91_600, name: 'NVIDIA L40S' },
  { pattern: /\bL4\b/i, gflops: 30_300, name: 'NVIDIA L4' },
];

/** The fp32 peak of a known GPU from its adapter strings; null for anything else (lavapipe included). */
export function fp32Peak(description: string): { gflops: number; name: string } | null {
  const hit = FP32_PEAKS.find((p) => p.pattern.test(description));
  return hit ? { gflops: hit.gflops, name: hit.name } : null;
}

let installed: GPU | null = null;

/**
 * Installs Dawn as `navigator.gpu` (and WebGPU's global classes, which TF.js and onnxruntime-web
 * test with `instanceof`) once per process, before any WebGPU library is loaded.
 */
export async function installNodeGpu(): Promise<GPU> {
  if (installed) return installed;
  // Dawn's Vulkan loader wants a runtime directory; an unset one prints warnings on every start.
  process.env['XDG_RUNTIME_DIR'] ??= '/tmp';
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new NotAvailable(`the 'webgpu' package (Dawn for Node) does not load: ${e instanceof Error ? e.message : String(e)}`);
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  // Node 20 has no `navigator`; from Node 21 it is a getter-only global, hence defineProperty.
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  Object.defineProperty(nav, 'userAgent', { value: (nav as { userAgent?: string }).userAgent ?? `Node.js/${process.versions.node}`, configurable: true });
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  installed = gpu;
  return gpu;
}

/** The adapter Dawn picks, described for the results; NotAvailable when there is none. */
export async function adapterRecord(): Promise<AdapterRecord> {
  const gpu = await installNodeGpu();
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new NotAvailable('no WebGPU adapter: install a Vulkan driver (Mesa lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers)');
  const info = adapter.info;
  const peak = fp32Peak(`${info.description} ${info.device}`);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    fallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(info.description),
    peakGflops: peak?.gflops ?? null,
  };
}
