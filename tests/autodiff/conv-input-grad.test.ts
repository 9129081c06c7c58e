// The convolution's input gradient as matmul + col2im (compiler/ir/ops/contraction.ts, inputGradByColumns) equals conv2d_backward_input.
//
// For stride-1, undilated, ungrouped windows of more than one tap, the VJP of conv2d builds
// cols = wᵀ·dy and sums shifted slices of it; elsewhere it emits conv2d_backward_input. Both
// are run by the reference interpreter on random geometries (paddings, kernel shapes, sizes)
// and compared within a contraction's tolerance: the sums run in a different order.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import { allCloseReport } from '../helpers/allclose.js';
import { convArb } from './op-cases.js';

/** Mostly the geometries the columns form takes (stride 1, no dilation, one group, paddings up to 2), and convArb's others. */
const geometry = fc.oneof(
  { weight: 2, arbitrary: fc
    .record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), o: fc.integer({ min: 1, max: 3 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), padding: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)), extra: fc.tuple(fc.nat(3), fc.nat(3)) })
    .map(({ n, c, o, kh, kw, padding, extra }) => {
      const h = Math.max(1, kh - padding[0] - padding[1]) + extra[0];
      const w = Math.max(1, kw - padding[2] - padding[3]) + extra[1];
      const y = [n, o, h + padding[0] + padding[1] - kh + 1, w + padding[2] + padding[3] - kw + 1];
      return { x: [n, c, h, w], w: [o, c, kh, kw], y, attrs: { stride: [1, 1], padding: [...padding], dilation: [1, 1], groups: 1 } };
    }) },
  { weight: 1, arbitrary: convArb },
);

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

describe('conv2d input gradient by columns', () => {
  it('equals conv2d_backward_input, and is used exactly for stride-1 undilated ungrouped multi-tap windows (60 geometries)', () => {
    fc.assert(
      fc.property(geometry, fc.nat(1000), (g, seed) => {
        const b = new GraphBuilder('Conv');
        const x = b.input('x', { dtype: 'f32', shape: g.x });
        const w = b.input('w', { dtype: 'f32', shape: g.w });
        const dy = b.input('dy', { dtype: 'f32', shape: g.y });
        const y = b.op('conv2d', [x, w], g.attrs);
        // loss = Σ y·dy, so the gradient with respect to x is the VJP of dy.
        const flat = g.y.map((_, i) => i);
        b.output('loss', b.op('sum', [b.op('mul', [y, dy])], { axes: flat, keepdims: false }));
        const { graph, grads } = differentiate(b.build(), 'loss', ['x']);
        const feeds = { inputs: new Map<string, Tensor>(), params: new Map<string, Tensor>() };
        for (const [name, shape, k] of [['x', g.x, 1], ['w', g.w, 2], ['dy', g.y, 3]] as const) {
          feeds.inputs.set(name, { type: { dtype: 'f32', shape: [...shape] }, data: seeded(numel(shape), seed * 7 + k) });
        }
        const got = interpret(graph, feeds).outputs.get(grads.get('x')!)!;
        const ref = new GraphBuilder('Ref');
        const dyIn = ref.input('dy', { dtype: 'f32', shape: g.y });
        const wIn = ref.input('w', { dtype: 'f32', shape: g.w });
        ref.output('dx', ref.op('conv2d_backward_input', [dyIn, wIn], { ...g.attrs, input_shape: g.x }));
        const refFeeds = { inputs: new Map([...feeds.inputs].filter(([name]) => name !== 'x')), params: feeds.params };
        const want = interpret(ref.build(), refFeeds).outputs.get('dx')!;
        expect(allCloseReport(got, want, { rtol: 1e-5, atol: 1e-6 })).toBe(null);
        const attrs = g.attrs as { stride: number[]; dilation: number[]; groups: number };
        const byColumns = attrs.stride.every((s) => s === 1) && attrs.dilation.every((d) => d === 1) && attrs.groups === 1 && g.w[2]! * g.w[3]! > 1;
        const ops = new Set(graph.nodes.map((n) => n.op));
        expect(ops.has('conv2d_backward_input')).toBe(!byColumns);
        expect(ops.has('matmul')).toBe(byColumns);
      }),
      { seed: 11, numRuns: 60 },
    );
  });
});
