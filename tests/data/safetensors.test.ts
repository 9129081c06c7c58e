// safetensors: round trips, each malformed-file kind rejected with a clear message, fuzzing.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../runtime/checkpoint/safetensors.js';

const tensors = new Map([
  ['w', tensorFrom('f32', [2, 3], [1, -2, 3.5, 0, 1e-8, -7])],
  ['step', tensorFrom('i32', [], [42])],
  ['mask', tensorFrom('bool', [3], [1, 0, 1])],
]);

/** A file from a hand-written header and data bytes. */
function file(header: unknown, data: number[] | Uint8Array = []): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function rejects(bytes: Uint8Array, fragment: string): void {
  expect(() => decodeSafetensors(bytes, 'ck.safetensors')).toThrow(SafetensorsError);
  expect(() => decodeSafetensors(bytes, 'ck.safetensors')).toThrow(fragment);
}

describe('safetensors', () => {
  it('round-trips tensors and metadata; the data starts 8-byte aligned', () => {
    const bytes = encodeSafetensors(tensors, { format: 'x', step: '7' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const back = decodeSafetensors(bytes, 'ck');
    expect(back.metadata).toEqual({ format: 'x', step: '7' });
    for (const [k, t] of tensors) {
      expect(back.tensors.get(k)!.type).toEqual(t.type);
      expect(Array.from(back.tensors.get(k)!.data)).toEqual(Array.from(t.data));
    }
  });

  it('rejects each kind of malformed file, naming the problem', () => {
    const f32 = (shape: number[], offs: number[]) => ({ dtype: 'F32', shape, data_offsets: offs });
    rejects(new Uint8Array(5), 'too short');
    rejects(file({ a: f32([1], [0, 4]) }).subarray(0, 12), 'runs past the end');
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 10n ** 12n, true);
    rejects(huge, 'exceeds');
    rejects(file('[1, 2]'), 'not a JSON object');
    rejects(file('{"a": '), 'not UTF-8 JSON');
    rejects(file({ a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, [0, 0]), 'dtype "F16"');
    rejects(file({ a: f32([-1], [0, 4]) }, [0, 0, 0, 0]), 'invalid shape');
    rejects(file({ a: f32([2], [0, 4]) }, [0, 0, 0, 0]), 'needs 8');
    rejects(file({ a: f32([1], [0, 4]), b: f32([1], [2, 6]) }, new Uint8Array(6)), 'overlaps');
    rejects(file({ a: f32([1], [4, 8]) }, new Uint8Array(8)), 'hole of 4 bytes');
    rejects(file({ a: f32([1], [0, 4]) }, new Uint8Array(6)), '2 bytes after the last tensor');
    rejects(file({ a: f32([2], [0, 8]) }, new Uint8Array(4)), 'truncated');
    rejects(file({ __metadata__: { step: 3 } }), '__metadata__.step is not a string');
    rejects(file({ m: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }, [2]), 'other than 0 or 1');
  });

  it('never throws anything but SafetensorsError on random or corrupted bytes', () => {
    const valid = encodeSafetensors(tensors, { a: 'b' });
    const corrupted = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length)).map(([i, v, cut]) => {
      const b = valid.slice(0, Math.max(cut, i + 1));
      b[i] = v;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted), (bytes) => {
        try {
          decodeSafetensors(bytes, 'f');
        } catch (e) {
          expect(e).toBeInstanceOf(SafetensorsError);
        }
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
