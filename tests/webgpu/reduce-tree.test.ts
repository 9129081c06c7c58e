// Tree reductions on WebGPU (compiler/lower/wgsl/reduce-tree.ts): long sums and means with few outputs, against the reference, in the tree form, bit-identical across runs.
//
// The rule of reduce-tree.ts picks the form from the shapes: a sum of [64, 32, 676] over
// axes 0 and 2 (43,264 points into 32 outputs, Fashion CNN's first bias gradient at batch
// 64) and a mean of 20,000 points into one take the tree; a sum of [300, 8] over axis 1
// (8 points each) stays a point kernel. The Fashion CNN train step at batch 8 reduces the
// first conv's bias gradient over 8 × 26 × 26 = 5,408 points, so one of its kernels is a
// tree; it runs with SGD for the reason tests/webgpu/training.test.ts gives (Adam turns
// rounding-level gradient differences into ±lr steps).

import { exampleWithSgd, trainStepFeeds } from '../helpers/example-steps.js';
import { describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { WGSL_DEFAULTS } from '../../compiler/lower/wgsl/limits.js';
import { TREE_MAX_OUTPUTS, TREE_MIN_EXTENT } from '../../compiler/lower/wgsl/reduce-tree.js';
import { compileForWebgpu } from '../../runtime/webgpu/backend.js';
import { SubgroupsUnavailable } from '../../runtime/webgpu/errors.js';
import { WebgpuSession } from '../../runtime/webgpu/session.js';
import { gpu, gpuReport, runGpu, webgpu } from './support.js';

function reduceGraph(op: 'sum' | 'mean', shape: Shape, axes: number[]): Graph {
  const b = new GraphBuilder(`${op}_tree`);
  const x = b.input('x', { dtype: 'f32', shape });
  b.output('y', b.op(op, [x], { axes, keepdims: false }));
  return b.build();
}

function randomFeeds(g: Graph, seed: number): Map<string, Tensor> {
  const rng = rngFor(seed, g.name);
  return new Map(g.inputs.map((i): [string, Tensor] => [i.name, tensorFrom('f32', i.type.shape, Array.from({ length: numel(i.type.shape) }, () => rng.nextFloat() * 2 - 1))]));
}

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data).buffer));

const CASES = [
  { name: 'sum of [64, 32, 676] over axes 0 and 2', op: 'sum', shape: [64, 32, 676], axes: [0, 2] },
  { name: 'mean of [20000] into one', op: 'mean', shape: [20000], axes: [0] },
] as const;

