// Per-op gradient cases: for every op of the registry, random one-op cases to check, or why none is checked.
//
// Shapes and attributes come from fast-check; values come from a seeded xoshiro stream so
// they can be kept away from kinks (relu and abs away from 0, max and maxpool inputs distinct
// by at least 0.2, maximum/minimum operands apart), which central differences with eps 1e-6
// would otherwise straddle. Every value is rounded to float32 so a float32 run sees the
// same inputs as the float64 one. Tensors stay tiny: each case costs two forward runs per
// differentiated coordinate.

import fc from 'fast-check';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { Rng } from '../../compiler/ir/random.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { DType, Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import type { InputSpec, OneOpCase } from './gradcheck.js';

/**
 * What the per-op test does with an op: check random cases, check that no gradient flows
 * (integer or bool results, or no inputs), or check that it refuses (VJP 'none').
 */
export type GradCase =
  | { readonly kind: 'check'; readonly arb: fc.Arbitrary<OneOpCase>; readonly runs?: number }
  | { readonly kind: 'no-gradient'; readonly why: string }
  | { readonly kind: 'refuses'; readonly why: string; readonly sample: OneOpCase };

/** Draws values: uniform, bounded away from zero, or pairwise distinct. */
class Values {
  constructor(private readonly rng: Rng) {}

  uniform(n: number, lo = -2, hi = 2): number[] {
    return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * this.rng.nextFloat()));
  }

  /** Magnitudes in [0.2, 2], random signs. */
  awayFromZero(n: number): number[] {
    return this.uniform(n, 0.2, 2).map((v) => (this.rng.nextFloat() < 0.5 ? -v : v));
  }

  /** A shuffle of n values spaced 0.25 apart with jitter under 0.05, so any two differ by at least 0.2. */
  distinct(n: number): number[] {
    const xs = Array.from({ length: n }, (_, i) => Math.fround((i - n / 2) * 0.25 + 0.05 * this.rng.nextFloat()));
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  /** i32 indices in [lo, hi]. */
  ints(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => lo + this.rng.nextInt(hi - lo + 1));
  }
}

const f32 = (shape: Shape, values: readonly number[]): InputSpec => ({ type: { dtype: 'f32', shape }, values, wrt: true });
const aux = (dtype: DType, shape: Shape, values: readonly number[]): InputSpec => ({ type: { dtype, shape }, values, wrt: false });

const shapeArb = (minRank: number, maxRank: number, maxExtent = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxExtent }), { minLength: minRank, maxLength: maxRank });

/** A case from shapes/attributes drawn by `arb` and values drawn by `build` from a seeded stream. */
function withValues<T>(arb: fc.Arbitrary<T>, build: (t: T, v: Values) => Omit<OneOpCase, 'seed'>): fc.Arbitrary<OneOpCase> {
  return fc.tuple(arb, fc.nat()).map(([t, seed]) => ({ ...build(t, new Values(rngFor(seed, 'grad-case'))), seed }));
}

function unaryCase(draw: (v: Values, n: number) => number[]): GradCase {
  return { kind: 'check', arb: withValues(shapeArb(0, 3), (shape, v) => ({ inputs: [f32(shape, draw(v, numel(shape)))], attrs: {} })) };
}

function binaryCase(draw: (v: Values, n: number) => [number[], number[]]): GradCase {
  return {
    kind: 'check',
    arb: withValues(shapeArb(0, 3), (shape, v) => {
      const [a, b] = draw(v, numel(shape));
      return { inputs: [f32(shape, a), f32(shape, b)], attrs: {} };
    }),
  };
}

const axesArb = (rank: number): fc.Arbitrary<number[]> => fc.subarray(Array.from({ length: rank }, (_, i) => i));

function reduceCase(distinct: boolean): GradCase {
  const arb = shapeArb(1, 3).chain((shape) => fc.record({ shape: fc.constant(shape), axes: axesArb(shape.length), keepdims: fc.boolean() }));
  return {
    kind: 'check',
    arb: withValues(arb, ({ shape, axes, keepdims }, v) => {
      const n = numel(shape);
      return { inputs: [f32(shape, distinct ? v.distinct(n) : v.uniform(n))], attrs: { axes, keepdims } };
    }),
  };
}

