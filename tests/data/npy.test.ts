// .npy reading and writing: round trips, files NumPy wrote, every kind of malformed file, and fuzzing.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/types.js';
import { numel } from '../../compiler/ir/types.js';
import { MAX_NPY_HEADER_BYTES, NpyError, decodeNpy, encodeNpy } from '../../runtime/data/npy.js';
import { expectAllClose, toleranceFor } from '../helpers/allclose.js';

const EXACT = toleranceFor('exact');

/** A .npy file with a hand-written header (padded as NumPy does) and raw data bytes. */
function npyWith(header: string, data: ArrayLike<number> = [], version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const padded = header + ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const bytes = new Uint8Array(prefix + padded.length + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(bytes.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) bytes[prefix + i] = padded.charCodeAt(i);
  bytes.set(Array.from(data), prefix + padded.length);
  return bytes;
}

const header = (descr: string, shape: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
const fromBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Asserts that decoding fails with an NpyError naming the file and matching `what`. */
function expectNpyError(bytes: Uint8Array, what: RegExp): void {
  let caught: unknown;
  try {
    decodeNpy(bytes, 'bad.npy');
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NpyError);
  const message = (caught as Error).message;
  expect(message.startsWith('bad.npy: ')).toBe(true);
  expect(message).toMatch(what);
}

describe('round trip', () => {
  const dtypes: readonly DType[] = ['f32', 'i32', 'bool'];
  const elem: Record<DType, fc.Arbitrary<number>> = {
    f32: fc.float(),
    i32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    bool: fc.integer({ min: 0, max: 1 }),
  };
  const tensorArb = fc
    .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 8 }) })
    .filter(({ shape }) => numel(shape) <= 512)
    .chain(({ dtype, shape }) =>
      fc.array(elem[dtype], { minLength: numel(shape), maxLength: numel(shape) }).map((values) => tensorFrom(dtype, shape, values)),
    );

  it('decode(encode(t)) is t, for every dtype and rank up to 8', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const bytes = encodeNpy(t);
        const back = decodeNpy(bytes, 't.npy');
        expect(back.type).toEqual(t.type);
        expectAllClose(back, t, EXACT);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('writes version 1.0 with the data starting at a multiple of 64', () => {
    for (const t of [tensorFrom('f32', [], [1]), tensorFrom('i32', [3], [1, 2, 3]), tensorFrom('bool', [2, 2, 2, 2, 2, 2, 2, 2], new Array<number>(256).fill(1))]) {
      const bytes = encodeNpy(t);
      expect([bytes[6], bytes[7]]).toEqual([1, 0]);
      const headerLength = bytes[8]! + 256 * bytes[9]!;
      expect((10 + headerLength) % 64).toBe(0);
      expect(bytes[10 + headerLength - 1]).toBe(0x0a);
    }
  });
});

// Files written by NumPy 2.4 (np.save, and np.lib.format.write_array for version 2.0), base64.
describe('files NumPy wrote', () => {
  // np.array([[1.5, -2, 0.25], [3, 4, -0.0]], dtype='<f4')
  const F4 =
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAgD4AAEBAAACAQAAAAIA=';

  it('reads <f4 and writes the very same bytes back', () => {
    const bytes = fromBase64(F4);
    const t = decodeNpy(bytes, 'f4.npy');
    expectAllClose(t, tensorFrom('f32', [2, 3], [1.5, -2, 0.25, 3, 4, -0]), EXACT);
    expect(encodeNpy(t)).toEqual(bytes);
  });

  it('reads <f8 as f32, rounding each value once', () => {
    // np.array([0.1, -1e300, 2.5], dtype='<f8'): −1e300 is beyond f32 and becomes −∞, as astype does.
    const t = decodeNpy(
      fromBase64('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5P5x1AIg85Df+AAAAAAAABEA='),
      'f8.npy',
    );
    expectAllClose(t, tensorFrom('f32', [3], [Math.fround(0.1), -Infinity, 2.5]), EXACT);
  });

  it('reads <i8 in a version 2.0 file as i32', () => {
    // np.array([-7, 0, 2**31 - 1], dtype='<i8'), version (2, 0).
    const t = decodeNpy(
      fromBase64('k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr5/////////wAAAAAAAAAA////fwAAAAA='),
      'i8.npy',
    );
    expectAllClose(t, tensorFrom('i32', [3], [-7, 0, 2 ** 31 - 1]), EXACT);
  });

  it('reads a |b1 scalar as bool and |u1 as i32', () => {
    // np.array(True), then np.array([[0, 255], [7, 128]], dtype='u1').
    const b = decodeNpy(fromBase64('k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoB'), 'b.npy');
    expectAllClose(b, tensorFrom('bool', [], [1]), EXACT);
    const u = decodeNpy(fromBase64('k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoA/weA'), 'u.npy');
    expectAllClose(u, tensorFrom('i32', [2, 2], [0, 255, 7, 128]), EXACT);
  });

  it('accepts the header spellings NumPy and Python 2 used: double quotes, 3L, no trailing comma', () => {
    const t = decodeNpy(npyWith(`{"descr": "<i4", "shape": (2L,), "fortran_order": False}`, [1, 0, 0, 0, 2, 0, 0, 0]), 'old.npy');
    expectAllClose(t, tensorFrom('i32', [2], [1, 2]), EXACT);
  });
});

