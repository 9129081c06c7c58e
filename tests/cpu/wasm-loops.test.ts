// Loops kernels and GEMM epilogues as WebAssembly (compiler/lower/cpu/wasm-loops.ts) compute the JavaScript kernels' values, bit for bit.
//
// The same graph runs on the CPU backend twice: over a WebAssembly memory, where the kernels
// that qualify call their Wasm function, and over a plain ArrayBuffer (`wasm: false`), where
// every kernel is JavaScript. Outputs and params must agree exactly (signed zeros included;
// NaN with NaN): on random graphs, random train steps, a graph of special values through
// every choice the emitter makes without branching, and the examples' train steps. The
// reference comparison of these paths is tests/cpu/random-graphs.test.ts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTrainingModel } from '../../cli/training.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { CpuSession } from '../../runtime/cpu/session.js';
import { compileForCpu, createCpuBackend } from '../../runtime/cpu/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { arbTrainStep, CONV_HEAVY, DIFFERENTIABLE } from '../helpers/random-train-step.js';
import { trainStepFeeds } from '../helpers/example-steps.js';
import { randomFeeds } from '../passes/support.js';

const withWasm = createCpuBackend({});
const jsOnly = createCpuBackend({ wasm: false });

/** The first element where two tensor maps differ in bits (NaN equals NaN), or null. */
function firstDifference(got: ReadonlyMap<string, Tensor>, want: ReadonlyMap<string, Tensor>): string | null {
  for (const [name, w] of want) {
    const g = got.get(name)!;
    for (let i = 0; i < w.data.length; i++) {
      const [a, b] = [g.data[i]!, w.data[i]!];
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return `${name}[${i}]: ${a} with Wasm, ${b} in JavaScript`;
    }
  }
  return null;
}

/** Wasm kernels in the CPU program of a graph. */
const wasmKernels = (g: Graph): number => compileForCpu(g).kernels.filter((k) => k.kind === 'js' && k.wasm !== null).length;

/** Two steps on both paths (the second sees the params the first updated in place). */
function sameTwoSteps(g: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor>): void {
  const names = g.outputs.map((o) => o.name);
  const [a, b] = [withWasm.load(g), jsOnly.load(g)];
  a.setParams(params);
  b.setParams(params);
  for (let step = 0; step < 2; step++) {
    const d = firstDifference(a.run(inputs, names), b.run(inputs, names));
    if (d) expect.fail(`step ${step}: ${d}`);
  }
  const d = firstDifference(a.getParams(), b.getParams());
  if (d) expect.fail(`params after two steps: ${d}`);
}

