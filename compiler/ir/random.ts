// Seeded random streams: xoshiro128** keyed by hashing (seed, stream name), so streams never interact.
//
// Every random choice in Sinter (parameter init, shuffling, dropout masks) takes its own
// named stream from the one user seed. Deriving the generator state from a hash of the
// name, rather than drawing streams one after another from a shared generator, means that
// adding a parameter or a dropout layer never changes the numbers anyone else sees.
//
// xoshiro128** (Blackman & Vigna, 2018) needs only 32-bit integer arithmetic, which
// JavaScript does exactly with Math.imul and `>>> 0`; its 128-bit state passes BigCrush.

const TWO_POW_32 = 2 ** 32;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** MurmurHash3's 32-bit finalizer: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Counter-based uniform in [0, 1) for element `index` of draw `salt` under `key`: no state,
 * so any element can be computed alone, in any order, on any backend with 32-bit integer
 * arithmetic. 24 random bits, exactly representable in f32.
 */
export function counterUniform(key: number, salt: number, index: number): number {
  let h = fmix32((Math.imul(key, 0x9e3779b1) ^ fmix32((salt + 0x85ebca77) >>> 0)) >>> 0);
  h = fmix32((h ^ Math.imul(index, 0xc2b2ae3d)) >>> 0);
  return (h >>> 8) / 2 ** 24;
}

/** MurmurHash3 (x86, 32-bit) over a list of 32-bit words, from a starting value. */
function murmurWords(words: readonly number[], start: number): number {
  let h = start >>> 0;
  for (const w of words) {
    let k = Math.imul(w >>> 0, 0xcc9e2d51);
    k = rotl(k >>> 0, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h >>> 0, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  return fmix32(h ^ words.length);
}

/**
 * The four state words of stream `name` under `seed`: four hashes of the same message
 * (seed's two halves, then the name's UTF-16 code units) from four different starting values.
 */
export function streamState(seed: number, name: string): [number, number, number, number] {
  if (!Number.isSafeInteger(seed)) throw new Error(`internal: a random seed must be a safe integer, got ${seed}`);
  const words = [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
  for (let i = 0; i < name.length; i++) words.push(name.charCodeAt(i));
  const state: [number, number, number, number] = [
    murmurWords(words, 0x243f6a88),
    murmurWords(words, 0x85a308d3),
    murmurWords(words, 0x13198a2e),
    murmurWords(words, 0x03707344),
  ];
  // The all-zero state is xoshiro's one fixed point; 2^-128 odds, but cheap to rule out.
  if (state.every((w) => w === 0)) state[0] = 1;
  return state;
}

/** A xoshiro128** generator with helpers for the distributions Sinter draws from. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The second normal of the last Box–Muller pair, not yet handed out. */
  private spareNormal: number | null = null;

  constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w >>> 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new Error('internal: xoshiro128** state must not be all zero');
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float64 in [0, 1) with 53 random bits (the top 27 of one draw, 26 of the next). */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 2 ** 26 + lo) / 2 ** 53;
  }

  /** A uniform integer in [0, n), by rejection so that no value is favoured (n ≤ 2^32). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new Error(`internal: nextInt needs 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.nextU32();
      if (u < limit) return u % n;
    }
  }

  /**
   * A standard normal by Box–Muller: for u1 in (0, 1] and u2 in [0, 1),
   * √(−2 ln u1)·cos(2π u2) and √(−2 ln u1)·sin(2π u2) are two independent N(0, 1) draws.
   */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = 1 - this.nextFloat();
    const u2 = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

/** The generator of stream `name` under `seed`: same pair, same numbers, on every platform. */
export function rngFor(seed: number, name: string): Rng {
  return new Rng(streamState(seed, name));
}
