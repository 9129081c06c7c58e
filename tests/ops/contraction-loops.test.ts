// The loop machinery under the fast reference contractions: window tap lists, float64 packing, matmul against a triple loop, skipped padding, empty convs.
//
// conv2d and its gradients are compared with independent implementations in window.test.ts
// and tests/autodiff; this file checks the helpers they are built from, and the semantics
// a faster formulation could lose: taps in the padding contribute nothing, not 0·w, so an
// infinite weight or cotangent there must not turn a result into NaN.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int32Dims, packed, windowTaps } from '../../compiler/ir/ops/indexing.js';
import type { Attrs, RefTensor } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OPS, inferType } from '../../compiler/ir/ops/registry.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { expectAllClose, maxAbs, toleranceFor } from '../helpers/allclose.js';

/** Float64 sums of a few products, in whatever order: anything but rounding noise is a bug. */
const F64_TOLERANCE = { rtol: 1e-12, atol: 1e-12 };

function run(op: OpName, inputs: readonly RefTensor[], attrs: Attrs, precision: 'float32' | 'float64'): RefTensor {
  const type = inferType(op, inputs.map((t) => t.type), attrs);
  return OPS[op].evaluate(inputs, attrs, type, precision);
}

const windowCase = fc
  .record({
    h: fc.integer({ min: 1, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
  })
  .map((c) => ({
    ...c,
    oh: Math.floor((c.h + c.padding[0] + c.padding[1] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1,
    ow: Math.floor((c.w + c.padding[2] + c.padding[3] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1,
  }))
  .filter((c) => c.oh >= 1 && c.ow >= 1);

describe('windowTaps', () => {
  it('lists exactly the in-bounds taps of each position, row-major, with their offsets and row runs', () => {
    fc.assert(
      fc.property(windowCase, (c) => {
        const taps = windowTaps(c);
        for (let oy = 0; oy < c.oh; oy++) {
          for (let ox = 0; ox < c.ow; ox++) {
            const want: { at: number; k: number }[] = [];
            const kxInBounds = new Set<number>();
            for (let ky = 0; ky < c.kh; ky++) {
              for (let kx = 0; kx < c.kw; kx++) {
                const iy = oy * c.stride[0] - c.padding[0] + ky * c.dilation[0];
                const ix = ox * c.stride[1] - c.padding[2] + kx * c.dilation[1];
                if (ix >= 0 && ix < c.w) kxInBounds.add(kx);
                if (iy >= 0 && iy < c.h && ix >= 0 && ix < c.w) want.push({ at: iy * c.w + ix, k: ky * c.kw + kx });
              }
            }
            const p = oy * c.ow + ox;
            const got = [];
            for (let t = taps.start[p]!; t < taps.start[p + 1]!; t++) got.push({ at: taps.at[t]!, k: taps.k[t]! });
            expect(got).toEqual(want);
            expect(taps.rowRun[p]).toBe(kxInBounds.size);
          }
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('packed and int32Dims', () => {
  it('packed gathers a strided view into a row-major Float64Array', () => {
    const arb = fc
      .record({
        shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        strides: fc.array(fc.nat(5), { minLength: 3, maxLength: 3 }),
        offset: fc.nat(4),
      })
      .map(({ shape, strides, offset }) => ({ shape, strides: strides.slice(0, shape.length), offset }));
    fc.assert(
      fc.property(arb, ({ shape, strides, offset }) => {
        const reach = offset + shape.reduce((acc, d, i) => acc + (d - 1) * strides[i]!, 0) + 1;
        const src = Float32Array.from({ length: reach }, (_, i) => i * 0.5 - 3);
        const got = packed(src, shape, strides, offset);
        // The expected values by explicit multi-indices, last axis fastest.
        const want: number[] = [];
        const visit = (axis: number, at: number): void => {
          if (axis === shape.length) {
            want.push(src[at]!);
            return;
          }
          for (let i = 0; i < shape[axis]!; i++) visit(axis + 1, at + i * strides[axis]!);
        };
        visit(0, offset);
        expect(got).toBeInstanceOf(Float64Array);
        expect(Array.from(got)).toEqual(want);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('int32Dims keeps the values and makes them integers', () => {
    // Dims up to the element cap (2^28) survive `| 0` unchanged.
    const dims = int32Dims([28, 1, 0, 2 ** 28]);
    expect(dims).toEqual([28, 1, 0, 2 ** 28]);
    expect(dims.every(Number.isInteger)).toBe(true);
  });
});

interface MatmulCase {
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly ta: boolean;
  readonly tb: boolean;
}

const matmulCase = fc
  .record({
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    m: fc.integer({ min: 1, max: 6 }),
    n: fc.integer({ min: 1, max: 6 }),
    k: fc.integer({ min: 0, max: 7 }),
    ta: fc.boolean(),
    tb: fc.boolean(),
    seed: fc.nat(1000),
  })
  .map((c) => {
    const a = [...c.batch, ...(c.ta ? [c.k, c.m] : [c.m, c.k])];
    const b = [...c.batch, ...(c.tb ? [c.n, c.k] : [c.k, c.n])];
    const values = (shape: Shape, salt: number): number[] => Array.from({ length: numel(shape) }, (_, i) => Math.sin(1 + i * 0.37 + c.seed + salt) * 2);
    return { ...c, aShape: a, bShape: b, aValues: values(a, 0), bValues: values(b, 7) };
  });

/** matmul by its definition: c[bt, i, j] = Σ_p a(i, p) · b(p, j), indexing the stored layouts directly. */
function matmulByLoops(c: MatmulCase, a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const batches = numel(c.batch);
  const out: number[] = [];
  for (let bt = 0; bt < batches; bt++) {
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let s = 0;
        for (let p = 0; p < c.k; p++) {
          const av = a[bt * c.m * c.k + (c.ta ? p * c.m + i : i * c.k + p)]!;
          const bv = b[bt * c.k * c.n + (c.tb ? j * c.k + p : p * c.n + j)]!;
          s += av * bv;
        }
        out.push(s);
      }
    }
  }
  return out;
}

describe('matmul against a triple loop', () => {
  it('agrees in float64 on random batches, sizes and transposes', () => {
    fc.assert(
      fc.property(matmulCase, (c) => {
        const a: RefTensor = { type: { dtype: 'f32', shape: c.aShape }, data: Float64Array.from(c.aValues) };
        const b: RefTensor = { type: { dtype: 'f32', shape: c.bShape }, data: Float64Array.from(c.bValues) };
        const got = run('matmul', [a, b], { transpose_a: c.ta, transpose_b: c.tb }, 'float64');
        expect(got.type.shape).toEqual([...c.batch, c.m, c.n]);
        expectAllClose(got.data, matmulByLoops(c, a.data, b.data), F64_TOLERANCE);
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('agrees in float32 within the contraction tolerance', () => {
    fc.assert(
      fc.property(matmulCase, (c) => {
        const a = tensorFrom('f32', c.aShape, c.aValues);
        const b = tensorFrom('f32', c.bShape, c.bValues);
        const got = run('matmul', [a, b], { transpose_a: c.ta, transpose_b: c.tb }, 'float32');
        expect(got.data).toBeInstanceOf(Float32Array);
        const tol = toleranceFor('reduction', { terms: Math.max(c.k, 1), maxAbsInput: maxAbs(a) * maxAbs(b) });
        expectAllClose(got.data, matmulByLoops(c, a.data, b.data), tol);
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});

describe('conv taps in the padding contribute nothing', () => {
  // A 2x2 input of ones, a 3x3 kernel, padding 1 on every side: a 2x2 output. The kernel's
  // top-left tap reads input (oy − 1, ox − 1), in the padding for every output but (1, 1).
  const attrs = { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 };
  const ones = tensorFrom('f32', [1, 1, 2, 2], [1, 1, 1, 1]);

  it('conv2d: an infinite weight on a padding tap leaves that output finite', () => {
    const w = tensorFrom('f32', [1, 1, 3, 3], [Infinity, 1, 2, 3, 4, 5, 6, 7, 8]);
    const y = run('conv2d', [ones, w], attrs, 'float32');
    // Output (0, 0) sees taps ky, kx ∈ {1, 2}: 4 + 5 + 7 + 8.
    expect(y.data[0]).toBe(24);
    expect(y.data[3]).toBe(Infinity);
  });

  it('conv2d_backward_filter: an infinite cotangent reaches only the taps that read the input', () => {
    const dy = tensorFrom('f32', [1, 1, 2, 2], [Infinity, 1, 1, 1]);
    const dw = run('conv2d_backward_filter', [ones, dy], { ...attrs, filter_shape: [1, 1, 3, 3] }, 'float32');
    // The top-left tap is in bounds only for output (1, 1), whose cotangent is 1.
    expect(dw.data[0]).toBe(1);
    // The centre tap reads the input for every output, output (0, 0) included.
    expect(dw.data[4]).toBe(Infinity);
  });
});

describe('convs with nothing to sum', () => {
  const huge = { stride: [1, 1], padding: [1e8, 1e8, 1e8, 1e8], dilation: [1, 1], groups: 1 };

  it('return at once for an empty batch, however large the window', () => {
    const x = tensorFrom('f32', [0, 1, 1, 1], []);
    const w = tensorFrom('f32', [1, 1, 1, 1], [2]);
    const y = run('conv2d', [x, w], huge, 'float32');
    expect(y.type.shape).toEqual([0, 1, 2e8 + 1, 2e8 + 1]);
    const dw = run('conv2d_backward_filter', [x, { type: y.type, data: new Float32Array(0) }], { ...huge, filter_shape: [1, 1, 1, 1] }, 'float32');
    expect(Array.from(dw.data)).toEqual([0]);
  });

  it('give zeros when the input has no channels', () => {
    const x = tensorFrom('f32', [1, 0, 3, 3], []);
    const w = tensorFrom('f32', [2, 0, 2, 2], []);
    const y = run('conv2d', [x, w], { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 }, 'float32');
    expect(y.type.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(y.data)).toEqual(new Array(8).fill(0));
  });
});
