// Algebraic properties of the reference ops on random shapes: movement round trips, broadcast/sum, softmax.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OPS, inferType } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { Shape } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { expectAllClose, maxAbs, toleranceFor } from '../helpers/allclose.js';

const RUNS = { seed: 42, numRuns: 100 };
const EXACT = toleranceFor('exact');

function run(op: OpName, inputs: readonly Tensor[], attrs: Attrs): Tensor {
  const type = inferType(op, inputs.map((t) => t.type), attrs);
  return OPS[op].reference(inputs, attrs, type);
}

/** A tensor of the given shape holding distinct values, so any misplaced element shows. */
function distinct(shape: Shape, offset = 0): Tensor {
  return tensorFrom('f32', shape, Array.from({ length: numel(shape) }, (_, i) => offset + i));
}

const shapeArb = (minRank: number, maxExtent = 3) => fc.array(fc.integer({ min: 0, max: maxExtent }), { minLength: minRank, maxLength: 4 });
const permOf = (rank: number) => fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank });

describe('movement round trips', () => {
  it('transpose then the inverse permutation is the identity', () => {
    const arb = shapeArb(1).chain((shape) => fc.record({ shape: fc.constant(shape), perm: permOf(shape.length) }));
    fc.assert(
      fc.property(arb, ({ shape, perm }) => {
        const x = distinct(shape);
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        const y = run('transpose', [x], { perm });
        expect(y.type.shape).toEqual(perm.map((p) => shape[p]));
        expectAllClose(run('transpose', [y], { perm: inverse }), x, EXACT);
      }),
      RUNS,
    );
  });

  it('reshape to a flat vector and back gives the input, order kept', () => {
    fc.assert(
      fc.property(shapeArb(0), (shape) => {
        const x = distinct(shape);
        const flat = run('reshape', [x], { shape: [numel(shape)] });
        expectAllClose(flat.data, x.data, EXACT);
        expectAllClose(run('reshape', [flat], { shape }), x, EXACT);
      }),
      RUNS,
    );
  });

  it('slicing a concat at the part boundaries gives back the parts', () => {
    const arb = fc
      .record({ base: shapeArb(1), axisSeed: fc.nat(), extents: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }) })
      .map(({ base, axisSeed, extents }) => ({ base, axis: axisSeed % base.length, extents }));
    fc.assert(
      fc.property(arb, ({ base, axis, extents }) => {
        let offset = 0;
        const parts = extents.map((e) => {
          const shape = base.map((d, i) => (i === axis ? e : d));
          const t = distinct(shape, offset);
          offset += numel(shape);
          return t;
        });
        const joined = run('concat', parts, { axis });
        let start = 0;
        for (const part of parts) {
          const end = start + part.type.shape[axis]!;
          const starts = joined.type.shape.map((_, i) => (i === axis ? start : 0));
          const ends = joined.type.shape.map((d, i) => (i === axis ? end : d));
          const steps = joined.type.shape.map(() => 1);
          expectAllClose(run('slice', [joined], { starts, ends, steps }), part, EXACT);
          start = end;
        }
      }),
      RUNS,
    );
  });

  it('pad then slice off the padding is the identity', () => {
    const arb = shapeArb(1).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        low: fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length }),
        high: fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ shape, low, high }) => {
        const x = distinct(shape, 1);
        const padded = run('pad', [x], { low, high, value: -1 });
        const starts = low;
        const ends = shape.map((d, i) => low[i]! + d);
        expectAllClose(run('slice', [padded], { starts, ends, steps: shape.map(() => 1) }), x, EXACT);
        // What was added is all padding value: the padded sum is x's sum minus the added count.
        const added = numel(padded.type.shape) - numel(shape);
        const sumOf = (t: Tensor) => Array.from(t.data).reduce((a, b) => a + b, 0);
        expect(sumOf(padded)).toBe(sumOf(x) - added);
      }),
      RUNS,
    );
  });

  it('broadcast then sum over the broadcast axes is x times the repeat count', () => {
    const arb = fc
      .array(fc.record({ extent: fc.integer({ min: 1, max: 3 }), kept: fc.boolean(), squeezed: fc.boolean() }), { minLength: 1, maxLength: 4 })
      .chain((axes) => fc.record({ axes: fc.constant(axes), values: fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 81, maxLength: 81 }) }));
    fc.assert(
      fc.property(arb, ({ axes, values }) => {
        // Output axis i is either new (not kept), or kept from x with x's extent equal or 1.
        const shape = axes.map((a) => a.extent);
        const dims = axes.flatMap((a, i) => (a.kept ? [i] : []));
        const xShape = dims.map((d) => (axes[d]!.squeezed ? 1 : shape[d]!));
        const x = tensorFrom('f32', xShape, values.slice(0, numel(xShape)));
        const repeated = axes.flatMap((a, i) => (!a.kept || a.squeezed ? [i] : []));
        const count = numel(repeated.map((i) => shape[i]!));
        const y = run('broadcast', [x], { shape, dims });
        // keepdims puts the kept extents in x's own order, so the data lines up with x's.
        const summed = run('sum', [y], { axes: repeated, keepdims: true });
        expectAllClose(summed.data, Array.from(x.data, (v) => v * count), toleranceFor('reduction', { terms: count, maxAbsInput: maxAbs(x) }));
      }),
      RUNS,
    );
  });

  it('gather with every index in order is the identity', () => {
    const arb = shapeArb(1)
      .filter((s) => s.every((d) => d > 0))
      .chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }) }));
    fc.assert(
      fc.property(arb, ({ shape, axis }) => {
        const x = distinct(shape);
        const idx = tensorFrom('i32', [shape[axis]!], [...Array(shape[axis]!).keys()]);
        expectAllClose(run('gather', [x, idx], { axis }), x, EXACT);
      }),
      RUNS,
    );
  });
});

describe('softmax and log_softmax', () => {
  const arb = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axis: fc.integer({ min: 0, max: shape.length - 1 }),
        values: fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: numel(shape), maxLength: numel(shape) }),
      }),
    );

  it('softmax sums to 1 along the axis and lies in [0, 1]', () => {
    fc.assert(
      fc.property(arb, ({ shape, axis, values }) => {
        const p = run('softmax', [tensorFrom('f32', shape, values)], { axis });
        expect(Array.from(p.data).every((v) => v >= 0 && v <= 1)).toBe(true);
        const total = run('sum', [p], { axes: [axis], keepdims: false });
        const ones = new Array<number>(total.data.length).fill(1);
        expectAllClose(total.data, ones, toleranceFor('reduction', { terms: shape[axis]!, maxAbsInput: 1 }));
      }),
      RUNS,
    );
  });

  it('softmax is exp(log_softmax)', () => {
    fc.assert(
      fc.property(arb, ({ shape, axis, values }) => {
        const x = tensorFrom('f32', shape, values);
        const p = run('softmax', [x], { axis });
        const expLog = run('exp', [run('log_softmax', [x], { axis })], {});
        expectAllClose(p, expLog, toleranceFor('transcendental'));
      }),
      RUNS,
    );
  });

  it('is unchanged by adding a constant along the axis', () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: -50, max: 50 }), ({ shape, axis, values }, shift) => {
        const p = run('softmax', [tensorFrom('f32', shape, values)], { axis });
        const q = run('softmax', [tensorFrom('f32', shape, values.map((v) => v + shift))], { axis });
        expectAllClose(q, p, toleranceFor('transcendental'));
      }),
      RUNS,
    );
  });
});