function softmaxCase(): GradCase {
  const arb = shapeArb(1, 3).chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }) }));
  return { kind: 'check', arb: withValues(arb, ({ shape, axis }, v) => ({ inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { axis } })) };
}

const MOVEMENT_CASES = {
  reshape: {
    kind: 'check',
    arb: withValues(fc.tuple(shapeArb(0, 3), fc.nat(2)), ([shape, how], v) => {
      const n = numel(shape);
      const target = how === 0 ? [n] : how === 1 ? [...shape].reverse() : [1, ...shape, 1];
      return { inputs: [f32(shape, v.uniform(n))], attrs: { shape: target } };
    }),
  },
  transpose: {
    kind: 'check',
    arb: withValues(
      shapeArb(1, 4).chain((shape) => fc.record({ shape: fc.constant(shape), perm: fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }) })),
      ({ shape, perm }, v) => ({ inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { perm } }),
    ),
  },
  broadcast: {
    kind: 'check',
    // Input extents are 1 or the target's, and the input's axes land on a sorted subset of the output's.
    arb: withValues(
      shapeArb(1, 4).chain((out) =>
        fc.record({
          out: fc.constant(out),
          dims: axesArb(out.length),
          ones: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        }),
      ),
      ({ out, dims, ones }, v) => {
        const shape = dims.map((d) => (ones[d] ? 1 : out[d]!));
        return { inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { shape: out, dims } };
      },
    ),
  },
  slice: {
    kind: 'check',
    arb: withValues(
      shapeArb(1, 3, 5).chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          bounds: fc.tuple(...shape.map((d) => fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d }), fc.integer({ min: 1, max: 3 })))),
        }),
      ),
      ({ shape, bounds }, v) => {
        const starts = bounds.map(([a, b]) => Math.min(a, b));
        const ends = bounds.map(([a, b]) => Math.max(a, b));
        return { inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { starts, ends, steps: bounds.map(([, , s]) => s) } };
      },
    ),
  },
  pad: {
    kind: 'check',
    arb: withValues(
      shapeArb(1, 3).chain((shape) => {
        const pads = fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length });
        return fc.record({ shape: fc.constant(shape), low: pads, high: pads, value: fc.integer({ min: -2, max: 2 }) });
      }),
      ({ shape, low, high, value }, v) => ({ inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { low, high, value } }),
    ),
  },
  concat: {
    kind: 'check',
    arb: withValues(
      shapeArb(1, 3).chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          axis: fc.integer({ min: 0, max: shape.length - 1 }),
          extents: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        }),
      ),
      ({ shape, axis, extents }, v) => ({
        inputs: extents.map((e) => {
          const s = shape.map((d, i) => (i === axis ? e : d));
          return f32(s, v.uniform(numel(s)));
        }),
        attrs: { axis },
      }),
    ),
  },
  gather: {
    kind: 'check',
    // Indices run from −1 to the extent, so clamping at both ends and repeats are covered.
    arb: withValues(
      shapeArb(1, 3).chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), idx: shapeArb(0, 2) })),
      ({ shape, axis, idx }, v) => ({
        inputs: [f32(shape, v.uniform(numel(shape))), aux('i32', idx, v.ints(numel(idx), -1, shape[axis]!))],
        attrs: { axis },
      }),
    ),
  },
  scatter_add: {
    kind: 'check',
    arb: withValues(
      shapeArb(1, 3).chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), idx: shapeArb(0, 2) })),
      ({ shape, axis, idx }, v) => {
        const updates = [...shape.slice(0, axis), ...idx, ...shape.slice(axis + 1)];
        return {
          inputs: [f32(shape, v.uniform(numel(shape))), aux('i32', idx, v.ints(numel(idx), -1, shape[axis]!)), f32(updates, v.uniform(numel(updates)))],
          attrs: { axis },
        };
      },
    ),
  },
} satisfies Partial<Record<OpName, GradCase>>;

/** A conv2d geometry small enough that every tap fits: input [n, c, h, w], weight [o, c/groups, kh, kw]. */
export interface ConvDraw {
  readonly x: number[];
  readonly w: number[];
  readonly y: number[];
  readonly attrs: Attrs;
}

