// NumPy .npy files: a strict reader for untrusted bytes and a writer; pure functions, no Node imports.
//
// Format (numpy.lib.format): the magic `\x93NUMPY`, a major and minor version byte, the
// header length (u16 little-endian in version 1.0, u32 in 2.0 and 3.0), then the header, a
// Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
// padded with spaces and a newline, then the raw elements in C order.
//
// A file from someone else is data: the header is parsed as the literal it is (never
// evaluated), its length is capped, the shape's element count is checked against
// MAX_TENSOR_ELEMENTS before anything is allocated, and the data must be exactly as long as
// the shape says. Every rejection is an NpyError whose message names the file.

import type { Tensor, TensorData } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/types.js';
import { MAX_RANK, MAX_TENSOR_ELEMENTS, checkedNumel, formatShape, formatType, numel } from '../../compiler/ir/types.js';

/** A .npy file that cannot be read; the message names the file and what is wrong. */
export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** Longest header accepted; NumPy's own reader stops at 10 000 bytes by default. */
export const MAX_NPY_HEADER_BYTES = 64 * 1024;
/** Header nesting deeper than this is not an array header (structured dtypes nest 2–3 levels). */
const MAX_HEADER_DEPTH = 16;

/** The element types read, with the tensor dtype each becomes. */
const DESCRS = {
  '<f4': { itemsize: 4, dtype: 'f32' },
  '<f8': { itemsize: 8, dtype: 'f32' },
  '<i4': { itemsize: 4, dtype: 'i32' },
  '<i8': { itemsize: 8, dtype: 'i32' },
  '|b1': { itemsize: 1, dtype: 'bool' },
  '|u1': { itemsize: 1, dtype: 'i32' },
} as const satisfies Record<string, { itemsize: number; dtype: DType }>;
type Descr = keyof typeof DESCRS;

const WRITE_DESCR: { readonly [D in DType]: Descr } = { f32: '<f4', i32: '<i4', bool: '|b1' };

/** A value of the Python literal subset that .npy headers use. */
type PyValue =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'tuple' | 'list'; readonly items: readonly PyValue[] }
  | { readonly kind: 'dict'; readonly entries: ReadonlyMap<string, PyValue> };

/**
 * A recursive-descent parser for the header: dicts with string keys, tuples, lists, strings
 * without escapes, integers (Python 2's `3L` included), True, False, None. Nothing else
 * appears in an array header, so anything else is an error.
 */
