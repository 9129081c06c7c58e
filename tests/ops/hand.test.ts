// Every op's type rule and reference semantics against the hand-computed cases, plus NaN, overflow and edge behaviour.

import { describe, expect, it } from 'vitest';
import { OpTypeError } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OPS, OP_NAMES, inferType } from '../../compiler/ir/ops/registry.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { formatType } from '../../compiler/ir/types.js';
import { allCloseReport, expectAllClose, maxAbs, toleranceFor } from '../helpers/allclose.js';
import type { HandCase } from './hand-cases.js';
import { HAND_CASES, bool, f32, i32 } from './hand-cases.js';

/** Runs an op as the interpreter would: type rule first, then the reference on that type. */
function run(op: OpName, inputs: readonly Tensor[], attrs: HandCase['attrs'] = {}): Tensor {
  const type = inferType(op, inputs.map((t) => t.type), attrs);
  return OPS[op].reference(inputs, attrs, type);
}

function toleranceOf(op: OpName, inputs: readonly Tensor[]) {
  const terms = Math.max(1, ...inputs.map((t) => t.data.length));
  return toleranceFor(OPS[op].tolerance, { terms, maxAbsInput: maxAbs(...inputs) });
}

describe('hand-computed cases', () => {
  it('cover every op of the registry', () => {
    for (const op of OP_NAMES) expect(HAND_CASES[op].length, op).toBeGreaterThan(0);
  });

  for (const op of OP_NAMES) {
    describe(op, () => {
      for (const c of HAND_CASES[op] as readonly HandCase[]) {
        it(c.name, () => {
          const got = run(op, c.inputs, c.attrs);
          expect(formatType(got.type)).toBe(formatType(c.want.type));
          expectAllClose(got, c.want, toleranceOf(op, c.inputs));
        });
      }
    });
  }
});

describe('NaN, infinities and integer overflow', () => {
  it('max propagates NaN and argmax returns the first NaN', () => {
    const x = f32([4], [1, NaN, 3, NaN]);
    expect(run('max', [x], { axes: [0], keepdims: false }).data[0]).toBeNaN();
    expect(run('argmax', [x], { axis: 0, keepdims: false }).data[0]).toBe(1);
  });

  it('max of only −∞ is −∞', () => {
    expect(run('max', [f32([2], [-Infinity, -Infinity])], { axes: [0], keepdims: false }).data[0]).toBe(-Infinity);
  });

  it('maxpool propagates NaN from inside a window only', () => {
    const x = f32([1, 1, 2, 2], [NaN, 1, 2, 3]);
    const got = run('maxpool2d', [x], { kernel: [1, 2], stride: [1, 1], padding: [0, 0, 0, 0] });
    expectAllClose(got, f32([1, 1, 2, 1], [NaN, 3]), toleranceFor('exact'));
  });

  it('softmax gives −∞ inputs weight 0 and log_softmax keeps them −∞', () => {
    const x = f32([2], [-Infinity, 0]);
    expectAllClose(run('softmax', [x], { axis: 0 }), f32([2], [0, 1]), toleranceFor('exact'));
    expectAllClose(run('log_softmax', [x], { axis: 0 }), f32([2], [-Infinity, 0]), toleranceFor('exact'));
  });

  it('an i32 sum wraps like 32-bit addition', () => {
    const x = i32([3], [2 ** 31 - 1, 1, 5]);
    expect(run('sum', [x], { axes: [0], keepdims: false }).data[0]).toBe(-(2 ** 31) + 5);
  });

  it('f32 sums accumulate in float64: 2^24 + 1 + 1 keeps both ones', () => {
    // In float32, 2^24 + 1 rounds back to 2^24; the float64 sum is exact, then rounds once.
    const x = f32([3], [2 ** 24, 1, 1]);
    expect(run('sum', [x], { axes: [0], keepdims: false }).data[0]).toBe(2 ** 24 + 2);
  });
});

describe('references return fresh data', () => {
  it('reshape copies, so writing the result leaves the input alone', () => {
    const x = f32([2, 2], [1, 2, 3, 4]);
    const y = run('reshape', [x], { shape: [4] });
    y.data[0] = 99;
    expect(x.data[0]).toBe(1);
  });
});

describe('type rules tightened with the reference semantics', () => {
  it('gather from an empty axis with indices is rejected: nothing to clamp into', () => {
    expect(() => inferType('gather', [f32([0, 2], []).type, i32([1], [0]).type], { axis: 0 })).toThrow(OpTypeError);
    expect(inferType('gather', [f32([0, 2], []).type, i32([0], []).type], { axis: 0 }).shape).toEqual([0, 2]);
  });

  it('pad values must fit the dtype', () => {
    expect(() => inferType('pad', [bool([1], [1]).type], { low: [1], high: [0], value: 2 })).toThrow(/bool/);
    expect(() => inferType('pad', [i32([1], [1]).type], { low: [1], high: [0], value: 2 ** 31 })).toThrow(/32-bit/);
    expect(run('pad', [bool([1], [0])], { low: [1], high: [0], value: 1 }).data).toEqual(new Uint8Array([1, 0]));
  });

  it('pooling rejects an empty spatial extent, where a window would hold nothing', () => {
    const attrs = { kernel: [2, 2], stride: [1, 1], padding: [1, 1, 1, 1] };
    expect(() => inferType('avgpool2d', [f32([1, 1, 0, 3], []).type], attrs)).toThrow(/non-empty/);
  });
});

describe('the all-close helper', () => {
  it('accepts values within atol + rtol·|want|', () => {
    expect(allCloseReport([1.0001, 100.01], [1, 100], { rtol: 1e-4, atol: 1e-4 })).toBeNull();
  });

  it('names the worst element by its multi-index', () => {
    const want = f32([2, 2], [1, 2, 3, 4]);
    const got = f32([2, 2], [1, 2.5, 3, 5]);
    const report = allCloseReport(got, want, { rtol: 0, atol: 0.1 });
    expect(report).toMatch(/2 of 4 elements/);
    expect(report).toMatch(/worst at \[1, 1\] \(flat 3\): got 5, want 4/);
  });

  it('matches NaN only with NaN and an infinity only with itself', () => {
    const tol = { rtol: 1, atol: 1 };
    expect(allCloseReport([NaN, Infinity], [NaN, Infinity], tol)).toBeNull();
    expect(allCloseReport([NaN], [1], tol)).not.toBeNull();
    expect(allCloseReport([Infinity], [-Infinity], tol)).not.toBeNull();
  });

  it('reports a type difference before any value', () => {
    expect(allCloseReport(f32([2], [1, 2]), f32([1, 2], [1, 2]), { rtol: 0, atol: 0 })).toMatch(/type differs/);
  });

  it('gives the reduction tolerance its √K·max|input| scale', () => {
    expect(toleranceFor('reduction', { terms: 100, maxAbsInput: 3 }).atol).toBeCloseTo(1e-5 * 10 * 3, 12);
    expect(toleranceFor('transcendental')).toEqual({ rtol: 1e-4, atol: 1e-5 });
  });
});