export const convArb: fc.Arbitrary<ConvDraw> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.nat(1), fc.nat(1), fc.nat(1), fc.nat(1)),
    extra: fc.tuple(fc.nat(2), fc.nat(2)),
  })
  .map(({ n, groups, cg, og, k, stride, dilation, padding, extra }) => {
    const span = [dilation[0] * (k[0] - 1) + 1, dilation[1] * (k[1] - 1) + 1];
    const h = Math.max(1, span[0]! - padding[0] - padding[1]) + extra[0];
    const w = Math.max(1, span[1]! - padding[2] - padding[3]) + extra[1];
    const oh = Math.floor((h + padding[0] + padding[1] - span[0]!) / stride[0]) + 1;
    const ow = Math.floor((w + padding[2] + padding[3] - span[1]!) / stride[1]) + 1;
    const o = groups * og;
    return {
      x: [n, groups * cg, h, w],
      w: [o, cg, k[0], k[1]],
      y: [n, o, oh, ow],
      attrs: { stride: [...stride], padding: [...padding], dilation: [...dilation], groups },
    };
  });

/** A pooling geometry: padding below the kernel, input at least as large as the padded window needs. */
export const poolArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 2 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    extra: fc.tuple(fc.nat(3), fc.nat(3)),
  })
  .map(({ n, c, k, stride, pad, extra }) => {
    const padding = [pad[0] % k[0], pad[1] % k[0], pad[2] % k[1], pad[3] % k[1]];
    const h = Math.max(1, k[0] - padding[0]! - padding[1]!) + extra[0];
    const w = Math.max(1, k[1] - padding[2]! - padding[3]!) + extra[1];
    const oh = Math.floor((h + padding[0]! + padding[1]! - k[0]) / stride[0]) + 1;
    const ow = Math.floor((w + padding[2]! + padding[3]! - k[1]) / stride[1]) + 1;
    return { x: [n, c, h, w], y: [n, c, oh, ow], attrs: { kernel: [...k], stride: [...stride], padding } };
  });

const CONTRACTION_CASES = {
  matmul: {
    kind: 'check',
    arb: withValues(
      fc.record({
        batch: shapeArb(0, 1, 2),
        m: fc.integer({ min: 1, max: 3 }),
        k: fc.integer({ min: 1, max: 3 }),
        n: fc.integer({ min: 1, max: 3 }),
        ta: fc.boolean(),
        tb: fc.boolean(),
      }),
      ({ batch, m, k, n, ta, tb }, v) => {
        const a = [...batch, ...(ta ? [k, m] : [m, k])];
        const b = [...batch, ...(tb ? [n, k] : [k, n])];
        return { inputs: [f32(a, v.uniform(numel(a))), f32(b, v.uniform(numel(b)))], attrs: { transpose_a: ta, transpose_b: tb } };
      },
    ),
  },
  conv2d: {
    kind: 'check',
    runs: 25,
    arb: withValues(convArb, (g, v) => ({ inputs: [f32(g.x, v.uniform(numel(g.x))), f32(g.w, v.uniform(numel(g.w)))], attrs: g.attrs })),
  },
  conv2d_backward_input: {
    kind: 'check',
    runs: 25,
    arb: withValues(convArb, (g, v) => ({
      inputs: [f32(g.y, v.uniform(numel(g.y))), f32(g.w, v.uniform(numel(g.w)))],
      attrs: { ...g.attrs, input_shape: g.x },
    })),
  },
  conv2d_backward_filter: {
    kind: 'check',
    runs: 25,
    arb: withValues(convArb, (g, v) => ({
      inputs: [f32(g.x, v.uniform(numel(g.x))), f32(g.y, v.uniform(numel(g.y)))],
      attrs: { ...g.attrs, filter_shape: g.w },
    })),
  },
} satisfies Partial<Record<OpName, GradCase>>;

