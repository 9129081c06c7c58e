// conv2d, maxpool2d and avgpool2d against independent implementations (im2col + GEMM, explicit window lists) on random shapes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import { OPS, inferType } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { expectAllClose, maxAbs, toleranceFor } from '../helpers/allclose.js';

const value = fc.float({ min: -1, max: 1, noNaN: true });
const valuesOf = (n: number) => fc.array(value, { minLength: n, maxLength: n });

/** Output extent of a window, written out separately from the op's windowExtent. */
const outExtent = (size: number, span: number, stride: number, padTotal: number) => Math.floor((size + padTotal - span) / stride) + 1;

interface ConvCase {
  readonly n: number;
  readonly groups: number;
  readonly cg: number;
  readonly og: number;
  readonly k: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  /** [top, bottom, left, right]. */
  readonly padding: readonly [number, number, number, number];
  readonly h: number;
  readonly w: number;
  /** Whether the padding is 'same'-style, so the output keeps the input's spatial size. */
  readonly same: boolean;
}

/**
 * 'same' padding (stride 1, the total pad of each axis split with the odd one at the end,
 * as TensorFlow does) or any padding and stride; the input is made just big enough to fit.
 */
const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 3 }),
    og: fc.integer({ min: 1, max: 2 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pads: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    same: fc.boolean(),
    extra: fc.tuple(fc.nat(4), fc.nat(4)),
  })
  .map(({ k, stride, dilation, pads, same, extra, ...rest }) => {
    const span = [dilation[0] * (k[0] - 1) + 1, dilation[1] * (k[1] - 1) + 1] as const;
    const padding: [number, number, number, number] = same
      ? [Math.floor((span[0] - 1) / 2), Math.ceil((span[0] - 1) / 2), Math.floor((span[1] - 1) / 2), Math.ceil((span[1] - 1) / 2)]
      : pads;
    const h = Math.max(1, span[0] - padding[0] - padding[1]) + extra[0];
    const w = Math.max(1, span[1] - padding[2] - padding[3]) + extra[1];
    return { ...rest, k, stride: same ? ([1, 1] as const) : stride, dilation, padding, h, w, same };
  });

/**
 * Convolution as im2col + GEMM in float64: pad the input explicitly, lay each window out as
 * a column, and multiply each group's weight matrix [og, cg·kh·kw] by its column matrix.
 */
function convByIm2col(c: ConvCase, x: ArrayLike<number>, wt: ArrayLike<number>): { shape: number[]; data: Float64Array } {
  const [kh, kw] = c.k;
  const [pt, pb, pl, pr] = c.padding;
  const hp = c.h + pt + pb;
  const wp = c.w + pl + pr;
  const channels = c.groups * c.cg;
  const padded = new Float64Array(c.n * channels * hp * wp);
  for (let b = 0; b < c.n; b++)
    for (let ch = 0; ch < channels; ch++)
      for (let y = 0; y < c.h; y++)
        for (let xx = 0; xx < c.w; xx++) padded[((b * channels + ch) * hp + y + pt) * wp + xx + pl] = x[((b * channels + ch) * c.h + y) * c.w + xx]!;
  const oh = outExtent(c.h, c.dilation[0] * (kh - 1) + 1, c.stride[0], pt + pb);
  const ow = outExtent(c.w, c.dilation[1] * (kw - 1) + 1, c.stride[1], pl + pr);
  const kk = c.cg * kh * kw;
  const outChannels = c.groups * c.og;
  const out = new Float64Array(c.n * outChannels * oh * ow);
  for (let b = 0; b < c.n; b++) {
    for (let g = 0; g < c.groups; g++) {
      // cols[r][p]: row r = (channel in group, ky, kx), column p = output position.
      const cols: number[][] = [];
      for (let ci = 0; ci < c.cg; ci++)
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const row: number[] = [];
            for (let y = 0; y < oh; y++)
              for (let xx = 0; xx < ow; xx++) {
                const py = y * c.stride[0] + ky * c.dilation[0];
                const px = xx * c.stride[1] + kx * c.dilation[1];
                row.push(padded[((b * channels + g * c.cg + ci) * hp + py) * wp + px]!);
              }
            cols.push(row);
          }
      for (let o = 0; o < c.og; o++) {
        const oc = g * c.og + o;
        for (let p = 0; p < oh * ow; p++) {
          let acc = 0;
          for (let r = 0; r < kk; r++) acc += wt[oc * kk + r]! * cols[r]![p]!;
          out[(b * outChannels + oc) * oh * ow + p] = acc;
        }
      }
    }
  }
  return { shape: [c.n, outChannels, oh, ow], data: out };
}

function runOp(op: 'conv2d' | 'maxpool2d' | 'avgpool2d', inputs: readonly Tensor[], attrs: Attrs): Tensor {
  const type = inferType(op, inputs.map((t) => t.type), attrs);
  return OPS[op].reference(inputs, attrs, type);
}

