// roundToHalf against binary16 itself: every finite f16, decoded from its 16 bits, rounds to itself, and any number rounds to the nearest of them (ties to the even significand).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HALF_MAX, roundToHalf } from '../../compiler/kernel/half.js';

/** The value of a binary16 bit pattern, by the format's definition (IEEE 754: sign, 5 exponent bits biased by 15, 10 fraction bits). */
function decode(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The non-negative finite f16 values in increasing order, with their bit patterns (the index is the pattern). */
const POSITIVE = Array.from({ length: 0x7c00 }, (_, bits) => decode(bits));

/** The nearest non-negative f16 to a ≥ 0 by search over the table; ties go to the even pattern (even significand). */
function nearest(a: number): number {
  if (a >= 65520) return Infinity; // past the midpoint between 65504 and 2^16, where rounding overflows
  let lo = 0;
  let hi = POSITIVE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const [dl, dh] = [a - POSITIVE[lo]!, POSITIVE[hi]! - a];
  if (dl !== dh) return dl < dh ? POSITIVE[lo]! : POSITIVE[hi]!;
  return lo % 2 === 0 ? POSITIVE[lo]! : POSITIVE[hi]!;
}

describe('roundToHalf', () => {
  it('keeps every finite binary16 value, both signs', () => {
    for (const v of POSITIVE) {
      expect(roundToHalf(v)).toBe(v);
      expect(roundToHalf(-v)).toBe(-v);
    }
    expect(POSITIVE.at(-1)).toBe(HALF_MAX);
  });

  it('rounds to the nearest binary16 value, ties to even, on float32 inputs across the whole range (seeded)', () => {
    const magnitude = fc.oneof(fc.float({ min: 0, max: 70000, noNaN: true }), fc.float({ min: 0, max: Math.fround(1e-3), noNaN: true }), fc.float({ min: 0, max: Math.fround(1e-7), noNaN: true }));
    fc.assert(
      fc.property(magnitude, fc.boolean(), (a, negative) => {
        const x = negative ? -a : a;
        const want = nearest(a);
        expect(roundToHalf(x)).toBe(x === 0 ? x : negative ? -want : want);
      }),
      { seed: 16, numRuns: 20000 },
    );
  });

  it('rounds midpoints between neighbours to the even one, and overflows only from 65520', () => {
    for (let bits = 0; bits < 0x7bff; bits += 97) {
      const mid = (POSITIVE[bits]! + POSITIVE[bits + 1]!) / 2;
      expect(roundToHalf(mid)).toBe(POSITIVE[bits % 2 === 0 ? bits : bits + 1]);
    }
    expect(roundToHalf(65519.99)).toBe(65504);
    expect(roundToHalf(65520)).toBe(Infinity);
    expect(roundToHalf(-1e6)).toBe(-Infinity);
    expect(roundToHalf(2 ** -25)).toBe(0);
    expect(roundToHalf(2 ** -25 * 1.01)).toBe(2 ** -24);
  });
});
