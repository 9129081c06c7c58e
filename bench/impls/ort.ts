// onnxruntime-node's side of a case: the ONNX file of the network (bench/onnx.ts) on its WebGPU execution provider.
//
// onnxruntime-node 1.30 ships the WebGPU provider in its linux-x64 binary (Dawn linked into
// libonnxruntime), so no browser build is needed. Every node of the network must run on that
// provider: a session that left some on the CPU would time a mixture, so the session is
// created with CPU fallback disabled and fails instead.

import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import type { CaseData } from '../data.js';
import type { Prepared } from '../measure.js';
import { NotAvailable, Unsupported } from '../measure.js';
import { ONNX_INPUT, ONNX_OUTPUT, onnxModel } from '../onnx.js';
import { adapterRecord } from './gpu.js';

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
