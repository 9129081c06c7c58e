// WebgpuOptions.precision 'f16': the example models' forward passes against the cpu backend within f16's tolerance, an f16 SGD step that lowers the loss, and the named error without `shader-f16`.
//
// f16 rounds to 2^-11 relative; with sums and contractions accumulating in f32, a forward
// pass of a few layers stays within rtol 1e-2, atol 1e-2 × the output's largest magnitude
// of the float32 result (the cpu backend, which matches the reference interpreter). That the
// kernels really compute in f16 is checked too: the f16 outputs differ from the f32 WebGPU
// outputs somewhere, and every shader enables f16. The train step uses SGD: Adam's epsilon
// (1e-8) is below f16's smallest subnormal (WebgpuOptions.precision).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { compileSource } from '../../dsl/frontend.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import { compileForWebgpu, createWebgpuBackend, requestDeviceFor } from '../../runtime/webgpu/backend.js';
import { allCloseReport, maxAbs } from '../helpers/allclose.js';
import { trainStepFeeds } from '../helpers/example-steps.js';
import { gpu, webgpu } from './support.js';

const EXAMPLES = ['mlp', 'fashion_cnn'] as const;

function forward(name: string, batch: number): Graph {
  const file = `examples/${name}.sinter`;
  const r = compileSource(readFileSync(file, 'utf8'), file, { dims: { batch }, mode: 'infer' });
  if (!r.graph || r.diagnostics.length > 0) throw new Error(`${file} does not compile`);
  return r.graph;
}

function randomInputs(graph: Graph, seed: string): Map<string, Tensor> {
  const rng = rngFor(7, seed);
  return new Map(graph.inputs.map((i): [string, Tensor] => [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: numel(i.type.shape) }, () => rng.nextFloat()))]));
}

async function runOn(precision: 'f32' | 'f16', graph: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  const s = gpu({ watch: [], precision }).load(graph);
  try {
    s.setParams(params);
    return await s.run(inputs, graph.outputs.map((o) => o.name));
  } finally {
    s.destroy();
  }
}

describe.skipIf(!webgpu?.device.features.has('shader-f16'))('precision f16 on the adapter', () => {
  for (const name of EXAMPLES) {
    it(`${name}: the forward pass at batch 4 matches float32 within rtol 1e-2, atol 1e-2 × scale`, async () => {
      const graph = forward(name, 4);
      const params = initParams(graph, 5);
      const inputs = randomInputs(graph, name);
      expect(compileForWebgpu(graph, { gemm: webgpu!.gemm, precision: 'f16' }).kernels.every((k) => k.source.includes('\nenable f16;\n'))).toBe(true);
      const half = await runOn('f16', graph, inputs, params);
      const single = await runOn('f32', graph, inputs, params);
      const cpu = cpuBackend.load(graph);
      cpu.setParams(params);
      const want = cpu.run(inputs, graph.outputs.map((o) => o.name));
      for (const [out, w] of want) {
        const h = half.get(out)!;
        expect(h.type).toEqual(w.type);
        const report = allCloseReport(h, w, { rtol: 1e-2, atol: 1e-2 * Math.max(1e-6, maxAbs(w)) });
        if (report) expect.fail(`output '${out}': ${report}`);
        expect(Array.from(h.data).some((x, i) => x !== single.get(out)!.data[i])).toBe(true);
      }
    });
  }

  it('mlp: SGD train steps in f16 lower the loss on a batch, the first loss within 1e-2 of float32', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sinter-webgpu-f16-'));
    const source = readFileSync('examples/mlp.sinter', 'utf8').replace(/optimizer\s*=\s*\w+\([^)]*\)/, 'optimizer = sgd(lr: 1e-1)');
    writeFileSync(join(dir, 'mlp.sinter'), source);
    const model = await loadTrainingModel(join(dir, 'mlp.sinter'), undefined);
    const graph = model.graphs.train(4);
    const inputs = trainStepFeeds(graph, model.names, rngFor(11, 'f16-train'), { lr: 1e-1 });
    const params = initParams(graph, 5);
    const cpu = cpuBackend.load(graph);
    cpu.setParams(params);
    const reference = cpu.run(inputs, [model.names.loss]).get(model.names.loss)!.data[0]!;
    const s = gpu({ precision: 'f16' }).load(graph);
    try {
      s.setParams(params);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) losses.push((await s.run(inputs, [model.names.loss])).get(model.names.loss)!.data[0]!);
      expect(Math.abs(losses[0]! - reference)).toBeLessThanOrEqual(1e-2 * Math.max(1, Math.abs(reference)));
      expect(losses[3]!).toBeLessThan(losses[0]! * 0.9);
      const trained = await s.getParams();
      expect([...trained.values()].every((t) => t.type.dtype !== 'f32' || Array.from(t.data).every(Number.isFinite))).toBe(true);
    } finally {
      s.destroy();
    }
  });
});

describe('precision f16 without shader-f16', () => {
  it('an adapter without the feature gives ShaderF16Unavailable before a device is requested', async () => {
    let requested = false;
    const adapter = {
      features: new Set<string>(['timestamp-query']),
      info: { vendor: 'fake', device: 'no-f16' },
      requestDevice: () => {
        requested = true;
        return Promise.reject(new Error('not reached'));
      },
    } as unknown as GPUAdapter;
    await expect(requestDeviceFor(adapter, { precision: 'f16' })).rejects.toMatchObject({ name: 'ShaderF16Unavailable', message: expect.stringContaining("'shader-f16'") });
    expect(requested).toBe(false);
  });

  it('a device without the feature gives ShaderF16Unavailable at createWebgpuBackend', () => {
    const device = { features: new Set<string>(), limits: {} } as unknown as GPUDevice;
    expect(() => createWebgpuBackend(device, { precision: 'f16' })).toThrow(/precision 'f16' needs the WebGPU feature 'shader-f16'/);
    expect(() => createWebgpuBackend(device, { precision: 'f16' })).toThrowError(expect.objectContaining({ name: 'ShaderF16Unavailable' }));
  });
});
