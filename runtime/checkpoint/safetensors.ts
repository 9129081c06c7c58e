// safetensors: encode tensors with string metadata, and a strict decoder for untrusted files.
//
// Format: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, "__metadata__": {k: "v"}},
// then the data. The decoder checks what the reference implementation checks: a bounded
// header that is a JSON object, known dtypes, integer shapes, byte ranges that cover the data
// exactly with no holes or overlaps, and each range's size = elements × dtype size.

import type { Tensor } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/types.js';
import { checkedNumel, MAX_RANK } from '../../compiler/ir/types.js';

/** Header size cap, as the reference implementation's (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(file: string, what: string) {
    super(`${file}: not a valid checkpoint: ${what}`);
    this.name = 'SafetensorsError';
  }
}

const TO_FILE: Record<DType, string> = { f32: 'F32', i32: 'I32', bool: 'BOOL' };
const FROM_FILE: Record<string, { dtype: DType; size: number }> = {
  F32: { dtype: 'f32', size: 4 },
  I32: { dtype: 'i32', size: 4 },
  BOOL: { dtype: 'bool', size: 1 },
};

export interface Checkpoint {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
}

/** Tensors in name order, data little-endian, header padded with spaces to 8 bytes. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.byteLength;
    header[name] = { dtype: TO_FILE[t.type.dtype], shape: t.type.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeSafetensors(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (what: string): never => {
    throw new SafetensorsError(file, what);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds ${MAX_HEADER_BYTES}`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes): truncated?`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) fail('header is not a JSON object');
  const h = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const meta = h['__metadata__'];
  if (meta !== undefined) {
    if (!isRecord(meta)) fail('__metadata__ is not an object');
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; dtype: DType; size: number; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (!isRecord(raw)) fail(`entry '${name}' is not an object`);
    const e = raw as Record<string, unknown>;
    const kind = FROM_FILE[String(e['dtype'])];
    if (!kind) fail(`tensor '${name}' has dtype ${JSON.stringify(e['dtype'])}; Sinter reads F32, I32 and BOOL`);
    const shape = e['shape'];
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const count = checkedNumel(shape as number[]);
    if (count === null) fail(`tensor '${name}' shape [${(shape as number[]).join(', ')}] is too large`);
    const offs = e['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    if (end - begin !== count! * kind!.size) fail(`tensor '${name}' covers ${end - begin} bytes but ${kind!.dtype}[${(shape as number[]).join(',')}] needs ${count! * kind!.size}`);
    entries.push({ name, dtype: kind!.dtype, size: kind!.size, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin);
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) fail(e.begin < expected ? `tensor '${e.name}' overlaps the tensor before it` : `a hole of ${e.begin - expected} bytes precedes tensor '${e.name}'`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(expected < dataLen ? `${dataLen - expected} bytes after the last tensor` : `data is ${dataLen} bytes but the header needs ${expected}: truncated?`);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const src = bytes.slice(dataStart + e.begin, dataStart + e.end);
    const data = e.dtype === 'f32' ? new Float32Array(src.buffer) : e.dtype === 'i32' ? new Int32Array(src.buffer) : new Uint8Array(src.buffer);
    if (e.dtype === 'bool' && data.some((v) => v > 1)) fail(`BOOL tensor '${e.name}' holds a value other than 0 or 1`);
    tensors.set(e.name, { type: { dtype: e.dtype, shape: e.shape }, data });
  }
  return { tensors, metadata };
}
