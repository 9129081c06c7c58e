// What elaborated models compute, checked against the same math written directly in the test.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { compileSource } from '../../dsl/frontend.js';
import { expectAllClose } from '../helpers/allclose.js';

function compile(source: string, batch = 2): Graph {
  const r = compileSource(source, 'test.sinter', { dims: { batch } });
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(verifyGraph(r.graph!)).toEqual([]);
  return r.graph!;
}

/** Inputs 0, 1, 2, … scaled by 0.1 (f32), so expected values are easy to derive. */
function ramp(g: Graph): Map<string, Tensor> {
  return new Map(g.inputs.map((i) => [i.name, tensorFrom(i.type.dtype, i.type.shape, Array.from({ length: numel(i.type.shape) }, (_, k) => (i.type.dtype === 'f32' ? k * 0.1 : k % 3)))]));
}

function run(g: Graph, seed = 7) {
  const params = initParams(g, seed);
  const inputs = ramp(g);
  return { params, inputs, out: interpret(g, { inputs, params }).outputs };
}

const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('elaborated semantics', () => {
  it('dense(3) is x @ w + b over the last axis', () => {
    const g = compile('model M(x: f32[batch, 4]) -> y: f32[batch, 3] { x |> dense(3) }');
    const { params, inputs, out } = run(g);
    const x = inputs.get('x')!.data;
    const w = params.get('dense_1.w')!.data;
    const b = params.get('dense_1.b')!.data;
    const want: number[] = [];
    for (let n = 0; n < 2; n++) for (let j = 0; j < 3; j++) {
      let s = b[j]!;
      for (let k = 0; k < 4; k++) s += x[n * 4 + k]! * w[k * 3 + j]!;
      want.push(s);
    }
    expectAllClose(out.get('y')!, want, TOL);
  });

  it('broadcasts like numpy: [2,3,4] + [4] and scalar arithmetic on both sides', () => {
    const g = compile('model M(x: f32[2, 3, 4], v: f32[4]) -> y: f32[2, 3, 4] { (x + v) * 2 - 1 / (1 + x) }');
    const { inputs, out } = run(g);
    const x = inputs.get('x')!.data;
    const v = inputs.get('v')!.data;
    expectAllClose(out.get('y')!, Array.from(x, (xi, i) => (xi + v[i % 4]!) * 2 - 1 / (1 + xi)), TOL);
  });

  it('indexes with positions, ranges and negative indices', () => {
    const g = compile('model M(x: f32[2, 3, 4]) -> y: f32[2, 2] { x[:, -1, 1:3] }');
    const { inputs, out } = run(g);
    const x = inputs.get('x')!.data;
    expectAllClose(out.get('y')!, [x[0 * 12 + 2 * 4 + 1]!, x[0 * 12 + 2 * 4 + 2]!, x[1 * 12 + 2 * 4 + 1]!, x[1 * 12 + 2 * 4 + 2]!], { rtol: 0, atol: 0 });
  });

  it('unrolls for loops with loop-carried state', () => {
    const g = compile('model M(x: f32[batch, 3]) -> y: f32[batch, 3] {\n  h = x\n  for t in 0..4 {\n    h = h * 2 + t\n  }\n  h\n}');
    const { inputs, out } = run(g);
    // h0 = x; h_{t+1} = 2 h_t + t  →  after 4 steps: 16x + (0·8 + 1·4 + 2·2 + 3·1) = 16x + 11.
    expectAllClose(out.get('y')!, Array.from(inputs.get('x')!.data, (v) => 16 * v + 11), TOL);
  });

  it('shares parameters of a bound layer and makes new ones for each configuration', () => {
    const shared = compile('model M(x: f32[batch, 3]) -> y: f32[batch, 3] {\n  f = dense(3)\n  x |> f |> f\n}');
    expect(shared.params.map((p) => p.name)).toEqual(['f.w', 'f.b']);
    const separate = compile('model M(x: f32[batch, 3]) -> y: f32[batch, 3] { x |> dense(3) |> dense(3) }');
    expect(separate.params.map((p) => p.name)).toEqual(['dense_1.w', 'dense_1.b', 'dense_2.w', 'dense_2.b']);
  });

  it('unifies shape variables of a user layer and evaluates dimension arithmetic', () => {
    const g = compile(`
layer Twice(k)(x: [n, d]) -> [n, 2 * d] {
  param w: [d, k * d] = ones
  return concat(x, x, axis: 1)
}
model M(x: f32[batch, 3]) -> y: f32[batch, 6] { x |> Twice(2) }`);
    expect(g.params[0]!.type.shape).toEqual([3, 6]);
  });

  it('pads "same" the TensorFlow way: output extent ceil(size / stride)', () => {
    const g = compile('model M(x: f32[1, 2, 7, 8]) -> y: f32[1, 4, 4, 4] { x |> conv2d(4, kernel: 3, stride: 2, padding: "same") }');
    const conv = g.nodes.find((n) => n.op === 'conv2d')!;
    // H: out 4, total pad (4-1)*2+3-7 = 2 → [1, 1]; W: out 4, total (4-1)*2+3-8 = 1 → [0, 1].
    expect(conv.attrs['padding']).toEqual([1, 1, 0, 1]);
  });

  it('layernorm normalizes the last axis (gamma 1, beta 0 at init)', () => {
    const g = compile('model M(x: f32[2, 5]) -> y: f32[2, 5] { x |> layernorm(eps: 0.001) }');
    const { inputs, out } = run(g);
    const x = Array.from(inputs.get('x')!.data);
    const want: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = x.slice(r * 5, r * 5 + 5);
      const mean = row.reduce((a, b) => a + b, 0) / 5;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 5;
      want.push(...row.map((v) => (v - mean) / Math.sqrt(variance + 0.001)));
    }
    expectAllClose(out.get('y')!, want, { rtol: 1e-4, atol: 1e-5 });
  });

  it('reshape infers one -1 extent, and rank-3 @ rank-2 applies to the last axis', () => {
    const g = compile('model M(x: f32[2, 12]) -> y: f32[2, 3, 5] {\n  param w: [4, 5] = ones\n  reshape(x, [2, -1, 4]) @ w\n}');
    const { inputs, out } = run(g);
    const x = inputs.get('x')!.data;
    const want: number[] = [];
    for (let r = 0; r < 6; r++) {
      const s = x[r * 4]! + x[r * 4 + 1]! + x[r * 4 + 2]! + x[r * 4 + 3]!;
      want.push(s, s, s, s, s);
    }
    expectAllClose(out.get('y')!, want, TOL);
  });

  it('batchnorm trains on batch statistics and declares running-statistic updates', () => {
    const src = 'model M(x: f32[4, 2]) -> y: f32[4, 2] { x |> batchnorm(eps: 0.001, momentum: 0.9) }';
    const r = compileSource(src, 'test.sinter', { mode: 'train' });
    expect(r.diagnostics).toEqual([]);
    const g = r.graph!;
    expect(verifyGraph(g)).toEqual([]);
    expect(g.outputs.map((o) => [o.name, o.aliases])).toEqual([['y', undefined], ['next.batchnorm_1.mean', 'batchnorm_1.mean'], ['next.batchnorm_1.var', 'batchnorm_1.var']]);
    const { inputs, out } = run(g);
    const x = Array.from(inputs.get('x')!.data);
    for (let ch = 0; ch < 2; ch++) {
      const col = [0, 1, 2, 3].map((r) => x[r * 2 + ch]!);
      const mean = col.reduce((a, b) => a + b, 0) / 4;
      const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      const y = [0, 1, 2, 3].map((r) => out.get('y')!.data[r * 2 + ch]!);
      expectAllClose(y, col.map((v) => (v - mean) / Math.sqrt(variance + 0.001)), { rtol: 1e-4, atol: 1e-5 });
      // Running statistics start at mean 0, var 1: next = 0.9·running + 0.1·batch.
      expect(out.get('next.batchnorm_1.mean')!.data[ch]).toBeCloseTo(0.1 * mean, 6);
      expect(out.get('next.batchnorm_1.var')!.data[ch]).toBeCloseTo(0.9 + 0.1 * variance, 6);
    }
    const infer = compile(src);
    expect(infer.outputs.map((o) => o.name)).toEqual(['y']);
  });

  it('dropout masks a fraction `rate` in training (scaled by 1/(1 - rate)), per-step key, identity otherwise', () => {
    const src = 'model M(x: f32[50, 40]) -> y: f32[50, 40] { x |> dropout(0.25) }';
    expect(compile(src).nodes).toHaveLength(0);
    const g = compileSource(src, 'test.sinter', { mode: 'train' }).graph!;
    expect(g.inputs.map((i) => [i.name, i.type])).toEqual([['x', { dtype: 'f32', shape: [50, 40] }], ['random_key', { dtype: 'i32', shape: [] }]]);
    const x = tensorFrom('f32', [50, 40], new Array(2000).fill(2));
    const y = (key: number) => Array.from(interpret(g, { inputs: new Map([['x', x], ['random_key', tensorFrom('i32', [], [key])]]), params: new Map() }).outputs.get('y')!.data);
    const a = y(1);
    expect(new Set(a)).toEqual(new Set([0, Math.fround(2 * Math.fround(1 / 0.75))]));
    const dropped = a.filter((v) => v === 0).length / a.length;
    expect(Math.abs(dropped - 0.25)).toBeLessThan(0.04); // 4.1 standard deviations of a binomial(2000, 0.25) fraction
    expect(y(1)).toEqual(a);
    expect(y(2)).not.toEqual(a);
  });

  it('names a model output after the declaration and checks its type', () => {
    const r = compileSource('model M(x: f32[batch, 4]) -> y: f32[batch, 5] { x |> dense(3) }', 'test.sinter', { dims: { batch: 2 } });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['E0407']);
    expect(r.diagnostics[0]!.message).toBe("output 'y' has type f32[2,3] but is declared f32[2,5]");
  });

  it('reports the issue\'s shape mismatch message for a user layer', () => {
    const src = 'layer Dense(units)(x: [n, in]) -> [n, units] {\n  param w: [in, units]\n  return x @ w\n}\nmodel M(image: f32[batch, 1, 28, 28]) -> y: f32[batch, 10] { image |> Dense(10) }';
    const r = compileSource(src, 'test.sinter', { dims: { batch: 64 } });
    expect(r.diagnostics.map((d) => d.message)).toEqual(['Dense expects f32[n, in], got f32[64,1,28,28]']);
    expect(r.diagnostics[0]!.span.start).toMatchObject({ line: 5, col: 71 });
  });
});