describe('cpu kernels as WebAssembly', () => {
  it('random graphs: the JavaScript kernels’ values, bit for bit', () => {
    let withKernels = 0;
    fc.assert(
      fc.property(arbGraph(), (g) => {
        if (wasmKernels(g) > 0) withKernels++;
        const feeds = randomFeeds(g);
        sameTwoSteps(g, feeds.inputs, feeds.params);
      }),
      { seed: 7, numRuns: 150 },
    );
    expect(withKernels).toBeGreaterThan(100);
  });

  it.each([
    ['differentiable ops', DIFFERENTIABLE],
    ['conv-heavy', CONV_HEAVY],
  ])('random train steps (%s): bit for bit', (_name, ops) => {
    let checked = 0;
    fc.assert(
      fc.property(arbTrainStep(ops), (g) => {
        if (g === null) return;
        if (wasmKernels(g) > 0) checked++;
        const feeds = randomFeeds(g);
        sameTwoSteps(g, feeds.inputs, feeds.params);
      }),
      { seed: 11, numRuns: 60 },
    );
    expect(checked).toBeGreaterThan(20);
  });

  it('special values (NaN, ±0, ±∞, past int32) through max, min, relu, argmax, pooling, selects and casts', () => {
    const specials = [NaN, -0, 0, Infinity, -Infinity, 3e9, -3e9, 2.5, -2.5, 1, -1, 0.5, 7, -7, 1e-40, -1e-40];
    const values = Array.from({ length: 2 * 2 * 4 * 4 }, (_, i) => specials[(i * 7) % specials.length]!);
    // Each special beside its neighbours in the list: (−0, 0), (0, −0), (NaN, −0), (∞, −∞), …
    const others = Array.from({ length: values.length }, (_, i) => specials[((i * 7) % specials.length + (i % 2 ? 1 : specials.length - 1)) % specials.length]!);
    const b = new GraphBuilder('Specials');
    const type = { dtype: 'f32' as const, shape: [2, 2, 4, 4] };
    const x = b.input('x', type);
    const y = b.input('y', type);
    const pool = { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] };
    b.output('max', b.op('maximum', [x, y]));
    b.output('min', b.op('minimum', [x, y]));
    b.output('relu', b.op('relu', [x]));
    b.output('argmax', b.op('argmax', [x], { axis: 3, keepdims: false }));
    b.output('reduce_max', b.op('max', [x], { axes: [2, 3], keepdims: false }));
    b.output('pool', b.op('maxpool2d', [x], pool));
    b.output('pool_grad', b.op('maxpool2d_backward', [x, b.op('maxpool2d', [y], pool)], pool));
    b.output('select', b.op('select', [b.op('greater', [x, y]), x, y]));
    b.output('to_i32', b.op('cast', [x], { to: 'i32' }));
    b.output('to_bool', b.op('cast', [x], { to: 'bool' }));
    const g = b.build();
    expect(wasmKernels(g)).toBeGreaterThan(0);
    sameTwoSteps(g, new Map([['x', tensorFrom('f32', type.shape, values)], ['y', tensorFrom('f32', type.shape, others)]]), new Map());
  });

  it('i32 products past 2^53 wrap as JavaScript’s (a * b) | 0 does, not as i32.mul', () => {
    const b = new GraphBuilder('I32Mul');
    const type = { dtype: 'i32' as const, shape: [5] };
    b.output('p', b.op('mul', [b.input('x', type), b.input('y', type)]));
    b.output('q', b.op('mul', [b.input('z', type), b.op('constant', [], { value: 123456789, dtype: 'i32', shape: [5] })]));
    const g = b.build();
    expect(wasmKernels(g)).toBeGreaterThan(0);
    const xs = [123456789, 2147483647, -2147483647, 3, -65536];
    const ys = [123456789, 2147483647, 2147483647, 5, 65536];
    sameTwoSteps(g, new Map([['x', tensorFrom('i32', [5], xs)], ['y', tensorFrom('i32', [5], ys)], ['z', tensorFrom('i32', [5], xs)]]), new Map());
  });

  it('an operand read twice (relu, abs, integer max, float mod) is computed once: 18 fused relus make a small module', () => {
    const b = new GraphBuilder('ReluChain');
    const type = { dtype: 'f32' as const, shape: [8] };
    let y = b.input('x', type);
    for (let i = 0; i < 18; i++) y = b.op('relu', [b.op('add', [y, b.op('constant', [], { value: i % 2 ? -0.75 : 0.5, dtype: 'f32', shape: [8] })])]);
    b.output('y', y);
    const g = b.build();
    const sizes = compileForCpu(g).kernels.flatMap((k) => (k.kind === 'js' && k.wasm ? [k.wasm.plain.length] : []));
    expect(sizes.length).toBe(1);
    // Written out twice per level, the chain would be 2^18 copies (16 MB, past V8's function size limit).
    expect(sizes[0]).toBeLessThan(4096);
    sameTwoSteps(g, new Map([['x', tensorFrom('f32', [8], [NaN, -0, 0, 1, -1, 2, -3, 0.25])]]), new Map());
  });

  it('wasmLoops: false runs every kernel as JavaScript, with the same values', async () => {
    const model = await loadTrainingModel('examples/mlp.sinter', undefined);
    const g = model.graphs.train(8);
    const session = createCpuBackend({ wasmLoops: false }).load(g) as CpuSession;
    expect(session.program.kernels.some((k) => k.kind === 'js' && k.wasm !== null)).toBe(false);
    const inputs = trainStepFeeds(g, model.names, rngFor(4, 'wasm-loops'), { lr: 1e-3 });
    const params = initParams(g, 6);
    const reference = withWasm.load(g);
    [session, reference].forEach((s) => s.setParams(params));
    const names = g.outputs.map((o) => o.name);
    expect(firstDifference(session.run(inputs, names), reference.run(inputs, names))).toBeNull();
  });

  it.each(['examples/fashion_cnn.sinter', 'examples/transformer.sinter', 'examples/mlp.sinter', 'examples/rnn.sinter'])('%s: its train step (batch 8) runs Wasm kernels and equals the JavaScript one', async (file) => {
    const model = await loadTrainingModel(file, undefined);
    const g = model.graphs.train(8);
    expect(wasmKernels(g)).toBeGreaterThan(0);
    const inputs = trainStepFeeds(g, model.names, rngFor(3, 'wasm-loops'), { lr: 1e-3 });
    sameTwoSteps(g, inputs, initParams(g, 5));
  });
});
