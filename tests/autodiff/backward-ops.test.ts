// The backward ops against independent computations: loops written from the other side, finite differences, and tie rules.
//
// The references of conv2d_backward_input/filter, the pooling gradients and scatter_add
// scatter from each output element; the loops here gather into each result element instead
// (solving for the output positions that read it), so a shared indexing mistake cannot hide.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attrs, RefTensor } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OPS, inferType } from '../../compiler/ir/ops/registry.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel, stridesOf } from '../../compiler/ir/types.js';
import { differentiate } from '../../compiler/passes/autodiff.js';
import { expectAllClose } from '../helpers/allclose.js';
import { FD_TOLERANCE, centralDifference, f64Tensor, oneOpGraph } from './gradcheck.js';
import { BACKWARD_HAND_CASES } from './backward-hand-cases.js';
import type { ConvDraw } from './op-cases.js';
import { convArb, poolArb } from './op-cases.js';

/** Sums of a handful of float64 products: anything but rounding noise is a bug. */
const LOOP_TOLERANCE = { rtol: 1e-12, atol: 1e-12 };

function run(op: OpName, inputs: readonly RefTensor[], attrs: Attrs): RefTensor {
  const type = inferType(op, inputs.map((t) => t.type), attrs);
  return OPS[op].evaluate(inputs, attrs, type, 'float64');
}

function random(shape: Shape, seed: number, name: string): RefTensor {
  const rng = rngFor(seed, name);
  return f64Tensor({ dtype: 'f32', shape }, Array.from({ length: numel(shape) }, () => 2 * rng.nextFloat() - 1));
}

/** Flat offset of a multi-index in a row-major shape. */
function at(shape: Shape, index: readonly number[]): number {
  const strides = stridesOf(shape);
  return index.reduce((acc, i, k) => acc + i * strides[k]!, 0);
}

/** The output position along one axis whose tap k reads input position i, or null. */
function tapSource(i: number, k: number, stride: number, padLow: number, dilation: number, extent: number): number | null {
  const t = i + padLow - k * dilation;
  if (t % stride !== 0) return null;
  const o = t / stride;
  return o >= 0 && o < extent ? o : null;
}

/** dx[b, c, i, j] = Σ over the group's output channels and taps that read (i, j) of dy · w. */
function convInputGradByGather(g: ConvDraw, dy: RefTensor, w: RefTensor): number[] {
  const [n, c, h, wd] = g.x as [number, number, number, number];
  const [o, cg, kh, kw] = g.w as [number, number, number, number];
  const [, , oh, ow] = g.y as [number, number, number, number];
  const [sh, sw] = g.attrs['stride'] as number[];
  const [pt, , pl] = g.attrs['padding'] as number[];
  const [dh, dw] = g.attrs['dilation'] as number[];
  const og = o / (g.attrs['groups'] as number);
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++) {
          const group = Math.floor(ch / cg);
          let s = 0;
          for (let oc = group * og; oc < (group + 1) * og; oc++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const y = tapSource(i, ky, sh!, pt!, dh!, oh);
                const x = tapSource(j, kx, sw!, pl!, dw!, ow);
                if (y !== null && x !== null) s += dy.data[at(g.y, [b, oc, y, x])]! * w.data[at(g.w, [oc, ch % cg, ky, kx])]!;
              }
          out.push(s);
        }
  return out;
}