describe('the tree rule', () => {
  it('takes the tree for long reductions into few outputs, the point form otherwise', () => {
    const forms = (g: Graph): string[] => compileForWebgpu(g).kernels.map((k) => k.form);
    for (const c of CASES) expect(forms(reduceGraph(c.op, c.shape, [...c.axes])).some((f) => f.startsWith('tree '))).toBe(true);
    expect(forms(reduceGraph('sum', [300, TREE_MIN_EXTENT - 1], [1]))).not.toContainEqual(expect.stringMatching(/^tree /));
    expect(forms(reduceGraph('sum', [TREE_MAX_OUTPUTS + 1, TREE_MIN_EXTENT], [1]))).not.toContainEqual(expect.stringMatching(/^tree /));
    expect(forms(reduceGraph('sum', [300, 8], [1]))).toEqual(['point']);
  });

  it('writes a workgroup-memory tree with barriers and no atomics', () => {
    const k = compileForWebgpu(reduceGraph('sum', [64, 32, 676], [0, 2])).kernels.find((x) => x.form.startsWith('tree '))!;
    expect(k.dispatch).toEqual([32, 1, 1]);
    expect(k.source).toContain('var<workgroup> red: array<f32, 256>;');
    expect(k.source).toMatch(/for \(var h = 128u; h > 0u; h >>= 1u\)/);
    expect(k.source).toContain('workgroupBarrier();');
    expect(k.source).not.toContain('atomic');
  });

  it('with subgroups, meets the partial sums through subgroupAdd with one barrier instead of the tree', () => {
    const p = compileForWebgpu(reduceGraph('sum', [64, 32, 676], [0, 2]), { subgroups: true });
    const k = p.kernels.find((x) => x.form.startsWith('tree '))!;
    expect(k.form).toBe('tree 256 x1 subgroups');
    expect(k.features).toEqual(['subgroups']);
    expect(p.features).toEqual(['subgroups']);
    expect(k.source).toContain('\nenable subgroups;\n');
    expect(k.source.match(/subgroupAdd\(acc\)/g)).toHaveLength(2);
    expect(k.source).not.toMatch(/for \(var h = /);
    // One barrier between the subgroup sums and their total, one before every invocation reads it.
    expect(k.source.match(/workgroupBarrier\(\);/g)).toHaveLength(2);
    // Only the tree kernels need the feature; without the option, none does.
    expect(p.kernels.filter((x) => !x.form.startsWith('tree ')).every((x) => x.features.length === 0)).toBe(true);
    expect(compileForWebgpu(reduceGraph('sum', [64, 32, 676], [0, 2])).features).toEqual([]);
  });

  it('shrinks the workgroup to the workgroup memory there is: 256 bytes hold 64 partial sums', () => {
    const limits = { ...WGSL_DEFAULTS, maxWorkgroupBytes: 256 };
    const k = compileForWebgpu(reduceGraph('sum', [64, 32, 676], [0, 2]), { limits }).kernels.find((x) => x.form.startsWith('tree '))!;
    expect(k.workgroupSize).toEqual([64, 1, 1]);
    expect(k.source).toContain('var<workgroup> red: array<f32, 64>;');
  });
});

describe.skipIf(!webgpu)('tree reductions on webgpu', () => {
  it('lavapipe has subgroups in CI, so both ways of combining the partial sums run there', () => {
    if (process.env['CI']) expect(webgpu!.subgroups).toBe(true);
    expect(webgpu!.subgroups).toBe(webgpu!.device.features.has('subgroups'));
  });

  const combines = webgpu?.subgroups ? [false, true] : [false];
  for (const c of CASES) {
    for (const subgroups of combines) {
      it(`${c.name}, ${subgroups ? 'subgroups' : 'workgroup tree'}: matches the reference, the same bits twice`, async () => {
        const g = reduceGraph(c.op, c.shape, [...c.axes]);
        expect(compileForWebgpu(g, { subgroups }).kernels.some((k) => k.form === `tree 256 x1${subgroups ? ' subgroups' : ''}`)).toBe(true);
        const feeds = randomFeeds(g, 7);
        const first = await runGpu(g, feeds, new Map(), undefined, { subgroups });
        const second = await runGpu(g, feeds, new Map(), undefined, { subgroups });
        const ref = interpret(g, { inputs: feeds, params: new Map() }).outputs;
        expect(gpuReport(first, ref)).toBeNull();
        expect(bits(second.get('y')!)).toEqual(bits(first.get('y')!));
      });
    }
  }

  it('a program with subgroup reductions on a device without the feature: a named error, not a shader failure', () => {
    const g = reduceGraph('sum', [64, 32, 676], [0, 2]);
    const program = compileForWebgpu(g, { subgroups: true });
    const device = { ...webgpu!.device, features: new Set<string>() } as unknown as GPUDevice;
    expect(() => new WebgpuSession(g, program, device)).toThrow(SubgroupsUnavailable);
  });

  it('the Fashion CNN train step at batch 8: a tree kernel, outputs and updated params within tolerance of the reference, the same bits twice', async () => {
    const model = await loadTrainingModel(exampleWithSgd('fashion_cnn'), undefined);
    const graph = model.graphs.train(8);
    expect(compileForWebgpu(graph, { gemm: webgpu!.gemm, subgroups: webgpu!.subgroups }).kernels.some((k) => k.form.startsWith('tree '))).toBe(true);
    const inputs = trainStepFeeds(graph, model.names, rngFor(5, 'reduce-tree'));
    const params = initParams(graph, 9);
    const names = graph.outputs.filter((o) => o.aliases === undefined).map((o) => o.name);
    // The updated params (aliased outputs) are where the tree's sums go: the bias gradients.
    const aliased = graph.outputs.filter((o) => o.aliases !== undefined);
    expect(aliased.length).toBeGreaterThan(0);
    const runOnce = async (): Promise<Map<string, Tensor>> => {
      const s = gpu().load(graph);
      try {
        s.setParams(params);
        const out = await s.run(inputs, names);
        const updated = await s.getParams();
        for (const o of aliased) out.set(o.name, updated.get(o.aliases!)!);
        return out;
      } finally {
        s.destroy();
      }
    };
    const first = await runOnce();
    const second = await runOnce();
    const ref = interpret(graph, { inputs, params }).outputs;
    const want = new Map(graph.outputs.map((o) => [o.name, ref.get(o.name)!]));
    expect(gpuReport(first, want)).toBeNull();
    for (const o of graph.outputs) expect(bits(second.get(o.name)!), o.name).toEqual(bits(first.get(o.name)!));
  });
});
