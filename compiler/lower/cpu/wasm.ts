// A small WebAssembly binary emitter: LEB128, the instructions the CPU kernels use (scalar, control, 128-bit SIMD), and a module with one imported memory.
//
// Why our own: the kernels need a few dozen opcodes, one memory import and a handful of
// exported functions; a library such as binaryen (a multi-megabyte Wasm blob) would outweigh
// the whole compiler and still need this much code to drive. The encoding follows the core
// spec (sections type 1, import 2, function 3, export 7, code 10) and the SIMD proposal's
// `0xfd` prefix with LEB128 sub-opcodes.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

export function uleb(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`internal: uleb of ${n}`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  if (!Number.isSafeInteger(n)) throw new Error(`internal: sleb of ${n}`);
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vec = (items: readonly number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
};

/** SIMD sub-opcodes (after the 0xfd prefix) that the kernels use. */
const SIMD = {
  'v128.load': 0x00,
  'v128.load32_splat': 0x09,
  'v128.load64_splat': 0x0a,
  'v128.store': 0x0b,
  'f32x4.splat': 0x13,
  'f32x4.extract_lane': 0x1f,
  'f64x2.splat': 0x14,
  'f64x2.extract_lane': 0x21,
  'v128.store64_lane': 0x5b,
  'f32x4.demote_f64x2_zero': 0x5e,
  'f32x4.add': 0xe4,
  'f32x4.mul': 0xe6,
  'f64x2.add': 0xf0,
  'f64x2.mul': 0xf2,
} as const;

/** One function body, built instruction by instruction; locals are numbered after the parameters. */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(private readonly params: number) {}

  local(t: ValType): number {
    this.locals.push(t);
    return this.params + this.locals.length - 1;
  }

  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  /** Instruction bytes as given (opcodes this class has no method for). */
  raw(...b: number[]): this {
    return this.op(...b);
  }

  /** Appends another body's instructions (built separately, with this one's locals). */
  append(other: Code): this {
    for (const b of other.bytes) this.bytes.push(b);
    return this;
  }

  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(0x41, ...sleb(v | 0));
  }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...b);
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }
  /** i32 binary operations by name. */
  i32op(o: 'add' | 'sub' | 'mul' | 'and' | 'shl' | 'lt_s' | 'le_s' | 'ge_s' | 'gt_s'): this {
    const codes = { add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, shl: 0x74, lt_s: 0x48, le_s: 0x4c, ge_s: 0x4e, gt_s: 0x4a } as const;
    return this.op(codes[o]);
  }
  select(): this {
    return this.op(0x1b);
  }
  f32store(offset = 0): this {
    return this.op(0x38, 2, ...uleb(offset));
  }
  f64store(offset = 0): this {
    return this.op(0x39, 3, ...uleb(offset));
  }
  f32demote(): this {
    return this.op(0xb6);
  }
  f64promote(): this {
    return this.op(0xbb);
  }
  simd(o: keyof typeof SIMD, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(SIMD[o]), ...immediates);
  }
  /** A SIMD memory access with its memarg (alignment exponent, offset) and an optional lane. */
  mem(o: 'v128.load' | 'v128.load32_splat' | 'v128.load64_splat' | 'v128.store' | 'v128.store64_lane', offset: number, lane?: number): this {
    const align = o === 'v128.load' || o === 'v128.store' ? 4 : o === 'v128.load32_splat' ? 2 : 3;
    return this.simd(o, align, ...uleb(offset), ...(lane === undefined ? [] : [lane]));
  }
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }

  /** The function's code entry: local declarations (one group per local) and the body. */
  encode(): number[] {
    const body = [...vec(this.locals.map((t) => [1, t])), ...this.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly code: Code;
}

/** A function the module imports from `env` (a JavaScript function: Math.exp), returning one value or none. */
export interface WasmImport {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly result: ValType | null;
}

/**
 * A module importing `env.memory` (shared when asked, which requires a maximum) and the given
 * functions (indices 0…, before the module's own), and exporting the given functions, none
 * of which returns a value.
 */
export function wasmModule(functions: readonly WasmFunction[], sharedMemory: boolean, imports: readonly WasmImport[] = []): Uint8Array {
  const section = (id: number, items: number[][]): number[] => {
    const content = vec(items);
    return [id, ...uleb(content.length), ...content];
  };
  const limits = sharedMemory ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const types = [
    ...imports.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...(f.result === null ? [0] : [1, f.result])]),
    ...functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]),
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, [[...name('env'), ...name('memory'), 0x02, ...limits], ...imports.map((f, i) => [...name('env'), ...name(f.name), 0x00, ...uleb(i)])]),
    ...section(3, functions.map((_, i) => uleb(imports.length + i))),
    ...section(7, functions.map((f, i) => [...name(f.name), 0x00, ...uleb(imports.length + i)])),
    ...section(10, functions.map((f) => f.code.encode())),
  ];
  return Uint8Array.from(bytes);
}