/** dw[oc, ci, ky, kx] = Σ over batch and output positions of x at the tap · dy. */
function convFilterGradByGather(g: ConvDraw, x: RefTensor, dy: RefTensor): number[] {
  const [n, , h, wd] = g.x as [number, number, number, number];
  const [o, cg, kh, kw] = g.w as [number, number, number, number];
  const [, , oh, ow] = g.y as [number, number, number, number];
  const [sh, sw] = g.attrs['stride'] as number[];
  const [pt, , pl] = g.attrs['padding'] as number[];
  const [dh, dw] = g.attrs['dilation'] as number[];
  const og = o / (g.attrs['groups'] as number);
  const out: number[] = [];
  for (let oc = 0; oc < o; oc++)
    for (let ci = 0; ci < cg; ci++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const ch = Math.floor(oc / og) * cg + ci;
          let s = 0;
          for (let b = 0; b < n; b++)
            for (let y = 0; y < oh; y++)
              for (let xo = 0; xo < ow; xo++) {
                const i = y * sh! - pt! + ky * dh!;
                const j = xo * sw! - pl! + kx * dw!;
                if (i >= 0 && i < h && j >= 0 && j < wd) s += x.data[at(g.x, [b, ch, i, j])]! * dy.data[at(g.y, [b, oc, y, xo])]!;
              }
          out.push(s);
        }
  return out;
}

describe('hand-computed cases of the backward ops', () => {
  for (const [op, cases] of Object.entries(BACKWARD_HAND_CASES)) {
    for (const c of cases) {
      it(`${op}: ${c.name}`, () => {
        const type = inferType(op as OpName, c.inputs.map((t) => t.type), c.attrs);
        const got = OPS[op as OpName].reference(c.inputs, c.attrs, type);
        expect(got.type).toEqual(c.want.type);
        expect(Array.from(got.data)).toEqual(Array.from(c.want.data));
      });
    }
  }
});

