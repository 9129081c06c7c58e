// WebGPU in Node for the benchmark: Dawn (the `webgpu` package) as `navigator.gpu`, the adapter each figure ran on, and onnxruntime's WebGPU peer.
//
// Every WebGPU implementation of a case runs on the adapter Dawn picks by default, so the
// record made here names the device its figures were measured on. On a software adapter
// (Mesa lavapipe) the figures compare compilers on one CPU-emulated device, not GPU speed.
//
// onnxruntime-node 1.30 ships its WebGPU provider in the linux-x64 binary (Dawn linked into
// libonnxruntime), so no browser build is needed. Every node of the network must run on that
// provider: a session that left some on the CPU would time a mixture, so the session is
// created with CPU fallback disabled and fails instead.

import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import type { CaseData } from '../data.js';
import type { Prepared } from '../measure.js';
import { NotAvailable, Unsupported } from '../measure.js';
import { ONNX_INPUT, ONNX_OUTPUT, onnxModel } from '../onnx.js';
import type { AdapterRecord } from '../results.js';

/**
 * fp32 peak (GFLOP/s, FMA counted as two) of GPUs the device machine may lend, matched on the
 * adapter's description; the matmul figure is reported as a fraction of it. Vendor figures:
 * H100/H200 SXM 67 TFLOP/s, H100 PCIe 51, A100 19.5, L4 30.3, L40S 91.6.
 */
const FP32_PEAKS: readonly { readonly pattern: RegExp; readonly gflops: number }[] = [
  { pattern: /H200/i, gflops: 67_000 },
  { pattern: /H100.*PCIe/i, gflops: 51_200 },
  { pattern: /H100/i, gflops: 67_000 },
  { pattern: /A100/i, gflops: 19_500 },
  { pattern: /L40S/i, gflops: 91_600 },
  { pattern: /\bL4\b/i, gflops: 30_300 },
];

/** The fp32 peak of a known GPU from its adapter strings; null for anything else (lavapipe included). */
export function fp32Peak(description: string): number | null {
  return FP32_PEAKS.find((p) => p.pattern.test(description))?.gflops ?? null;
}

let installed: GPU | null = null;

/**
 * Installs Dawn as `navigator.gpu`, with WebGPU's globals (`GPUBufferUsage`, `GPUMapMode`, …,
 * which TF.js reads as a browser provides them), once per process, before any WebGPU library
 * is loaded.
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
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(info.description);
  // Some drivers leave the model out of the adapter strings; bench/device/run.sh passes nvidia-smi's name.
  const peak = fallback ? null : fp32Peak(`${info.description} ${info.device} ${process.env['SINTER_GPU_NAME'] ?? ''}`);
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, fallback, peakGflops: peak };
}

// onnxruntime's WebGPU provider.

type OrtModule = typeof Ort;

function loadOrt(): OrtModule {
  try {
    // A CommonJS package whose native binding loads at require time.
    return createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
  } catch (e) {
    throw new NotAvailable(`onnxruntime-node does not load: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function prepareOrt(d: CaseData): Promise<Prepared> {
  if (d.kind !== 'infer') throw new Unsupported('the benchmark runs onnxruntime for inference only');
  const ort = loadOrt();
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled)) throw new NotAvailable('this onnxruntime-node build has no WebGPU execution provider');
  process.env['XDG_RUNTIME_DIR'] ??= '/tmp';
  const bytes = onnxModel(d.model, d.weights, d.batch);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['webgpu'],
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  });
  // onnxruntime's Dawn picks its adapter the way the webgpu package's Dawn does; asked after the
  // session exists so the two Dawn instances never start side by side.
  const adapter = await adapterRecord();
  const [c, h, w] = d.model.input;
  const feeds = { [ONNX_INPUT]: new ort.Tensor('float32', d.image, [d.batch, c, h, w]) };
  return {
    threads: null,
    adapter,
    note: null,
    step: async () => {
      const out = await session.run(feeds);
      const logits = out[ONNX_OUTPUT];
      if (!logits) throw new Error(`internal: the ONNX session returned no '${ONNX_OUTPUT}'`);
      return (logits.data as Float32Array)[0]!;
    },
  };
}