class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly fail: (what: string) => never,
  ) {}

  parseAll(): PyValue {
    const v = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`has unexpected text after the dict at offset ${this.pos}`);
    return v;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}' at offset ${this.pos}, found ${this.describeHere()}`);
    this.pos++;
  }

  private describeHere(): string {
    return this.pos < this.text.length ? `'${this.text[this.pos]}'` : 'the end of the header';
  }

  private value(depth: number): PyValue {
    if (depth > MAX_HEADER_DEPTH) this.fail(`nests deeper than ${MAX_HEADER_DEPTH} levels`);
    const ch = this.peek();
    if (ch === '{') return this.dict(depth);
    if (ch === '(') return this.sequence('tuple', ')', depth);
    if (ch === '[') return this.sequence('list', ']', depth);
    if (ch === "'" || ch === '"') return { kind: 'str', value: this.string() };
    if (ch === '-' || (ch >= '0' && ch <= '9')) return this.integer();
    for (const [word, v] of [['True', true], ['False', false]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { kind: 'bool', value: v };
      }
    }
    if (this.text.startsWith('None', this.pos)) {
      this.pos += 4;
      return { kind: 'none' };
    }
    return this.fail(`expected a value at offset ${this.pos}, found ${this.describeHere()}`);
  }

  private dict(depth: number): PyValue {
    this.expect('{');
    const entries = new Map<string, PyValue>();
    while (this.peek() !== '}') {
      const q = this.peek();
      if (q !== "'" && q !== '"') this.fail(`expected a string key at offset ${this.pos}, found ${this.describeHere()}`);
      const key = this.string();
      if (entries.has(key)) this.fail(`repeats the key '${key}'`);
      this.expect(':');
      entries.set(key, this.value(depth + 1));
      if (this.peek() !== ',') break;
      this.pos++;
    }
    this.expect('}');
    return { kind: 'dict', entries };
  }

  /** A tuple or list; `(3)` is Python's parenthesized int, `(3,)` a one-element tuple. */
  private sequence(kind: 'tuple' | 'list', close: string, depth: number): PyValue {
    this.pos++;
    const items: PyValue[] = [];
    let sawComma = false;
    while (this.peek() !== close) {
      items.push(this.value(depth + 1));
      if (this.peek() !== ',') break;
      this.pos++;
      sawComma = true;
    }
    this.expect(close);
    return kind === 'tuple' && items.length === 1 && !sawComma ? items[0]! : { kind, items };
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail(`has an unterminated string at offset ${this.pos}`);
    const s = this.text.slice(this.pos + 1, end);
    if (s.includes('\\') || s.includes('\n')) this.fail(`has an escape or line break in the string at offset ${this.pos}`);
    this.pos = end + 1;
    return s;
  }

  private integer(): PyValue {
    const m = /^-?[0-9]+L?/.exec(this.text.slice(this.pos, this.pos + 40));
    if (!m) this.fail(`expected a number at offset ${this.pos}`);
    const digits = m[0].replace('L', '');
    this.pos += m[0].length;
    if (/^[.eE]/.test(this.text[this.pos] ?? '')) this.fail(`has a non-integer number at offset ${this.pos}`);
    // `+ 0` reads "-0" as 0, so no shape ever holds a negative zero.
    return { kind: 'int', value: Number(digits) + 0 };
  }
}

/** Header bytes as text; only printable ASCII and whitespace can form an array header. */
function headerText(bytes: Uint8Array, fail: (what: string) => never): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 || b > 0x7e) && b !== 0x0a && b !== 0x0d && b !== 0x09) {
      fail(`has the byte 0x${b.toString(16).padStart(2, '0')} at offset ${i}; an array header is ASCII`);
    }
    text += String.fromCharCode(b);
  }
  return text;
}

interface Header {
  readonly descr: Descr;
  readonly shape: number[];
}

function readHeader(dict: PyValue, fail: (what: string) => never): Header {
  if (dict.kind !== 'dict') fail(`is not a dict literal (found a ${dict.kind})`);
  const keys = [...dict.entries.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    fail(`must have exactly the keys descr, fortran_order, shape; has ${keys.length ? keys.join(', ') : 'none'}`);
  }
  const descr = dict.entries.get('descr')!;
  if (descr.kind !== 'str' || !Object.prototype.hasOwnProperty.call(DESCRS, descr.value)) {
    const got = descr.kind === 'str' ? `'${descr.value}'` : `a ${descr.kind} (structured dtypes are not supported)`;
    fail(`has descr ${got}; supported: ${Object.keys(DESCRS).map((d) => `'${d}'`).join(', ')}`);
  }
  const fortran = dict.entries.get('fortran_order')!;
  if (fortran.kind !== 'bool') fail(`has fortran_order that is not True or False`);
  if (fortran.value) fail('has fortran_order True; only C-order arrays are read (save with np.ascontiguousarray)');
  const shapeValue = dict.entries.get('shape')!;
  if (shapeValue.kind !== 'tuple') fail(`has a shape that is not a tuple (found a ${shapeValue.kind})`);
  if (shapeValue.items.length > MAX_RANK) fail(`has rank ${shapeValue.items.length}; the limit is ${MAX_RANK}`);
  const shape = shapeValue.items.map((d) => {
    if (d.kind !== 'int' || d.value < 0) fail(`has shape entries that are not all non-negative integers`);
    return d.value;
  });
  if (checkedNumel(shape) === null) fail(`has shape ${formatShape(shape)}, over the limit of ${MAX_TENSOR_ELEMENTS} elements`);
  return { descr: descr.value as Descr, shape };
}