describe('conv2d_backward_input and conv2d_backward_filter', () => {
  it('match loops that gather into each result element', () => {
    fc.assert(
      fc.property(convArb, fc.nat(), (g, seed) => {
        const x = random(g.x, seed, 'x');
        const w = random(g.w, seed, 'w');
        const dy = random(g.y, seed, 'dy');
        expectAllClose(run('conv2d_backward_input', [dy, w], { ...g.attrs, input_shape: g.x }).data, convInputGradByGather(g, dy, w), LOOP_TOLERANCE);
        expectAllClose(run('conv2d_backward_filter', [x, dy], { ...g.attrs, filter_shape: g.w }).data, convFilterGradByGather(g, x, dy), LOOP_TOLERANCE);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('are the central differences of conv2d: the loss Σ conv2d(x, w)·dy has gradients (bwd_input(dy, w), bwd_filter(x, dy))', () => {
    fc.assert(
      fc.property(convArb, fc.nat(), (g, seed) => {
        const x = random(g.x, seed, 'x');
        const w = random(g.w, seed, 'w');
        const { graph, feeds } = oneOpGraph('conv2d', {
          inputs: [
            { type: x.type, values: Array.from(x.data), wrt: true },
            { type: w.type, values: Array.from(w.data), wrt: true },
          ],
          attrs: g.attrs,
          seed,
        });
        const dy = feeds.inputs.get('loss_weights')!;
        const dx = run('conv2d_backward_input', [dy, w], { ...g.attrs, input_shape: g.x });
        const dw = run('conv2d_backward_filter', [x, dy], { ...g.attrs, filter_shape: g.w });
        expectAllClose(dx.data, Array.from(dx.data, (_, i) => centralDifference(graph, feeds, 'x0', i)), FD_TOLERANCE);
        expectAllClose(dw.data, Array.from(dw.data, (_, i) => centralDifference(graph, feeds, 'x1', i)), FD_TOLERANCE);
      }),
      { seed: 7, numRuns: 20 },
    );
  });

  it('reject a cotangent whose shape is not the conv output', () => {
    const attrs = { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 };
    const dy = { dtype: 'f32' as const, shape: [1, 2, 3, 3] };
    const w = { dtype: 'f32' as const, shape: [2, 1, 2, 2] };
    expect(() => inferType('conv2d_backward_input', [dy, w], { ...attrs, input_shape: [1, 1, 5, 5] })).toThrow(/does not match the conv2d output \[1, 2, 4, 4\]/);
    expect(inferType('conv2d_backward_input', [dy, w], { ...attrs, input_shape: [1, 1, 4, 4] }).shape).toEqual([1, 1, 4, 4]);
    expect(() => inferType('conv2d_backward_filter', [{ dtype: 'f32', shape: [1, 1, 4, 4] }, dy], { ...attrs, filter_shape: [2, 1, 3, 3] })).toThrow(/does not match/);
  });
});

/** For each input element of a pooling, the flat output indices of the windows that contain it. */
function windowsContaining(x: Shape, y: Shape, attrs: Attrs): number[][] {
  const [kh, kw] = attrs['kernel'] as number[];
  const [sh, sw] = attrs['stride'] as number[];
  const [pt, , pl] = attrs['padding'] as number[];
  const [n, c, h, w] = x as number[];
  const [, , oh, ow] = y as number[];
  const lists: number[][] = [];
  for (let p = 0; p < n! * c!; p++)
    for (let i = 0; i < h!; i++)
      for (let j = 0; j < w!; j++) {
        const list: number[] = [];
        for (let oy = 0; oy < oh!; oy++)
          for (let ox = 0; ox < ow!; ox++) {
            const top = oy * sh! - pt!;
            const left = ox * sw! - pl!;
            if (i >= top && i < top + kh! && j >= left && j < left + kw!) list.push((p * oh! + oy) * ow! + ox);
          }
        lists.push(list);
      }
  return lists;
}

describe('pooling gradients', () => {
  it('avgpool2d_backward: each input element gathers dy / (in-bounds count) from every window containing it', () => {
    fc.assert(
      fc.property(poolArb, fc.nat(), (g, seed) => {
        const dy = random(g.y, seed, 'dy');
        const containing = windowsContaining(g.x, g.y, g.attrs);
        const counts = new Array<number>(numel(g.y)).fill(0);
        for (const list of containing) for (const o of list) counts[o]!++;
        const want = containing.map((list) => list.reduce((s, o) => s + dy.data[o]! / counts[o]!, 0));
        expectAllClose(run('avgpool2d_backward', [dy], { ...g.attrs, input_shape: g.x }).data, want, LOOP_TOLERANCE);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('maxpool2d_backward: each input element gathers dy from the windows whose first maximum it is', () => {
    fc.assert(
      fc.property(poolArb, fc.nat(), fc.boolean(), (g, seed, coarse) => {
        // Coarse values (a few levels) make ties common, so the first-maximum rule is exercised.
        const rng = rngFor(seed, 'levels');
        const x = coarse ? f64Tensor({ dtype: 'f32', shape: g.x }, Array.from({ length: numel(g.x) }, () => rng.nextInt(3))) : random(g.x, seed, 'x');
        const dy = random(g.y, seed, 'dy');
        const containing = windowsContaining(g.x, g.y, g.attrs);
        const members = new Map<number, number[]>();
        containing.forEach((list, i) => list.forEach((o) => members.set(o, [...(members.get(o) ?? []), i])));
        const winner = new Map([...members].map(([o, list]) => [o, list.reduce((best, i) => (x.data[i]! > x.data[best]! ? i : best))]));
        const want = containing.map((list, i) => list.reduce((s, o) => (winner.get(o) === i ? s + dy.data[o]! : s), 0));
        expectAllClose(run('maxpool2d_backward', [x, dy], g.attrs).data, want, LOOP_TOLERANCE);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('maxpool2d_backward routes a tied window to the element maxpool2d returns, the first in row-major order', () => {
    const attrs = { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] };
    const x = f64Tensor({ dtype: 'f32', shape: [1, 1, 2, 4] }, [5, 1, 2, 7, 3, 5, 7, 0]);
    const dy = f64Tensor({ dtype: 'f32', shape: [1, 1, 1, 2] }, [10, 20]);
    // Window 1 holds 5, 1, 3, 5: the first 5 wins. Window 2 holds 2, 7, 7, 0: the first 7 wins.
    expect(Array.from(run('maxpool2d_backward', [x, dy], attrs).data)).toEqual([10, 0, 0, 20, 0, 0, 0, 0]);
  });
});

describe('scatter_add', () => {
  it('matches a loop over the base: each element adds every update whose clamped index lands on it', () => {
    const arb = fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
      .chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), idx: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), seed: fc.nat() }));
    fc.assert(
      fc.property(arb, ({ shape, axis, idx, seed }) => {
        const rng = rngFor(seed, 'idx');
        const indices = Array.from({ length: numel(idx) }, () => rng.nextInt(shape[axis]! + 2) - 1);
        const uShape = [...shape.slice(0, axis), ...idx, ...shape.slice(axis + 1)];
        const base = random(shape, seed, 'base');
        const updates = random(uShape, seed, 'updates');
        const idxT = f64Tensor({ dtype: 'i32', shape: idx }, indices);
        const want = Array.from(base.data);
        const strides = stridesOf(shape);
        for (let u = 0; u < numel(uShape); u++) {
          const index = multiIndex(u, uShape);
          const j = at(idx, index.slice(axis, axis + idx.length));
          const target = [...index.slice(0, axis), Math.min(Math.max(indices[j]!, 0), shape[axis]! - 1), ...index.slice(axis + idx.length)];
          want[target.reduce((acc, i, k) => acc + i * strides[k]!, 0)]! += updates.data[u]!;
        }
        expectAllClose(run('scatter_add', [base, idxT, updates], { axis }).data, want, LOOP_TOLERANCE);
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});

function multiIndex(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    index[k] = flat % shape[k]!;
    flat = Math.floor(flat / shape[k]!);
  }
  return index;
}

/** d (Σ y) / d input for a one-op graph y = op(inputs), all inputs f32 of one shape, at float64. */
function unitGrads(op: OpName, inputs: readonly (readonly number[])[], shape: Shape, attrs: Attrs = {}): number[][] {
  const { graph, feeds, wrt } = oneOpGraph(op, { inputs: inputs.map((values) => ({ type: { dtype: 'f32', shape }, values, wrt: true })), attrs, seed: 3 });
  const weights = feeds.inputs.get('loss_weights')!;
  const ones = new Map(feeds.inputs).set('loss_weights', f64Tensor(weights.type, new Array<number>(weights.data.length).fill(1)));
  const { graph: dg, grads } = differentiate(graph, 'loss', wrt);
  const out = interpret(dg, { inputs: ones, params: feeds.params }, { float64: true }).outputs;
  return wrt.map((name) => Array.from(out.get(grads.get(name)!)!.data));
}

describe('tie and kink rules of the forward VJPs', () => {
  it('max over an axis shares the cotangent evenly among tied maxima', () => {
    expect(unitGrads('max', [[1, 3, 3, 2]], [4], { axes: [0], keepdims: false })).toEqual([[0, 0.5, 0.5, 0]]);
    expect(unitGrads('max', [[4, 4, 4, 1, 2, 3]], [2, 3], { axes: [1], keepdims: true })).toEqual([[1 / 3, 1 / 3, 1 / 3, 0, 0, 1]]);
  });

  it('maximum and minimum give a tie to the first operand', () => {
    expect(unitGrads('maximum', [[1, 2], [1, 5]], [2])).toEqual([[1, 0], [0, 1]]);
    expect(unitGrads('minimum', [[1, 2], [1, 0]], [2])).toEqual([[1, 0], [0, 1]]);
  });

  it('relu and abs have derivative 0 at 0', () => {
    expect(unitGrads('relu', [[-1, 0, 2]], [3])).toEqual([[0, 0, 1]]);
    expect(unitGrads('abs', [[-1, 0, 2]], [3])).toEqual([[-1, 0, 1]]);
  });

  it("pow passes no gradient to the exponent where the base is not positive", () => {
    // d(a^b)/da = b·a^(b−1): 2·(−2) = −4 and 2·0 = 0; d/db is a^b·ln a for a = 3 only.
    const [da, db] = unitGrads('pow', [[-2, 0, 3], [2, 2, 2]], [3]);
    expect(da).toEqual([-4, 0, 6]);
    expect(db!.slice(0, 2)).toEqual([0, 0]);
    expect(db![2]).toBeCloseTo(9 * Math.log(3), 12);
  });
});