describe('malformed files are NpyErrors that say what is wrong', () => {
  const f4 = (shape: string, data: number[] = []) => npyWith(header('<f4', shape), data);

  it('bad magic', () => expectNpyError(new TextEncoder().encode('PK\x03\x04 a zip file'), /not a \.npy file/));
  it('empty file', () => expectNpyError(new Uint8Array(0), /truncated/));
  it('unknown version', () => {
    const bytes = f4('(0,)');
    bytes[6] = 4;
    expectNpyError(bytes, /version 4\.0/);
  });
  it('truncated in the header', () => expectNpyError(f4('(1,)', [0, 0, 128, 63]).subarray(0, 40), /truncated/));
  it('truncated in the data', () => expectNpyError(f4('(2,)', [0, 0, 128, 63]), /truncated: shape \[2\] of '<f4' needs 8 data bytes, the file has 4/));
  it('trailing data bytes', () => expectNpyError(f4('(1,)', [0, 0, 128, 63, 0]), /trailing bytes/));
  it('huge shape, checked before any allocation', () => expectNpyError(f4('(100000, 100000, 100000)'), /over the limit of 268435456 elements/));
  it('shape entry beyond any integer', () => expectNpyError(f4('(123456789012345678901234567890,)'), /over the limit/));
  it('negative shape entry', () => expectNpyError(f4('(-1,)'), /non-negative integers/));
  it('rank over 8', () => expectNpyError(f4('(1, 1, 1, 1, 1, 1, 1, 1, 1)', [0, 0, 0, 0]), /rank 9/));
  it('shape that is not a tuple', () => expectNpyError(f4('[2]'), /shape that is not a tuple/));
  it('fortran order', () => expectNpyError(npyWith(header('<f4', '(2, 2)', 'True'), new Array<number>(16).fill(0)), /fortran_order True/));
  it('unknown dtype', () => expectNpyError(npyWith(header('<f2', '(1,)'), [0, 0]), /descr '<f2'; supported: '<f4'/));
  it('big-endian dtype', () => expectNpyError(npyWith(header('>f4', '(1,)'), [0, 0, 0, 0]), /descr '>f4'/));
  it('structured dtype', () => expectNpyError(npyWith(`{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }`, [0, 0, 0, 0]), /structured dtypes/));
  it('header that is not a dict', () => expectNpyError(npyWith(`('<f4', False, (1,))`, [0, 0, 0, 0]), /not a dict literal/));
  it('header that is code, not a literal', () => expectNpyError(npyWith(`__import__('os').system('true')`), /expected a value/));
  it('missing key', () => expectNpyError(npyWith(`{'descr': '<f4', 'shape': (1,)}`, [0, 0, 0, 0]), /exactly the keys/));
  it('extra key', () => expectNpyError(npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}`, [0, 0, 0, 0]), /has descr, fortran_order, shape, x/));
  it('repeated key', () => expectNpyError(npyWith(`{'descr': '<f4', 'descr': '<f4'}`), /repeats the key 'descr'/));
  it('text after the dict', () => expectNpyError(npyWith(`${header('<f4', '()')} 1`, [0, 0, 0, 0]), /unexpected text after the dict/));
  it('unterminated string', () => expectNpyError(npyWith(`{'descr: 1}`), /unterminated string/));
  it('escape in a string', () => expectNpyError(npyWith(`{'de\\x73cr': '<f4'}`), /escape/));
  it('non-ASCII header byte', () => expectNpyError(npyWith(`{'descr': '<f4\u00e9'}`), /byte 0xe9/));
  it('nesting too deep', () => expectNpyError(npyWith(`{'descr': ${'('.repeat(40)}${')'.repeat(40)}}`), /nests deeper/));
  it('header over 64 KiB', () => {
    const bytes = npyWith(header('<f4', '()'), [0, 0, 0, 0], 2);
    new DataView(bytes.buffer).setUint32(8, MAX_NPY_HEADER_BYTES + 1, true);
    expectNpyError(bytes, /header of 65537 bytes is over the limit/);
  });
  it('<i8 value outside i32', () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigInt64(0, 2n ** 31n, true);
    expectNpyError(npyWith(header('<i8', '(1,)'), data), /element 0 is 2147483648, outside the i32 range/);
  });
  it('|b1 byte that is not 0 or 1', () => expectNpyError(npyWith(header('|b1', '(2,)'), [1, 2]), /element 1 is the byte 2/));
});

describe('decoding arbitrary bytes', () => {
  /** Decodes, and reports anything thrown that is not an NpyError. */
  function decodesOrNpyError(bytes: Uint8Array): boolean {
    try {
      const t: Tensor = decodeNpy(bytes, 'fuzz.npy');
      return t.data.length === numel(t.type.shape);
    } catch (e) {
      return e instanceof NpyError;
    }
  }

  it('random bytes throw nothing but NpyError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrNpyError), { seed: 42, numRuns: 300 });
  });

  it('valid files with random bytes overwritten or cut short throw nothing but NpyError', () => {
    const valid = encodeNpy(tensorFrom('i32', [2, 3], [1, 2, 3, 4, 5, 6]));
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.nat(valid.length),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut }) => {
        const bytes = valid.slice();
        for (const [at, b] of edits) bytes[at] = b;
        return decodesOrNpyError(bytes.subarray(0, cut === 0 ? valid.length : cut));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('random header text throws nothing but NpyError', () => {
    const pieces = fc.constantFrom('{', '}', '(', ')', '[', ']', ',', ':', "'", '"', 'descr', 'shape', 'fortran_order', 'True', 'False', 'None', '<f4', '3', '-1', '99999999999999999999', 'L', ' ', '\n', '.5', '\\');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => decodesOrNpyError(npyWith(parts.join(''), [0, 0, 0, 0]))),
      { seed: 42, numRuns: 300 },
    );
  });
});
