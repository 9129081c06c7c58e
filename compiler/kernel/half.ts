// IEEE 754 binary16 in JavaScript (Node 20 has no Math.f16round or Float16Array): rounding, as the kernel interpreter models storage 'f16', and decoding, as the WebGPU session reads the half arena.

/** f16's largest finite value. */
export const HALF_MAX = 65504;

/**
 * The binary16 value nearest x (ties to even), as a number: magnitudes from 65520 up become
 * ±Infinity, those below 2^-25 become ±0, and in between the spacing is 2^(e-10) for
 * normal numbers (exponent e ≥ -14) and 2^-24 below, where f16 is subnormal.
 */
export function roundToHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  // log2 can be off by one near powers of two; the spacing must be that of a's binade.
  const binade = 2 ** e > a ? e - 1 : 2 ** (e + 1) <= a ? e + 1 : e;
  const ulp = 2 ** (Math.max(binade, -14) - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 !== 0) r -= 1;
  return Math.sign(x) * r * ulp;
}

/** The number a binary16 bit pattern stands for (IEEE 754: sign, 5 exponent bits biased by 15, 10 fraction bits). */
export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
