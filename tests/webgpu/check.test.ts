// `--check` on WebGPU: every kernel of a step, run on the device alone, against the reference on the inputs it read back; a planted wrong WGSL kernel is the one named.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../cli/load.js';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { roundToHalf } from '../../compiler/kernel/half.js';
import { CheckFailed, runChecked } from '../../runtime/check/checked.js';
import { checkStep } from '../../runtime/check/kernels.js';
import type { WgslOptions } from '../../compiler/lower/wgsl/lower.js';
import { compileForWebgpuWithSource } from '../../runtime/webgpu/backend.js';
import { WebgpuSession } from '../../runtime/webgpu/session.js';
import { runCli } from '../helpers/cli.js';
import { gpu, webgpu } from './support.js';

function randomInputs(g: Graph): Map<string, Tensor> {
  const rng = rngFor(3, 'webgpu-check');
  return new Map(
    g.inputs.map((i): [string, Tensor] => {
      const d = allocData(i.type.dtype, numel(i.type.shape));
      for (let j = 0; j < d.length; j++) d[j] = i.type.dtype === 'f32' ? (i.name === 'step' ? 1 : rng.nextFloat()) : rng.nextInt(10);
      return [i.name, { type: i.type, data: d }];
    }),
  );
}

/** A session of `graph` whose kernel `name` stores its first output plus 0.5 (a wrong constant in the WGSL). */
function planted(graph: Graph, name: string, options: WgslOptions = {}): WebgpuSession {
  const { program, source } = compileForWebgpuWithSource(graph, { gemm: webgpu!.gemm, subgroups: webgpu!.subgroups, ...options });
  const kernels = program.kernels.map((k) => {
    if (k.name !== name) return k;
    const wrong = k.source.replace(/= (bitcast<u32>|f16)\((y\d+)\);/, '= $1($2 + 0.5);');
    if (wrong === k.source) throw new Error(`no store to plant a fault in, in ${name}`);
    return { ...k, source: wrong };
  });
  return new WebgpuSession(graph, { ...program, kernels }, webgpu!.device, { watch: [] }, source);
}

describe.skipIf(!webgpu)('--check on webgpu', () => {
  it('run --check says every kernel of the Fashion CNN agrees with the reference', { timeout: 120_000 }, async () => {
    const r = await runCli('run', 'examples/fashion_cnn.sinter', '--batch', '2', '--backend', 'webgpu', '--check');
    expect(r.status, r.stderr).toBe(0);
    const n = compileForWebgpuWithSource(loadModel('examples/fashion_cnn.sinter', { batch: 2 }).graph, { gemm: webgpu!.gemm }).program.kernels.length;
    expect(r.stdout).toMatch(new RegExp(`^check: ${n} kernels agree with the reference \\(max rel err \\S+, max abs err \\S+\\): @FashionCNN, run 1\\n`));
  });

  it('checks every kernel of an Adam train step of the MLP (backward and update kernels on the device)', { timeout: 120_000 }, async () => {
    const graph = (await loadTrainingModel('examples/mlp.sinter', undefined)).graphs.train(4);
    const s = gpu({ watch: [] }).load(graph);
    try {
      s.setParams(initParams(graph, 1));
      const { kernels } = await checkStep(s, randomInputs(graph), ['loss']);
      expect(kernels.length).toBe(s.program.kernels.length);
      expect(kernels.filter((k) => !k.ok).map((k) => k.kernel)).toEqual([]);
    } finally {
      s.destroy();
    }
  });

  it('names a planted wrong kernel, and only it: the kernels after it are judged on the inputs they read', { timeout: 120_000 }, async () => {
    const { graph } = loadModel('examples/mlp.sinter', { batch: 3 });
    const s = planted(graph, 'k1');
    try {
      s.setParams(initParams(graph, 0));
      const { kernels } = await checkStep(s, randomInputs(graph), []);
      expect(kernels.map((k) => k.kernel)).toEqual(['k0', 'k1', 'k2']);
      expect(kernels.filter((k) => !k.ok).map((k) => k.kernel)).toEqual(['k1']);
      expect(kernels[1]!.maxAbsErr).toBeCloseTo(0.5, 5);
      const err = await runChecked(s, graph, 'run 1', randomInputs(graph), ['logits'], () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckFailed);
      expect((err as CheckFailed).message).toMatch(/^internal: check: kernel k1 differs from the reference/);
      expect((err as CheckFailed).message).toMatch(/at examples\/mlp\.sinter:\d+/);
    } finally {
      s.destroy();
    }
  });

  it('reads half-arena buffers back as the f16 values stored: f16-representable, within f16 rounding of float32 storage', { timeout: 60_000 }, async () => {
    const { graph } = loadModel('examples/mlp.sinter', { batch: 16 });
    const inputs = randomInputs(graph);
    const params = initParams(graph, 0);
    const [half, full] = [gpu({ watch: [], storage: 'f16' }).load(graph), gpu({ watch: [] }).load(graph)];
    try {
      const id = half.program.buffers.find((b) => half.program.spaceTypes[b.space] === 'f16')!.id;
      // Read right after the kernel that writes it: later kernels may reuse its memory.
      const written = async (s: WebgpuSession): Promise<Tensor> => {
        let value: Tensor | null = null;
        s.setParams(params);
        await s.runKernels(inputs, [], async (i, runKernel) => {
          await runKernel();
          if (s.kernelSource!.program.kernels[i]!.outputs.includes(id)) value = await s.readBuffer(id);
        });
        return value!;
      };
      const [h, f] = [await written(half), await written(full)];
      expect(h.type).toEqual(f.type);
      expect(Array.from(h.data).every((x) => roundToHalf(x) === x)).toBe(true);
      expect(Array.from(h.data).every((x, i) => Math.abs(x - f.data[i]!) <= 2 ** -10 * Math.abs(f.data[i]!) + 1e-7)).toBe(true);
      expect(Array.from(h.data).some((x, i) => x !== f.data[i])).toBe(true);
    } finally {
      half.destroy();
      full.destroy();
    }
  });

  it('with storage f16: a train step checks clean against the reference rounded to f16, and a planted fault in an f16 store is named', { timeout: 120_000 }, async () => {
    const graph = (await loadTrainingModel('examples/mlp.sinter', undefined)).graphs.train(16);
    const s = gpu({ watch: [], storage: 'f16' }).load(graph);
    try {
      s.setParams(initParams(graph, 1));
      const { kernels } = await checkStep(s, randomInputs(graph), ['loss']);
      expect(kernels.filter((k) => !k.ok).map((k) => k.kernel)).toEqual([]);
      // Without the rounding model the same f16 outputs fail float32's tolerance: the check is not blind.
      expect(kernels.some((k) => k.maxRelErr > 1e-4)).toBe(true);
    } finally {
      s.destroy();
    }
    const { graph: forward } = loadModel('examples/mlp.sinter', { batch: 16 });
    const bad = planted(forward, 'k1', { storage: 'f16' });
    try {
      expect(bad.program.kernels[1]!.source).toContain('array<f16>');
      bad.setParams(initParams(forward, 0));
      const { kernels } = await checkStep(bad, randomInputs(forward), []);
      expect(kernels.filter((k) => !k.ok).map((k) => k.kernel)).toEqual(['k1']);
    } finally {
      bad.destroy();
    }
  });

  it('refuses --check with f16 arithmetic (a usage error: the reference is float32)', { timeout: 60_000 }, async () => {
    const r = await runCli('run', 'examples/mlp.sinter', '--backend', 'webgpu', '--check', '--precision', 'f16');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('drop --precision f16 to check them');
  });
});
