// The benchmark's WebGPU side without a GPU: the ONNX encoder (checked on onnxruntime's CPU provider), devices, adapters, async Sinter backends.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import type { AsyncBackend } from '../../runtime/session.js';
import { applies, CASES, caseById, implDevice, parseArgs } from '../../bench/cases.js';
import type { ModelData } from '../../bench/data.js';
import { caseData } from '../../bench/data.js';
import { fp32Peak } from '../../bench/impls/webgpu.js';
import { prepareSinterEntry } from '../../bench/impls/sinter.js';
import { NotAvailable } from '../../bench/measure.js';
import { ONNX_INPUT, ONNX_OUTPUT, onnxModel, ProtoWriter } from '../../bench/onnx.js';
import type { AdapterRecord, BenchFile, CaseResult } from '../../bench/results.js';
import { adapterNotes, formatTable, median, RESULTS_SCHEMA, validateBenchFile } from '../../bench/results.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const LAVAPIPE: AdapterRecord = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', fallback: true, peakGflops: null };
const H200: AdapterRecord = { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA H200', fallback: false, peakGflops: 67_000 };

function result(over: Partial<CaseResult> & Pick<CaseResult, 'case' | 'impl'>): CaseResult {
  const runs = over.runs ?? (over.status === undefined || over.status === 'ok' ? [10] : []);
  return { status: 'ok', unit: 'samples/s', size: 'batch 64', figure: runs.length ? median(runs) : null, runs, stepsPerRun: 1, warmupSteps: 2, threads: null, check: null, note: null, reason: null, seconds: 1, ...over };
}

function file(results: CaseResult[]): BenchFile {
  return { schema: RESULTS_SCHEMA, date: '2026-01-02T03:04:05.000Z', command: 'npm run bench', host: { kind: 'linux-x64-2cpu', cpuModel: 'Test CPU', cpus: 2, node: '20.0.0', loadavg: [0, 0, 0] }, options: { quick: false, includeSlow: false }, results };
}

describe('protobuf writer', () => {
  it('writes tags, varints, strings and packed repeated fields as the protobuf wire format does', () => {
    // Tag = field·8 + wire type; 300 = 0b10_0101100 → low 7 bits with the continuation bit (0xAC), then 2.
    expect([...new ProtoWriter().int(1, 300).finish()]).toEqual([0x08, 0xac, 0x02]);
    expect([...new ProtoWriter().string(2, 'hi').finish()]).toEqual([0x12, 0x02, 0x68, 0x69]);
    expect([...new ProtoWriter().packed(8, [1, 300]).finish()]).toEqual([0x42, 0x03, 0x01, 0xac, 0x02]);
    expect([...new ProtoWriter().message(7, new ProtoWriter().int(1, 0)).finish()]).toEqual([0x3a, 0x02, 0x08, 0x00]);
  });

  it('refuses a negative or fractional varint as a broken invariant', () => {
    expect(() => new ProtoWriter().int(1, -1)).toThrow(/internal: protobuf varint/);
    expect(() => new ProtoWriter().int(1, 1.5)).toThrow(/internal: protobuf varint/);
  });
});

describe('the ONNX file of a benchmark model', () => {
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

  /** The network on onnxruntime's CPU provider and on Sinter's reference interpreter, same weights and batch. */
  async function bothOutputs(caseId: string, batch: number): Promise<{ onnx: Float32Array; sinter: Float32Array }> {
    const d = caseData(caseById(caseId)!, batch, ROOT) as ModelData;
    const session = await ort.InferenceSession.create(onnxModel(d.model, d.weights, batch), { executionProviders: ['cpu'] });
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', d.image, [batch, ...d.model.input]) });
    const params = d.forward.params.filter((p) => p.trainable);
    const weights = new Map<string, Tensor>();
    d.weights.forEach((lw, i) => {
      weights.set(params[2 * i]!.name, { type: params[2 * i]!.type, data: lw.w });
      weights.set(params[2 * i + 1]!.name, { type: params[2 * i + 1]!.type, data: lw.b });
    });
    const ref = referenceBackend.load(d.forward);
    ref.setParams(weights);
    const name = d.forward.outputs[0]!.name;
    const input: Tensor = { type: d.forward.inputs[0]!.type, data: d.image };
    const logits = ref.run(new Map([[d.forward.inputs[0]!.name, input]]), [name]).get(name)!;
    return { onnx: out[ONNX_OUTPUT]!.data as Float32Array, sinter: logits.data as Float32Array };
  }

  it.each(['cnn-infer', 'mlp-train'])('computes the same logits as the Sinter example (%s)', async (caseId) => {
    const { onnx, sinter } = await bothOutputs(caseId, 2);
    expect(onnx).toHaveLength(sinter.length);
    const scale = Math.max(...sinter.map(Math.abs));
    for (let i = 0; i < sinter.length; i++) expect(Math.abs(onnx[i]! - sinter[i]!)).toBeLessThan(1e-4 * scale);
  });
});

describe('devices', () => {
  it('puts the WebGPU peers and sinter-webgpu on webgpu, everything else on the CPU', () => {
    expect(['sinter-webgpu', 'tfjs-webgpu', 'ort-webgpu'].map(implDevice)).toEqual(['webgpu', 'webgpu', 'webgpu']);
    expect(['sinter-ref', 'sinter-cpu', 'tfjs-wasm', 'jax-wasm'].map(implDevice)).toEqual(['cpu', 'cpu', 'cpu', 'cpu']);
  });

  it('runs matmul 4096 only on WebGPU and only when asked; onnxruntime only on inference', () => {
    expect(applies('tfjs-webgpu', 'matmul-4096')).toBe(true);
    expect(applies('sinter-webgpu', 'matmul-4096')).toBe(true);
    expect(applies('tfjs-wasm', 'matmul-4096')).toBe(false);
    expect(parseArgs([], ['ref']).cases.map((c) => c.id)).not.toContain('matmul-4096');
    expect(parseArgs(['--cases', 'matmul-4096'], ['ref']).cases.map((c) => c.id)).toEqual(['matmul-4096']);
    expect(CASES.filter((c) => applies('ort-webgpu', c.id)).map((c) => c.id)).toEqual(['cnn-infer']);
  });

  it('knows the fp32 peak of the GPUs it may be lent, and none of a software adapter', () => {
    expect(fp32Peak('NVIDIA H200')).toBe(67_000);
    expect(fp32Peak('NVIDIA H100 PCIe')).toBe(51_200);
    expect(fp32Peak(LAVAPIPE.description)).toBeNull();
  });
});

describe('WebGPU results in the table and the file', () => {
  it('fills a ratio only where Sinter and the peer run on the same kind of device', () => {
    const rs = [
      result({ case: 'cnn-train', impl: 'sinter-cpu', runs: [800], threads: 2 }),
      result({ case: 'cnn-train', impl: 'sinter-webgpu', runs: [210], adapter: LAVAPIPE }),
      result({ case: 'cnn-train', impl: 'tfjs-wasm-patched', runs: [200], threads: 1 }),
      result({ case: 'cnn-train', impl: 'tfjs-webgpu', runs: [70], adapter: LAVAPIPE }),
    ];
    const lines = formatTable(file(rs)).split('\n');
    expect(lines[0]).toBe('| case | implementation | threads | median | sinter-cpu ÷ peer | sinter-webgpu ÷ peer |');
    // 800 / 200 on the CPU, 210 / 70 on WebGPU.
    expect(lines[4]).toBe('| Fashion CNN train step (Adam), batch 64 | tfjs-wasm-patched | 1 | 200 samples/s | 4× |  |');
    expect(lines[5]).toBe('| Fashion CNN train step (Adam), batch 64 | tfjs-webgpu | gpu (software) | 70 samples/s |  | 3× |');
  });

  it('names each adapter once, says what a software adapter means, and puts matmul against the GPU peak', () => {
    const rs = [
      result({ case: 'cnn-train', impl: 'tfjs-webgpu', adapter: LAVAPIPE }),
      result({ case: 'cnn-infer', impl: 'ort-webgpu', adapter: LAVAPIPE }),
      result({ case: 'matmul-4096', impl: 'tfjs-webgpu', unit: 'GFLOP/s', runs: [33_500], adapter: H200 }),
    ];
    const notes = adapterNotes(rs);
    expect(notes.filter((n) => n.includes('llvmpipe'))).toHaveLength(1);
    expect(notes.find((n) => n.includes('llvmpipe'))).toMatch(/not GPU speed/);
    expect(notes).toContain('WebGPU adapter: nvidia / hopper, NVIDIA H200; fp32 peak 67,000 GFLOP/s');
    // 33,500 of 67,000 GFLOP/s.
    expect(notes).toContain("matmul-4096 × tfjs-webgpu: 33,500 GFLOP/s is 50% of the GPU's fp32 peak");
  });

  it('accepts results with an adapter, or without one (files written before WebGPU), and names a broken one', () => {
    expect(validateBenchFile(JSON.parse(JSON.stringify(file([result({ case: 'a', impl: 'tfjs-webgpu', adapter: LAVAPIPE }), result({ case: 'a', impl: 'tfjs-cpu' })]))))).toEqual([]);
    expect(validateBenchFile(file([result({ case: 'a', impl: 'tfjs-webgpu', adapter: { ...LAVAPIPE, fallback: 'yes' as never } })]))[0]).toMatch(/^results\[0\]\.adapter: /);
  });
});

describe('Sinter backends of either kind', () => {
  const d = caseData(caseById('matmul-256')!, 8, ROOT);
  const asyncRef: AsyncBackend = {
    name: 'ref-async',
    async: true,
    load(graph) {
      const s = referenceBackend.load(graph);
      return { graph, setParams: (p) => s.setParams(p), getParams: async () => s.getParams(), run: async (i, f) => s.run(i, f) };
    },
  };

  it('times an asynchronous backend to the same check value as the synchronous one', async () => {
    const sync = await prepareSinterEntry('ref', referenceBackend, d);
    const viaAsync = await prepareSinterEntry('ref-async', asyncRef, d);
    const viaFactory = await prepareSinterEntry('ref-async', async () => asyncRef, d);
    const expected = await sync.step();
    expect(await viaAsync.step()).toBe(expected);
    expect(await viaFactory.step()).toBe(expected);
    expect(viaAsync.adapter).toBeNull();
  });

  it('reports a factory that finds no device as not available, and anything else as a broken invariant', async () => {
    await expect(prepareSinterEntry('ref-async', async () => null, d)).rejects.toBeInstanceOf(NotAvailable);
    await expect(prepareSinterEntry('ref-async', { name: 'x' }, d)).rejects.toThrow(/internal: BACKENDS\['ref-async'\]/);
  });
});