/**
 * Converts little-endian elements to the tensor's array. Integers outside i32 and bools other
 * than 0/1 are errors; f64 rounds to the nearest f32 (±Infinity beyond its range, as astype).
 */
function readElements(descr: Descr, view: DataView, out: TensorData, fail: (what: string) => never): void {
  const n = out.length;
  switch (descr) {
    case '<f4':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return;
    case '<f8':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return;
    case '<i4':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      return;
    case '<i8':
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) fail(`element ${i} is ${v}, outside the i32 range`);
        out[i] = Number(v);
      }
      return;
    case '|b1':
      for (let i = 0; i < n; i++) {
        const v = view.getUint8(i);
        if (v > 1) fail(`element ${i} is the byte ${v}, not a bool (0 or 1)`);
        out[i] = v;
      }
      return;
    case '|u1':
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      return;
    default:
      return descr satisfies never;
  }
}

/** Reads a .npy file's bytes into a tensor; `name` (a path or a label) appears in every error. */
export function decodeNpy(bytes: Uint8Array, name: string): Tensor {
  const fail = (what: string): never => {
    throw new NpyError(`${name}: ${what}`);
  };
  const failHeader = (what: string): never => fail(`header ${what}`);
  if (MAGIC.some((b, i) => i < bytes.length && bytes[i] !== b)) fail('not a .npy file (it does not start with \\x93NUMPY)');
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, before the version`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) fail(`unsupported .npy version ${major}.${minor} (1.0, 2.0 and 3.0 are read)`);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) fail(`truncated: ${bytes.length} bytes, inside the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_NPY_HEADER_BYTES) fail(`header of ${headerLength} bytes is over the limit of ${MAX_NPY_HEADER_BYTES}`);
  const dataStart = prefix + headerLength;
  if (bytes.length < dataStart) fail(`truncated: the header needs ${headerLength} bytes, the file has ${bytes.length - prefix} after the prefix`);

  const text = headerText(bytes.subarray(prefix, dataStart), failHeader);
  const { descr, shape } = readHeader(new HeaderParser(text, failHeader).parseAll(), failHeader);

  const { itemsize, dtype } = DESCRS[descr];
  const count = numel(shape);
  const want = count * itemsize;
  const have = bytes.length - dataStart;
  if (have !== want) {
    fail(`${have < want ? 'truncated' : 'has trailing bytes'}: shape ${formatShape(shape)} of '${descr}' needs ${want} data bytes, the file has ${have}`);
  }
  const data = allocData(dtype, count);
  readElements(descr, new DataView(bytes.buffer, bytes.byteOffset + dataStart, want), data, fail);
  return { type: { dtype, shape }, data };
}

/** The header dict NumPy itself writes, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`. */
function headerDict(descr: Descr, shape: readonly number[]): string {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
}

/** Writes a tensor as a version 1.0 .npy file whose data starts at a multiple of 64 bytes. */
export function encodeNpy(t: Tensor): Uint8Array {
  const count = numel(t.type.shape);
  if (t.data.length !== count) throw new Error(`internal: a ${formatType(t.type)} tensor holds ${t.data.length} elements`);
  const descr = WRITE_DESCR[t.type.dtype];
  const dict = headerDict(descr, t.type.shape);
  // Magic (6) + version (2) + length (2) + dict + newline, padded with spaces to 64 bytes.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const { itemsize } = DESCRS[descr];
  const bytes = new Uint8Array(10 + header.length + count * itemsize);
  bytes.set(MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  for (let i = 0; i < count; i++) {
    const v = t.data[i]!;
    if (descr === '<f4') view.setFloat32(start + 4 * i, v, true);
    else if (descr === '<i4') view.setInt32(start + 4 * i, v, true);
    else bytes[start + i] = v !== 0 ? 1 : 0;
  }
  return bytes;
}
