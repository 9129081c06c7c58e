// WebgpuOptions.storage 'f16': temporaries in the half arena, checked against the kernel interpreter running the same plan (which rounds every half-arena store to f16), and against float32.
//
// The kernel interpreter models storage f16: the same memory plan, each stored temporary
// rounded to the nearest f16, ties to even (compiler/kernel/half.ts), as lavapipe converts.
// WGSL lets a device round f32 → f16 to either neighbour, and one float32 ulp of summation
// order can move a value across an f16 rounding boundary, so the device is held to the model
// within a few f16 ulps (4e-3), not float32's tolerance. On the example models' Adam steps
// optimizer state is compared at rtol 1e-2, and the params' updates element by element: Adam's
// first update divides a gradient by its own magnitude, so where a gradient is near zero one
// rounding can turn it (by up to 2·lr); all but a few elements must agree. Against float32
// the forward passes stay within f16's rounding (rtol 1e-2).

import fc from 'fast-check';
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
import { runKernelProgram } from '../../compiler/kernel/interpret.js';
import { runPipeline } from '../../compiler/pipeline.js';
import { compileSource } from '../../dsl/frontend.js';
import { cpuBackend } from '../../runtime/cpu/session.js';
import type { WebgpuOptions } from '../../runtime/webgpu/backend.js';
import { compileForWebgpu, createWebgpuBackend } from '../../runtime/webgpu/backend.js';
import { allCloseReport, maxAbs } from '../helpers/allclose.js';
import { trainStepFeeds } from '../helpers/example-steps.js';
import { arbFiniteTrainStep, CONV_HEAVY } from '../helpers/random-train-step.js';
import { KERNEL_FORMS, gpuReport, runGpu, webgpu } from './support.js';

const EXAMPLES = ['mlp', 'fashion_cnn'] as const;
const LR = 1e-3;

/** The kernel interpreter on the program the pipeline plans with storage f16. */
function halfModel(graph: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const { program } = runPipeline(graph, { storage: 'f16' }).state;
  expect(program!.halfArenaBytes).toBeGreaterThan(0);
  return runKernelProgram(program!, { inputs, params }).outputs;
}

async function trainStep(name: string, batch: number): Promise<{ graph: Graph; inputs: Map<string, Tensor>; params: Map<string, Tensor>; loss: string }> {
  const model = await loadTrainingModel(`examples/${name}.sinter`, undefined);
  const graph = model.graphs.train(batch);
  const inputs = trainStepFeeds(graph, model.names, rngFor(5, `half-${name}`), { lr: LR });
  return { graph, inputs, params: initParams(graph, 5), loss: model.names.loss };
}

function forward(name: string, batch: number): Graph {
  const file = `examples/${name}.sinter`;
  const r = compileSource(readFileSync(file, 'utf8'), file, { dims: { batch }, mode: 'infer' });
  if (!r.graph || r.diagnostics.length > 0) throw new Error(`${file} does not compile`);
  return r.graph;
}

const half = (options: WebgpuOptions = {}): WebgpuOptions => ({ storage: 'f16', ...options });