const NN_CASES = {
  maxpool2d: { kind: 'check', arb: withValues(poolArb, (g, v) => ({ inputs: [f32(g.x, v.distinct(numel(g.x)))], attrs: g.attrs })) },
  avgpool2d: { kind: 'check', arb: withValues(poolArb, (g, v) => ({ inputs: [f32(g.x, v.uniform(numel(g.x)))], attrs: g.attrs })) },
  maxpool2d_backward: {
    kind: 'refuses',
    why: 'second-order gradients through max pooling are not supported',
    sample: { inputs: [f32([1, 1, 2, 2], [1, 2, 3, 4]), f32([1, 1, 1, 1], [1])], attrs: { kernel: [2, 2], stride: [1, 1], padding: [0, 0, 0, 0] }, seed: 1 },
  },
  avgpool2d_backward: {
    kind: 'check',
    arb: withValues(poolArb, (g, v) => ({ inputs: [f32(g.y, v.uniform(numel(g.y)))], attrs: { ...g.attrs, input_shape: g.x } })),
  },
  softmax: softmaxCase(),
  log_softmax: softmaxCase(),
  one_hot: { kind: 'no-gradient', why: 'its only input holds i32 indices' },
} satisfies Partial<Record<OpName, GradCase>>;

const ELEMENTWISE_CASES = {
  neg: unaryCase((v, n) => v.uniform(n)),
  abs: unaryCase((v, n) => v.awayFromZero(n)),
  exp: unaryCase((v, n) => v.uniform(n)),
  log: unaryCase((v, n) => v.uniform(n, 0.3, 2)),
  sqrt: unaryCase((v, n) => v.uniform(n, 0.3, 2)),
  rsqrt: unaryCase((v, n) => v.uniform(n, 0.3, 2)),
  relu: unaryCase((v, n) => v.awayFromZero(n)),
  sigmoid: unaryCase((v, n) => v.uniform(n, -3, 3)),
  tanh: unaryCase((v, n) => v.uniform(n)),
  gelu: unaryCase((v, n) => v.uniform(n, -3, 3)),
  add: binaryCase((v, n) => [v.uniform(n), v.uniform(n)]),
  sub: binaryCase((v, n) => [v.uniform(n), v.uniform(n)]),
  mul: binaryCase((v, n) => [v.uniform(n), v.uniform(n)]),
  div: binaryCase((v, n) => [v.uniform(n), v.awayFromZero(n)]),
  maximum: binaryCase((v, n) => apart(v, n)),
  minimum: binaryCase((v, n) => apart(v, n)),
  pow: binaryCase((v, n) => [v.uniform(n, 0.3, 2), v.uniform(n)]),
  greater: { kind: 'no-gradient', why: 'its result is bool' },
  less: { kind: 'no-gradient', why: 'its result is bool' },
  equal: { kind: 'no-gradient', why: 'its result is bool' },
  select: {
    kind: 'check',
    arb: withValues(shapeArb(0, 3), (shape, v) => {
      const n = numel(shape);
      return { inputs: [aux('bool', shape, v.ints(n, 0, 1)), f32(shape, v.uniform(n)), f32(shape, v.uniform(n))], attrs: {} };
    }),
  },
  cast: { kind: 'check', arb: withValues(shapeArb(0, 3), (shape, v) => ({ inputs: [f32(shape, v.uniform(numel(shape)))], attrs: { to: 'f32' } })) },
  constant: { kind: 'no-gradient', why: 'it has no inputs' },
  random_uniform: { kind: 'no-gradient', why: 'its only input is an i32 key' },
} satisfies Partial<Record<OpName, GradCase>>;

/** Two operands at least 0.2 apart elementwise, either one larger. */
function apart(v: Values, n: number): [number[], number[]] {
  const a = v.uniform(n);
  const gap = v.awayFromZero(n);
  return [a, a.map((x, i) => Math.fround(x + gap[i]!))];
}

const REDUCE_CASES = {
  sum: reduceCase(false),
  mean: reduceCase(false),
  max: reduceCase(true),
  argmax: { kind: 'no-gradient', why: 'its result is i32' },
} satisfies Partial<Record<OpName, GradCase>>;

/** The table's type makes an op added to the registry without a gradient case a type error. */
export const GRAD_CASES: { readonly [K in OpName]: GradCase } = {
  ...ELEMENTWISE_CASES,
  ...REDUCE_CASES,
  ...MOVEMENT_CASES,
  ...CONTRACTION_CASES,
  ...NN_CASES,
};
