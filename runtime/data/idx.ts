// IDX files (the MNIST family's format), gzipped or not: a strict reader for untrusted bytes.
//
// Layout: two zero bytes, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
// 0x0E f64), the rank, then `rank` big-endian u32 extents, then the data, big-endian.

import type { Tensor } from '../../compiler/ir/tensor.js';
import { checkedNumel, MAX_RANK } from '../../compiler/ir/types.js';

export class IdxError extends Error {
  constructor(file: string, what: string) {
    super(`${file}: not a valid IDX file: ${what}`);
    this.name = 'IdxError';
  }
}

const TYPES: Record<number, { size: number; read: (v: DataView, o: number) => number; int: boolean }> = {
  0x08: { size: 1, read: (v, o) => v.getUint8(o), int: true },
  0x09: { size: 1, read: (v, o) => v.getInt8(o), int: true },
  0x0b: { size: 2, read: (v, o) => v.getInt16(o), int: true },
  0x0c: { size: 4, read: (v, o) => v.getInt32(o), int: true },
  0x0d: { size: 4, read: (v, o) => v.getFloat32(o), int: false },
  0x0e: { size: 8, read: (v, o) => v.getFloat64(o), int: false },
};

/** Whether bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips with the platform's DecompressionStream (Node ≥ 18 and browsers alike). */
export async function gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new IdxError(file, `gzip data is corrupt (${(e as Error).message})`);
  }
}

/**
 * Decodes an (already gunzipped) IDX file. Integer types become i32 tensors, float types
 * f32. The data must fill the file exactly.
 */
export function decodeIdx(bytes: Uint8Array, file: string): Tensor {
  if (bytes.length < 4) throw new IdxError(file, 'shorter than its 4-byte header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new IdxError(file, 'the first two bytes must be zero');
  const type = TYPES[bytes[2]!];
  if (!type) throw new IdxError(file, `unknown type code 0x${bytes[2]!.toString(16).padStart(2, '0')}`);
  const rank = bytes[3]!;
  if (rank < 1 || rank > MAX_RANK) throw new IdxError(file, `rank ${rank} is outside 1..${MAX_RANK}`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new IdxError(file, 'truncated header');
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const n = checkedNumel(shape);
  if (n === null) throw new IdxError(file, `shape [${shape.join(', ')}] is too large`);
  const expected = header + n * type.size;
  if (bytes.length !== expected) throw new IdxError(file, `expected ${expected} bytes for shape [${shape.join(', ')}], found ${bytes.length}`);
  const data = type.int ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = type.read(view, header + i * type.size);
  return { type: { dtype: type.int ? 'i32' : 'f32', shape }, data };
}

/** Reads IDX bytes that may be gzipped. */
export async function readIdx(bytes: Uint8Array, file: string): Promise<Tensor> {
  return decodeIdx(isGzip(bytes) ? await gunzip(bytes, file) : bytes, file);
}