describe('conv2d against im2col + matmul in float64', () => {
  const withData = convCase.chain((c) =>
    fc.record({
      c: fc.constant(c),
      x: valuesOf(c.n * c.groups * c.cg * c.h * c.w),
      w: valuesOf(c.groups * c.og * c.cg * c.k[0] * c.k[1]),
    }),
  );

  it('agrees on random shapes, strides, dilations, groups and paddings', () => {
    fc.assert(
      fc.property(withData, ({ c, x, w }) => {
        const xt = tensorFrom('f32', [c.n, c.groups * c.cg, c.h, c.w], x);
        const wt = tensorFrom('f32', [c.groups * c.og, c.cg, c.k[0], c.k[1]], w);
        const got = runOp('conv2d', [xt, wt], { stride: [...c.stride], padding: [...c.padding], dilation: [...c.dilation], groups: c.groups });
        const want = convByIm2col(c, xt.data, wt.data);
        expect(got.type.shape).toEqual(want.shape);
        // Each output sums cg·kh·kw products, each at most max|x|·max|w| in size.
        const tol = toleranceFor('reduction', { terms: c.cg * c.k[0] * c.k[1], maxAbsInput: maxAbs(xt) * maxAbs(wt) });
        expectAllClose(got.data, want.data, tol);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it("keeps the spatial size with 'same' padding at stride 1", () => {
    fc.assert(
      fc.property(
        convCase.filter((c) => c.same),
        (c) => {
          const type = inferType(
            'conv2d',
            [
              { dtype: 'f32', shape: [c.n, c.groups * c.cg, c.h, c.w] },
              { dtype: 'f32', shape: [c.groups * c.og, c.cg, c.k[0], c.k[1]] },
            ],
            { stride: [1, 1], padding: [...c.padding], dilation: [...c.dilation], groups: c.groups },
          );
          expect(type.shape).toEqual([c.n, c.groups * c.og, c.h, c.w]);
        },
      ),
      { seed: 42, numRuns: 100 },
    );
  });
});

interface PoolCase {
  readonly n: number;
  readonly c: number;
  readonly k: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number, number, number];
  readonly h: number;
  readonly w: number;
}

const poolCase: fc.Arbitrary<PoolCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padFrac: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    extra: fc.tuple(fc.nat(4), fc.nat(4)),
  })
  .map(({ k, padFrac, extra, ...rest }) => {
    // Padding must stay below the kernel on each side.
    const padding: [number, number, number, number] = [padFrac[0] % k[0], padFrac[1] % k[0], padFrac[2] % k[1], padFrac[3] % k[1]];
    const h = Math.max(1, k[0] - padding[0] - padding[1]) + extra[0];
    const w = Math.max(1, k[1] - padding[2] - padding[3]) + extra[1];
    return { ...rest, k, padding, h, w };
  });

/** Every output window as the explicit list of the input values it covers (padding left out). */
function windowLists(p: PoolCase, x: ArrayLike<number>): { shape: number[]; windows: number[][] } {
  const [pt, pb, pl, pr] = p.padding;
  const oh = outExtent(p.h, p.k[0], p.stride[0], pt + pb);
  const ow = outExtent(p.w, p.k[1], p.stride[1], pl + pr);
  const windows: number[][] = [];
  for (let plane = 0; plane < p.n * p.c; plane++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const list: number[] = [];
        for (let ky = 0; ky < p.k[0]; ky++)
          for (let kx = 0; kx < p.k[1]; kx++) {
            const iy = y * p.stride[0] + ky - pt;
            const ix = xx * p.stride[1] + kx - pl;
            if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) list.push(x[(plane * p.h + iy) * p.w + ix]!);
          }
        windows.push(list);
      }
  return { shape: [p.n, p.c, oh, ow], windows };
}

describe('pooling against explicit window lists', () => {
  const withData = poolCase.chain((p) => fc.record({ p: fc.constant(p), x: valuesOf(p.n * p.c * p.h * p.w) }));
  const attrsOf = (p: PoolCase): Attrs => ({ kernel: [...p.k], stride: [...p.stride], padding: [...p.padding] });

  it('maxpool2d is the largest in-bounds value of each window', () => {
    fc.assert(
      fc.property(withData, ({ p, x }) => {
        const xt = tensorFrom('f32', [p.n, p.c, p.h, p.w], x);
        const { shape, windows } = windowLists(p, xt.data);
        const got = runOp('maxpool2d', [xt], attrsOf(p));
        expect(got.type.shape).toEqual(shape);
        expect(windows.every((l) => l.length > 0)).toBe(true);
        expectAllClose(got.data, windows.map((l) => Math.max(...l)), toleranceFor('exact'));
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('avgpool2d divides each window sum by its in-bounds count', () => {
    fc.assert(
      fc.property(withData, ({ p, x }) => {
        const xt = tensorFrom('f32', [p.n, p.c, p.h, p.w], x);
        const { shape, windows } = windowLists(p, xt.data);
        const got = runOp('avgpool2d', [xt], attrsOf(p));
        expect(got.type.shape).toEqual(shape);
        const want = windows.map((l) => l.reduce((a, b) => a + b, 0) / l.length);
        expectAllClose(got.data, want, toleranceFor('reduction', { terms: p.k[0] * p.k[1], maxAbsInput: maxAbs(xt) }));
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});