describe.skipIf(!webgpu?.device.features.has('shader-f16'))('storage f16 on the adapter', () => {
  // The MLP in every kernel form (its GEMMs store into the half arena from each form's epilogue); the CNN (15 s of interpreter at batch 4) at batch 1 in the device's default form.
  const steps = [...KERNEL_FORMS.map(([form, options]) => ['mlp', 4, form, options] as const), ['fashion_cnn', 1, 'default', {}] as const];
  const models = new Map<string, Promise<Awaited<ReturnType<typeof trainStep>> & { want: Map<string, Tensor> }>>();
  it.each(steps)('%s: an Adam train step at batch %i agrees with the kernel interpreter\'s f16-storage model (%s contractions)', { timeout: 120_000 }, async (name, batch, _form, options) => {
    if (!models.has(name)) models.set(name, trainStep(name, batch).then((m) => ({ ...m, want: halfModel(m.graph, m.inputs, m.params) })));
    const { graph, inputs, params, loss, want } = await models.get(name)!;
    const got = await runGpu(graph, inputs, params, undefined, half(options));
    expect(Math.abs(got.get(loss)!.data[0]! - want.get(loss)!.data[0]!)).toBeLessThanOrEqual(1e-4 * Math.abs(want.get(loss)!.data[0]!));
    for (const [out, w] of want) {
      const update = graph.outputs.find((o) => o.name === out)!.aliases;
      const param = update === undefined ? undefined : graph.params.find((p) => p.name === update && p.trainable);
      if (param) {
        // The update got − p0 against want − p0: at most 2·lr apart anywhere, within 1% of lr on all but 2% of the elements.
        const p0 = params.get(param.name)!.data;
        const g = got.get(out)!.data;
        expect(allCloseReport(g, w, { rtol: 0, atol: 2 * LR + 1e-6 }), out).toBeNull();
        const off = Array.from(w.data).filter((x, i) => Math.abs(g[i]! - p0[i]! - (x - p0[i]!)) > 1e-2 * LR).length;
        expect(off, `${out}: ${off} of ${w.data.length} updates differ`).toBeLessThanOrEqual(0.02 * w.data.length);
        continue;
      }
      const report = allCloseReport(got.get(out)!, w, { rtol: 1e-2, atol: 1e-2 * Math.max(1e-6, maxAbs(w)) });
      if (report) expect.fail(`${out}: ${report}`);
    }
  });

  for (const name of EXAMPLES) {
    it(`${name}: the forward pass at batch 16 is within f16 rounding of float32, and not equal to it; the half arena's shaders declare array<f16>`, async () => {
      const graph = forward(name, 16);
      const params = initParams(graph, 5);
      const rng = rngFor(7, name);
      const inputs = new Map(graph.inputs.map((i): [string, Tensor] => [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: numel(i.type.shape) }, () => rng.nextFloat()))]));
      const cpu = cpuBackend.load(graph);
      cpu.setParams(params);
      const want = cpu.run(inputs, graph.outputs.map((o) => o.name));
      for (const precision of ['f32', 'f16'] as const) {
        const got = await runGpu(graph, inputs, params, undefined, half({ precision }));
        for (const [out, w] of want) {
          const report = allCloseReport(got.get(out)!, w, { rtol: 1e-2, atol: 1e-2 * Math.max(1e-6, maxAbs(w)) });
          if (report) expect.fail(`precision ${precision}, output '${out}': ${report}`);
          expect(Array.from(got.get(out)!.data).some((x, i) => x !== w.data[i])).toBe(true);
        }
      }
      const p = compileForWebgpu(graph, { storage: 'f16' });
      const space = p.spaceTypes.indexOf('f16');
      expect(space).toBeGreaterThan(0);
      for (const k of p.kernels) {
        const binds = k.spaces.includes(space);
        expect(k.source.includes(`var<storage, read_write> m${space}: array<f16>;`), k.name).toBe(binds);
        expect(k.source.includes('\nenable f16;\n'), k.name).toBe(binds);
        expect(k.features.includes('shader-f16'), k.name).toBe(binds);
      }
    });
  }

  it('trains with gradient clipping on large gradients as float32 does: the sums of squares stay f32 (past 65504 in f16, the clip would zero every update)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sinter-half-clip-'));
    writeFileSync(join(dir, 'mlp.sinter'), readFileSync('examples/mlp.sinter', 'utf8').replace('metrics   = [accuracy]', 'metrics   = [accuracy]\n  clip_norm = 1'));
    const model = await loadTrainingModel(join(dir, 'mlp.sinter'), undefined);
    const graph = model.graphs.train(8);
    // Unnormalized pixels: gradients far above 256.
    const inputs = trainStepFeeds(graph, model.names, rngFor(3, 'clip'), { lr: LR, scale: 255 });
    const losses = async (options: WebgpuOptions): Promise<number[]> => {
      const s = createWebgpuBackend(webgpu!.device, { gemm: webgpu!.gemm, ...options }).load(graph);
      try {
        s.setParams(initParams(graph, 2));
        const out: number[] = [];
        for (let i = 0; i < 4; i++) out.push((await s.run(inputs, [model.names.loss])).get(model.names.loss)!.data[0]!);
        return out;
      } finally {
        s.destroy();
      }
    };
    const [full, halfs] = [await losses({}), await losses(half())];
    expect(full[3]!).toBeLessThan(0.8 * full[0]!);
    halfs.forEach((l, i) => expect(Math.abs(l - full[i]!), `step ${i}: ${l} vs ${full[i]}`).toBeLessThanOrEqual(2e-2 * full[i]!));
  });

  it('the Fashion CNN train step at batch 64 keeps its temporaries in 0.6× the bytes of float32 storage or less', async () => {
    const graph = (await loadTrainingModel('examples/fashion_cnn.sinter', undefined)).graphs.train(64);
    const bytes = (storage: 'f32' | 'f16'): number => {
      const p = compileForWebgpu(graph, { storage });
      return p.spaceBytes.filter((_, i) => i === 0 || p.spaceTypes[i] === 'f16').reduce((a, b) => a + b, 0);
    };
    expect(bytes('f16')).toBeLessThanOrEqual(0.6 * bytes('f32'));
  });

  // Conv-heavy random train steps on finite feeds: the device against the interpreter's model of the same plan.
  it('conv-heavy train steps of random graphs agree with the kernel interpreter\'s f16-storage model (finite feeds)', { timeout: 120_000 }, async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbFiniteTrainStep(CONV_HEAVY), async (drawn) => {
        if (drawn === null) return;
        const { step, feeds } = drawn;
        // Random graphs are small: every temporary the rules allow goes to the half arena, whatever its size.
        const { program } = runPipeline(step, { storage: 'f16', halfMinElements: 1 }).state;
        if (program!.halfArenaBytes === 0) return;
        checked++;
        const want = runKernelProgram(program!, feeds).outputs;
        const report = gpuReport(await runGpu(step, feeds.inputs, feeds.params, undefined, half({ halfMinElements: 1 })), want, { rtol: 4e-3, atolScale: 4e-3 });
        if (report) expect.fail(report);
      }),
      { seed: 44, numRuns: 150, endOnFailure: true },
    );
    expect(checked).toBeGreaterThan(15);
  });
});

describe('storage f16 without shader-f16', () => {
  it('a device without the feature gives ShaderF16Unavailable naming storage', () => {
    const device = { features: new Set<string>(), limits: {} } as unknown as GPUDevice;
    expect(() => createWebgpuBackend(device, { storage: 'f16' })).toThrow(/storage 'f16' needs the WebGPU feature 'shader-f16'.*use storage 'f32'/);
  });
});
