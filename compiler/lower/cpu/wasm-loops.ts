// A loops kernel, or a GEMM kernel's epilogue, as one WebAssembly function: the JavaScript emitter's loop nest and arithmetic, bit for bit.
//
// Why: V8 runs the generated JavaScript well, but it has no float32 arithmetic (every f32
// operation is a float64 one and a Math.fround) and no branch-free float choice (the JS
// emitter's `selF` goes through memory). Here f32 values live in float32 locals: an add,
// multiply, divide or square root of float32 numbers is one float32 instruction, which rounds
// once to exactly what fround of the float64 result gives (float64 carries more than 2·24 + 2
// bits); and a choice between two floats is a select of their bit patterns (a conditional
// move). Measured in one process against the JavaScript kernels (one thread, batch 64, whole
// steps interleaved, two runs): the MLP's train step 0.61× the time (its Adam update, a GEMM
// epilogue, 3.7× faster), the transformer's 0.77× and its inference 0.49–0.52×, the Fashion
// CNN's train and inference steps 0.93–0.94×; the RNN's cells (tanh, sigmoid per element)
// stay JavaScript.
//
// Same values as the JavaScript kernel: f64 values are float64, integers i32 (wrapping as
// `| 0`; a product that float64 would round is computed as the JS does), ToInt32 exact; the
// JS's float64 steps (rsqrt, floor and mod, the Math calls) are done in float64 and rounded
// back; where the JS branches (a select with a costly arm), so does this, and a value used
// once at its own level is computed where it is used, as the JS writes it inline (an operand
// read twice goes through a local). Unrolled max and argmax reductions are the same
// left-biased trees. Not every kernel qualifies: exp, log, tanh, sigmoid, gelu and pow are
// calls to the JavaScript functions (Math's, the reference's gelu), allowed only where
// computed once per call (Adam's `pow(β, step)`); integer division only by a positive
// constant (Wasm traps where JS gives 0); outputs only f32, i32 or bool; f32 constants only
// float32 numbers. Others keep the JavaScript form, which is also what runs where storage is
// not a Wasm memory (tests/cpu/wasm-loops.test.ts compares the two bit for bit).
//
// The function is `(lo, hi, base…[, scratch])`: the outermost loop's range and the byte
// address of each view (inputs `a<slot>` first, then outputs `o<k>`), as the JS phase is
// `(lo, hi, tid)` over the same views, and for an epilogue the float64 scratch's address,
// where the GEMM left the contraction. Elements are 4 bytes in every view (f32, i32, bool as u32).

import type { EType, Expr, IndexVar } from '../../kernel/expr.js';
import { children, topoOrder } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import { cheapBranch, UNROLL_MAX } from './emit.js';
import type { SplitLoops } from './split.js';
import type { ValType, WasmImport } from './wasm.js';
import { Code, F32, F64, I32, wasmModule } from './wasm.js';

const OP = {
  i32load: 0x28,
  f32load: 0x2a,
  i32store: 0x36,
  f32store: 0x38,
  f64load: 0x2b,
  i32eqz: 0x45,
  i32eq: 0x46,
  i32ne: 0x47,
  i32lt: 0x48,
  i32gt: 0x4a,
  i32ge: 0x4e,
  f64eq: 0x61,
  f64ne: 0x62,
  f64lt: 0x63,
  f64gt: 0x64,
  f64le: 0x65,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32mul: 0x6c,
  i32divs: 0x6d,
  i32rems: 0x6f,
  i32and: 0x71,
  i32or: 0x72,
  i32xor: 0x73,
  i32shl: 0x74,
  i32shrs: 0x75,
  f64abs: 0x99,
  f64neg: 0x9a,
  f64floor: 0x9c,
  f64trunc: 0x9d,
  f64sqrt: 0x9f,
  f64add: 0xa0,
  f64sub: 0xa1,
  f64mul: 0xa2,
  f64div: 0xa3,
  i32wrap: 0xa7,
  f32demote: 0xb6,
  f64converti32: 0xb7,
  f64promote: 0xbb,
  f32eq: 0x5b,
  f32ne: 0x5c,
  f32lt: 0x5d,
  f32gt: 0x5e,
  f32le: 0x5f,
  f32abs: 0x8b,
  f32neg: 0x8c,
  f32sqrt: 0x91,
  f32add: 0x92,
  f32sub: 0x93,
  f32mul: 0x94,
  f32div: 0x95,
  f32converti32: 0xb2,
  i32asf32: 0xbe,
  f32asi32: 0xbc,
  i64and: 0x83,
  i64or: 0x84,
  i64asf64: 0xbf,
  f64asi64: 0xbd,
  select: 0x1b,
} as const;

/**
 * Pushes cond ? a : b for floats of width `t` (F32 or F64), as a select of their bit
 * patterns: V8 turns an integer select into a conditional move, a float one (and f64.max)
 * may become branches.
 */
function selectFloat(c: Code, t: ValType, a: (c: Code) => void, b: (c: Code) => void, cond: (c: Code) => void): void {
  const [toInt, toFloat] = t === F32 ? [OP.f32asi32, OP.i32asf32] : [OP.f64asi64, OP.i64asf64];
  a(c), c.raw(toInt), b(c), c.raw(toInt), cond(c), c.raw(OP.select, toFloat);
}

/**
 * Functions without a Wasm instruction, imported from JavaScript (the runtime passes Math's,
 * and the reference's gelu): a call costs more than the JS emitter's inline Math call, so a
 * kernel qualifies only where they are computed once per call (no index variable: Adam's
 * bias corrections `pow(β, step)`).
 */
const WASM_MATH_IMPORTS: readonly WasmImport[] = [
  { name: 'exp', params: [F64], result: F64 },
  { name: 'log', params: [F64], result: F64 },
  { name: 'tanh', params: [F64], result: F64 },
  { name: 'gelu', params: [F64], result: F64 },
  { name: 'pow', params: [F64, F64], result: F64 },
];
const CALLED_UNARY = new Set(['exp', 'log', 'sigmoid', 'tanh', 'gelu']);
const call = (c: Code, fn: string): void => void c.raw(0x10, WASM_MATH_IMPORTS.findIndex((f) => f.name === fn));

const isFloat = (t: EType): boolean => t === 'f32' || t === 'f64';
/**
 * The Wasm type holding a value: f32 values as float32 (every f32 value is a float32 number:
 * operations round to it, and kernels whose f32 constants are not are left to the JS),
 * f64 as float64, i32 and bool as i32.
 */
const wt = (t: EType): ValType => (t === 'f32' ? F32 : t === 'f64' ? F64 : I32);
/** Converts the value on the stack from type `from` to float64 (the JS's arithmetic), or back to `to` (Math.fround for f32). */
const toF64 = (c: Code, from: EType): void => void (from === 'f32' ? c.raw(OP.f64promote) : isFloat(from) ? c : c.raw(OP.f64converti32));
const fromF64 = (c: Code, to: EType): void => void (to === 'f32' ? c.raw(OP.f32demote) : c);
const F32_OPS = { add: OP.f32add, sub: OP.f32sub, mul: OP.f32mul, div: OP.f32div } as const;
const F64_OPS = { add: OP.f64add, sub: OP.f64sub, mul: OP.f64mul, div: OP.f64div } as const;
/** Comparisons by operand width: f32, f64, i32. */
const COMPARE = {
  less: [OP.f32lt, OP.f64lt, OP.i32lt],
  greater: [OP.f32gt, OP.f64gt, OP.i32gt],
  equal: [OP.f32eq, OP.f64eq, OP.i32eq],
} as const;
const width = (t: EType): 0 | 1 | 2 => (t === 'f32' ? 0 : t === 'f64' ? 1 : 2);
/** An i32 constant whose product with any i32 is below 2^53 in magnitude (exact in float64, so i32.mul gives JS's (a * k) | 0). */
const smallConst = (e: Expr): boolean => e.kind === 'const' && Math.abs(e.value) <= 2 ** 22;

/** Whether every expression of the kernel has a Wasm form here (see the header). */
function wasmLoopsSupported(roots: readonly Expr[]): boolean {
  for (const e of topoOrder(roots)) {
    switch (e.kind) {
      case 'unary':
        if (CALLED_UNARY.has(e.fn) && e.free.length > 0) return false;
        break;
      case 'binary':
        if (e.fn === 'pow' && e.free.length > 0) return false;
        if (!isFloat(e.a.type) && (e.fn === 'div' || e.fn === 'floordiv' || e.fn === 'mod') && !(e.b.kind === 'const' && e.b.value > 0)) return false;
        break;
      case 'reduce':
        if ((e.fn === 'max' || e.fn === 'argmax') && !isFloat(e.body.type)) return false;
        if (e.fn === 'max' && e.type !== e.body.type) return false;
        if (e.fn === 'argmax' && e.vars.length === 0) return false;
        if ((e.fn === 'sum' || e.fn === 'mean') && isFloat(e.type) !== isFloat(e.body.type)) return false;
        break;
      case 'const':
        if (e.type === 'f32' && !Object.is(Math.fround(e.value), e.value) && !Number.isNaN(e.value)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

/** A loop level (or the function's top, varId null) being filled with instructions. */
interface Level {
  readonly varId: number | null;
  readonly code: Code;
  /** Locals holding values computed at this level, by expression id. */
  readonly memo: Map<number, number>;
}

/** Pushes a value onto the Wasm stack. */
type Push = (c: Code) => void;

class WasmEmitter {
  readonly fn: Code;
  private readonly varLocal = new Map<number, number>();
  private readonly uses = new Map<number, number>();
  /** Nodes that read the replaced value: they are computed at the innermost level, where it is read. */
  private readonly pinned = new Set<number>();

  constructor(
    params: number,
    /** The local holding the byte address of each input slot's view. */
    private readonly inputBase: (slot: number) => number,
    roots: readonly Expr[],
    /** A GEMM epilogue's contraction, read from the float64 scratch at the point. */
    private readonly replaced: { readonly id: number; readonly read: Push } | null = null,
  ) {
    this.fn = new Code(params);
    for (const e of topoOrder(roots)) {
      for (const c of new Set(children(e))) this.uses.set(c.id, (this.uses.get(c.id) ?? 0) + 1);
      if (e.id === replaced?.id || children(e).some((c) => this.pinned.has(c.id))) this.pinned.add(e.id);
    }
    for (const r of roots) this.uses.set(r.id, (this.uses.get(r.id) ?? 0) + 1);
  }

  level(varId: number | null): Level {
    return { varId, code: new Code(0), memo: new Map() };
  }

  varOf(v: IndexVar): number {
    let l = this.varLocal.get(v.id);
    if (l === undefined) {
      l = this.fn.local(I32);
      this.varLocal.set(v.id, l);
    }
    return l;
  }

  /** The level an expression is computed at: that of the innermost variable it depends on. */
  private home(e: Expr, stack: readonly Level[]): Level {
    if (this.pinned.has(e.id)) return stack[stack.length - 1]!;
    for (let i = stack.length - 1; i > 0; i--) {
      const v = stack[i]!.varId;
      if (v !== null && e.free.includes(v)) return stack[i]!;
    }
    return stack[0]!;
  }

  /**
   * The value of `e` as read at level `at` (default: the innermost of `stack`). As in the JS
   * emitter, a value used more than once, or read deeper than its own level, is computed
   * into a local at its level, once; any other is written where it is read (so an arm of a
   * select that branches computes only when taken). Everything such an inline value needs
   * from other levels is computed now, before any of it is written.
   */
  gen(e: Expr, stack: readonly Level[], at: Level = stack[stack.length - 1]!): Push {
    if (e.kind === 'const') return e.type === 'f32' ? (c) => c.f32(e.value) : e.type === 'f64' ? (c) => c.f64(e.value) : (c) => c.i32(e.value);
    if (e.kind === 'var') {
      const l = this.varLocal.get(e.v.id);
      if (l === undefined) throw new Error(`internal: variable v${e.v.id} has no loop`);
      return (c) => c.get(l);
    }
    const home = this.home(e, stack);
    const known = home.memo.get(e.id);
    if (known !== undefined) return (c) => c.get(known);
    const homeStack = stack.slice(0, stack.indexOf(home) + 1);
    if (e.id === this.replaced?.id) {
      const local = this.fn.local(wt(e.type));
      this.replaced.read(home.code), fromF64(home.code, e.type), home.code.set(local);
      home.memo.set(e.id, local);
      return (c) => c.get(local);
    }
    if (e.kind === 'reduce' || (this.uses.get(e.id) ?? 0) > 1 || home !== at) {
      const local = this.fn.local(wt(e.type));
      if (e.kind === 'reduce') this.reduce(e, stack, home, local);
      else this.node(e, homeStack, home)(home.code), home.code.set(local);
      home.memo.set(e.id, local);
      return (c) => c.get(local);
    }
    return this.node(e, homeStack, home);
  }

  /** `x` computed once into a fresh local at this point of `c`; what it returns reads that local (an operand used twice is not written twice). */
  private once(x: Push, t: ValType, c: Code): Push {
    const l = this.fn.local(t);
    x(c), c.set(l);
    return (c) => void c.get(l);
  }

  /** ToInt32 of the float64 on the stack (JS `| 0`), exactly: truncate, reduce modulo 2^32 in float64 (exact), wrap; NaN and ±∞ give 0. */
  private toInt32(c: Code): void {
    const t = this.fn.local(F64);
    c.raw(OP.f64trunc).set(t);
    c.get(t).get(t).f64(4294967296).raw(OP.f64div, OP.f64floor).f64(4294967296).raw(OP.f64mul, OP.f64sub);
    c.raw(0xfc, 0x07, OP.i32wrap);
  }

  /** What pushes `e`'s value (not a reduce, const or var) from its children, which are resolved now. */
  private node(e: Expr, stack: readonly Level[], at: Level): Push {
    const g = (x: Expr): Push => this.gen(x, stack, at);
    const kids = new Map(children(e).map((x) => [x.id, g(x)]));
    return (c) => this.emit(e, (x) => kids.get(x.id)!, c);
  }

  /** Pushes `e`'s value (of type wt(e.type)), its children's values given by `g`. */
  private emit(e: Expr, g: (x: Expr) => Push, c: Code): void {
    switch (e.kind) {
      case 'load': {
        const offset = g(e.offset);
        c.get(this.inputBase(e.slot));
        offset(c);
        c.i32(2).raw(OP.i32shl, OP.i32add);
        if (e.type === 'f32') c.raw(OP.f32load, 2, 0);
        else if (e.type === 'f64') throw new Error('internal: a float64 load in a loops kernel');
        else c.raw(OP.i32load, 2, 0);
        return;
      }
      case 'unary':
        return this.unary(e, e.fn === 'abs' || e.fn === 'relu' ? this.once(g(e.x), wt(e.x.type), c) : g(e.x), c);
      case 'binary':
        return this.binary(e, g, c);
      case 'select': {
        const [cond, a, b] = [g(e.cond), g(e.a), g(e.b)];
        if (!cheapBranch(e.a, 6) || !cheapBranch(e.b, 6)) {
          // A branch, as the JS's `?:`: only the taken arm is computed.
          cond(c), c.raw(0x04, wt(e.type)), a(c), c.else(), b(c), c.end();
        } else if (isFloat(e.type)) selectFloat(c, wt(e.type), a, b, cond);
        else a(c), b(c), cond(c), c.raw(OP.select);
        return;
      }
      case 'cast':
        return this.cast(e.x.type, e.type, g(e.x), c);
      default:
        throw new Error(`internal: Wasm emitter asked for a ${e.kind} node as an operation`);
    }
  }

  private unary(e: Extract<Expr, { kind: 'unary' }>, x: Push, c: Code): void {
    const t = e.type;
    /** The JS's float64 computation `f` of x, rounded back to t. */
    const viaF64 = (f: () => void): void => (x(c), toF64(c, e.x.type), f(), fromF64(c, t));
    switch (e.fn) {
      case 'neg':
        if (t === 'f32') x(c), c.raw(OP.f32neg);
        else if (t === 'f64') x(c), c.raw(OP.f64neg);
        else c.i32(0), x(c), c.raw(OP.i32sub);
        return;
      case 'abs':
        if (t === 'f32') x(c), c.raw(OP.f32abs);
        else if (t === 'f64') x(c), c.raw(OP.f64abs);
        else c.i32(0), x(c), c.raw(OP.i32sub), x(c), x(c), c.i32(0), c.raw(OP.i32lt, OP.select);
        return;
      case 'sqrt':
        // A float32 square root rounds once to what fround(Math.sqrt(x)) gives.
        if (t === 'f32') x(c), c.raw(OP.f32sqrt);
        else viaF64(() => c.raw(OP.f64sqrt));
        return;
      case 'rsqrt':
        c.f64(1);
        return viaF64(() => c.raw(OP.f64sqrt, OP.f64div));
      case 'relu':
        // 0 where x <= 0, else x (NaN stays): the JS emitter's relu.
        if (t === 'f32') selectFloat(c, F32, (c) => c.f32(0), x, (c) => (x(c), c.f32(0), c.raw(OP.f32le)));
        else if (t === 'f64') selectFloat(c, F64, (c) => c.f64(0), x, (c) => (x(c), c.f64(0), c.raw(OP.f64le)));
        else c.i32(0), x(c), x(c), c.i32(0), c.raw(OP.i32gt, OP.i32eqz, OP.select);
        return;
      case 'not':
        x(c), c.i32(1).raw(OP.i32xor);
        return;
      case 'exp':
      case 'log':
      case 'tanh':
      case 'gelu':
        return viaF64(() => call(c, e.fn));
      case 'sigmoid':
        // 1 / (1 + exp(−x)), as the JS.
        c.f64(1).f64(1);
        return viaF64(() => (c.raw(OP.f64neg), call(c, 'exp'), c.raw(OP.f64add, OP.f64div)));
      default:
        throw new Error(`internal: no Wasm form for unary '${(e as { fn: string }).fn}'`);
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, g: (x: Expr) => Push, c: Code): void {
    const t = e.a.type;
    const twice = ((e.fn === 'maximum' || e.fn === 'minimum') && !isFloat(t)) || (e.fn === 'mod' && isFloat(t));
    const [a, b] = twice ? [this.once(g(e.a), wt(t), c), this.once(g(e.b), wt(t), c)] : [g(e.a), g(e.b)];
    const both = (): void => (a(c), b(c));
    switch (e.fn) {
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
        // float32 operands: the float32 instruction rounds once to what fround(a op b) gives (float64 carries over 2·24 + 2 bits).
        if (!isFloat(t) && e.fn === 'mul' && !smallConst(e.a) && !smallConst(e.b)) {
          // JS's (a * b) | 0: the product in float64 (rounded past 2^53), then ToInt32.
          a(c), c.raw(OP.f64converti32), b(c), c.raw(OP.f64converti32, OP.f64mul), this.toInt32(c);
          return;
        }
        both();
        if (t === 'f32') c.raw(F32_OPS[e.fn]);
        else if (t === 'f64') c.raw(F64_OPS[e.fn]);
        else if (e.fn === 'div') c.raw(OP.i32divs);
        else c.raw({ add: OP.i32add, sub: OP.i32sub, mul: OP.i32mul }[e.fn]);
        return;
      case 'maximum':
      case 'minimum':
        if (isFloat(t)) this.maxMin(e.fn, wt(t), a, b, c);
        else both(), both(), c.raw(e.fn === 'maximum' ? OP.i32gt : OP.i32lt, OP.select);
        return;
      case 'less':
      case 'greater':
      case 'equal':
        both(), c.raw(COMPARE[e.fn][width(t)]);
        return;
      case 'and':
        both(), c.raw(OP.i32and);
        return;
      case 'floordiv':
      case 'mod':
        if (isFloat(t)) {
          // Math.floor(a / b), and a − b·floor(a / b), in float64 as the JS computes them.
          const a64 = (): void => (a(c), toF64(c, t));
          const b64 = (): void => (b(c), toF64(c, t));
          if (e.fn === 'floordiv') a64(), b64(), c.raw(OP.f64div, OP.f64floor);
          else a64(), b64(), a64(), b64(), c.raw(OP.f64div, OP.f64floor, OP.f64mul, OP.f64sub);
          fromF64(c, e.type);
          return;
        }
        return this.intFloor(e.fn, a, (e.b as { value: number }).value, c);
      case 'pow':
        a(c), toF64(c, t), b(c), toF64(c, t), call(c, 'pow'), fromF64(c, e.type);
        return;
      default:
        return e.fn satisfies never;
    }
  }

  /**
   * Math.max / Math.min of floats of width `t` without branches: NaN if either is NaN, else
   * the larger (smaller); of equal values the bitwise AND (OR) of the two, which is +0 (−0)
   * for ±0.
   */
  private maxMin(fn: 'maximum' | 'minimum', t: ValType, a: Push, b: Push, c: Code): void {
    const f32 = t === F32;
    const [x, y, r] = [this.fn.local(t), this.fn.local(t), this.fn.local(t)];
    a(c), c.set(x), b(c), c.set(y);
    const [gx, gy] = [(c: Code) => c.get(x), (c: Code) => c.get(y)];
    const [toInt, toFloat, and, or] = f32 ? [OP.f32asi32, OP.i32asf32, OP.i32and, OP.i32or] : [OP.f64asi64, OP.i64asf64, OP.i64and, OP.i64or];
    const [gt, lt, eq, ne] = f32 ? [OP.f32gt, OP.f32lt, OP.f32eq, OP.f32ne] : [OP.f64gt, OP.f64lt, OP.f64eq, OP.f64ne];
    const equal = (c: Code): void => void c.get(x).raw(toInt).get(y).raw(toInt, fn === 'maximum' ? and : or, toFloat);
    const differ = (c: Code): void => selectFloat(c, t, gx, gy, (c) => c.get(x).get(y).raw(fn === 'maximum' ? gt : lt));
    selectFloat(c, t, equal, differ, (c) => c.get(x).get(y).raw(eq));
    c.set(r);
    selectFloat(c, t, gy, (c) => c.get(r), (c) => c.get(y).get(y).raw(ne));
    c.set(r);
    selectFloat(c, t, gx, (c) => c.get(r), (c) => c.get(x).get(x).raw(ne));
  }

  /** Floored division or modulo of an i32 by a positive constant (a shift or a mask for a power of two, as the JS). */
  private intFloor(fn: 'floordiv' | 'mod', a: Push, k: number, c: Code): void {
    if ((k & (k - 1)) === 0) {
      a(c), c.i32(fn === 'floordiv' ? Math.log2(k) : k - 1).raw(fn === 'floordiv' ? OP.i32shrs : OP.i32and);
      return;
    }
    const x = this.fn.local(I32);
    if (fn === 'floordiv') {
      // The truncated quotient, minus one where a is negative and not a multiple of k.
      a(c), c.set(x);
      c.get(x).i32(k).raw(OP.i32divs);
      c.get(x).i32(0).raw(OP.i32lt).get(x).i32(k).raw(OP.i32rems).i32(0).raw(OP.i32ne, OP.i32and, OP.i32sub);
    } else {
      // The truncated remainder, plus k where it is negative.
      a(c), c.i32(k).raw(OP.i32rems).set(x);
      c.get(x).i32(k).raw(OP.i32add).get(x).get(x).i32(0).raw(OP.i32lt, OP.select);
    }
  }

  private cast(from: EType, to: EType, x: Push, c: Code): void {
    x(c);
    if (from === to) return;
    switch (to) {
      case 'bool':
        if (from === 'f32') c.f32(0).raw(OP.f32ne);
        else if (from === 'f64') c.f64(0).raw(OP.f64ne);
        else c.i32(0).raw(OP.i32ne);
        return;
      case 'i32':
        if (isFloat(from)) toF64(c, from), this.toInt32(c);
        return;
      case 'f32':
        // From f64 Math.fround; from an integer, float32 conversion rounds once as fround of the exact double does.
        if (from === 'f64') c.raw(OP.f32demote);
        else c.raw(OP.f32converti32);
        return;
      case 'f64':
        toF64(c, from);
        return;
      default:
        return to satisfies never;
    }
  }

  /**
   * A reduction into `result`: accumulator and loops at its level, `where` conjuncts as a
   * branch to the loop's continue label, then the rounded result. Sums accumulate in float64
   * (or i32), as the JS's; max and argmax compare at the body's width.
   */
  private reduce(e: Extract<Expr, { kind: 'reduce' }>, stack: readonly Level[], home: Level, result: number): void {
    const base = stack.slice(0, stack.indexOf(home) + 1);
    const own = e.vars.length > 0 ? e.vars.map((v) => this.level(v.id)) : [this.level(null)];
    e.vars.forEach((v) => this.varOf(v));
    const inner = [...base, ...own];
    const innermost = own[own.length - 1]!;
    const choosing = e.fn === 'max' || e.fn === 'argmax';
    const float = isFloat(e.type);
    const accType: ValType = choosing ? wt(e.body.type) : float ? F64 : I32;
    const acc = this.fn.local(accType);
    const best = this.fn.local(I32);
    const init = e.init && !choosing ? this.gen(e.init, base) : null;
    for (const cj of conjuncts(e.where)) {
      const ch = this.home(cj, inner);
      const at = own.includes(ch) ? ch : own[0]!;
      const cond = this.gen(cj, inner.slice(0, inner.indexOf(at) + 1));
      cond(at.code), at.code.raw(OP.i32eqz).brIf(0);
    }
    const body = this.gen(e.body, inner);
    const points = e.vars.reduce((n, v) => n * v.extent, 1);
    const unroll = e.vars.length > 0 && e.where === null && points <= UNROLL_MAX;
    if (unroll && choosing && points > 1) return this.reduceTree(e, own, home, body, points, result);
    const c = innermost.code;
    switch (e.fn) {
      case 'sum':
      case 'mean':
        c.get(acc), body(c);
        if (float) toF64(c, e.body.type), c.raw(OP.f64add);
        else c.raw(OP.i32add);
        c.set(acc);
        break;
      case 'max': {
        // Takes x when it is larger, or NaN over a number (NaN is the largest and stays).
        const x = this.fn.local(accType);
        body(c), c.set(x);
        selectFloat(c, accType, (c) => c.get(x), (c) => c.get(acc), (c) => this.takes(c, accType, x, acc));
        c.set(acc);
        break;
      }
      case 'argmax': {
        const x = this.fn.local(accType);
        const take = this.fn.local(I32);
        body(c), c.set(x);
        c.get(best).i32(0).raw(OP.i32lt);
        this.takes(c, accType, x, acc);
        c.raw(OP.i32or).set(take);
        e.vars.forEach((v, i) => {
          if (i > 0) c.i32(v.extent).raw(OP.i32mul);
          c.get(this.varOf(v));
          if (i > 0) c.raw(OP.i32add);
        });
        c.get(best).get(take).raw(OP.select).set(best);
        selectFloat(c, accType, (c) => c.get(x), (c) => c.get(acc), (c) => c.get(take));
        c.set(acc);
        break;
      }
      default:
        return e.fn satisfies never;
    }
    const h = home.code;
    if (choosing) void (accType === F32 ? h.f32(-Infinity) : h.f64(-Infinity));
    else if (init) init(h), float ? toF64(h, e.init!.type) : undefined;
    else if (float) h.f64(-0);
    else h.i32(0);
    h.set(acc);
    if (e.fn === 'argmax') h.i32(-1).set(best);
    if (unroll) h.append(unrolledNest(e.vars.map((v) => [this.varOf(v), v.extent] as const), own));
    else if (e.vars.length > 0) h.append(loopNest(e.vars.map((v) => [this.varOf(v), v.extent] as const), own, null));
    else h.block().append(own[0]!.code).end();
    if (e.fn === 'argmax') h.get(best);
    else if (e.fn === 'max') h.get(acc);
    else {
      h.get(acc);
      if (e.fn === 'mean') void (float ? h.f64(points).raw(OP.f64div) : h.i32(points).raw(OP.i32divs));
      if (float) fromF64(h, e.type);
    }
    h.set(result);
  }

  /**
   * An unrolled max or argmax as a left-biased tree of pairwise choices, as the JS emitter
   * writes it (each pair keeps its left point on ties and a NaN already there: the
   * sequential fold's first maximum), in half the chain of dependent choices.
   */
  private reduceTree(e: Extract<Expr, { kind: 'reduce' }>, own: readonly Level[], home: Level, body: Push, points: number, result: number): void {
    const h = home.code;
    const t = wt(e.body.type);
    const values = Array.from({ length: points }, () => this.fn.local(t));
    h.append(unrolledNest(e.vars.map((v) => [this.varOf(v), v.extent] as const), own, 0, 0, (k, c) => (body(c), c.set(values[k]!))));
    let level: { value: number; at: Push }[] = values.map((value, k) => ({ value, at: (c: Code) => void c.i32(k) }));
    while (level.length > 1) {
      const next: { value: number; at: Push }[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) {
        const [a, b] = [level[i]!, level[i + 1]!];
        const [take, value, at] = [this.fn.local(I32), this.fn.local(t), this.fn.local(I32)];
        this.takes(h, t, b.value, a.value), h.set(take);
        selectFloat(h, t, (c) => c.get(b.value), (c) => c.get(a.value), (c) => c.get(take));
        h.set(value);
        if (e.fn === 'argmax') b.at(h), a.at(h), h.get(take).raw(OP.select).set(at);
        next.push({ value, at: (c) => void c.get(at) });
      }
      if (level.length % 2 === 1) next.push(level[level.length - 1]!);
      level = next;
    }
    if (e.fn === 'argmax') level[0]!.at(h);
    else h.get(level[0]!.value);
    h.set(result);
  }

  /** Pushes (x > acc) | (x is NaN and acc is not), for floats of width `t`. */
  private takes(c: Code, t: ValType, x: number, acc: number): void {
    const [gt, ne, eq] = t === F32 ? [OP.f32gt, OP.f32ne, OP.f32eq] : [OP.f64gt, OP.f64ne, OP.f64eq];
    c.get(x).get(acc).raw(gt);
    c.get(x).get(x).raw(ne).get(acc).get(acc).raw(eq, OP.i32and, OP.i32or);
  }
}

/** The conjuncts of a bool expression (`and` flattened); none for null. */
function conjuncts(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'binary' && e.fn === 'and') return [...conjuncts(e.a), ...conjuncts(e.b)];
  return [e];
}

/**
 * Loops over `vars` (each its local and extent) around `leaf`, each level's code at its
 * depth inside a block that a `br_if 0` there leaves early (a JS `continue`); with `range`,
 * the outermost loop runs over [lo, hi) from those locals.
 */
function loopNest(vars: readonly (readonly [number, number])[], levels: readonly Level[], leaf: Code | null, range?: { readonly lo: number; readonly hi: number }): Code {
  let inner = leaf ?? new Code(0);
  for (let i = vars.length - 1; i >= 0; i--) {
    const [v, extent] = vars[i]!;
    const ranged = range !== undefined && i === 0;
    const c = new Code(0);
    if (ranged) c.get(range.lo).set(v);
    else c.i32(0).set(v);
    c.block().loop();
    c.get(v);
    if (ranged) c.get(range.hi);
    else c.i32(extent);
    c.raw(OP.i32ge).brIf(1);
    c.block().append(levels[i]!.code).append(inner).end();
    c.get(v).i32(1).raw(OP.i32add).set(v).br(0);
    c.end().end();
    inner = c;
  }
  return inner;
}


/** Straight-line code for every point of `vars` (each its local and extent): each variable set to a constant, then its level's code. */
function unrolledNest(vars: readonly (readonly [number, number])[], levels: readonly Level[], depth = 0, at = 0, leaf?: (point: number, c: Code) => void): Code {
  const c = new Code(0);
  if (depth === vars.length) {
    leaf?.(at, c);
    return c;
  }
  const [v, extent] = vars[depth]!;
  for (let k = 0; k < extent; k++) c.i32(k).set(v).block().append(levels[depth]!.code).append(unrolledNest(vars, levels, depth + 1, at * extent + k, leaf)).end();
  return c;
}

/** Stores the value on top of the stack (after its address) into a view of its type. */
function store(c: Code, t: EType): void {
  if (t === 'f32') c.raw(OP.f32store, 2, 0);
  else c.raw(OP.i32store, 2, 0);
}

/** A loops kernel's module (its function exported as `run`), importing a plain memory and a shared one (threads). */
export interface WasmLoops {
  readonly plain: Uint8Array;
  readonly shared: Uint8Array;
}

/**
 * The modules of a loops kernel, or of a GEMM kernel's epilogue (`epilogue`: its contraction
 * and where its result lies in the scratch, in doubles; the function then takes the scratch's
 * byte address last); null when the kernel does not qualify.
 */
export function wasmLoopsModules(k: ExprKernel, split: SplitLoops | null, epilogue: { readonly template: Expr; readonly result: number } | null = null): WasmLoops | null {
  const values = split ? split.values : k.values;
  const roots = split ? [...split.values, split.position, ...split.guards.values()] : k.values;
  if (!values.every((v) => v.type === 'f32' || v.type === 'i32' || v.type === 'bool')) return null;
  // (The contraction of an epilogue is a sum of products of loads: it always qualifies.)
  if (!wasmLoopsSupported(roots)) return null;
  const slots = k.inputs.length;
  const params = 2 + slots + values.length + (epilogue ? 1 : 0);
  // The point's flat position is the first local, `p`; the scratch's address the last parameter.
  const p = params;
  const read: Push = (c) => void c.get(params - 1).get(p).i32(epilogue!.result).raw(OP.i32add).i32(3).raw(OP.i32shl, OP.i32add, OP.f64load, 3, 0);
  const em = new WasmEmitter(params, (slot) => 2 + slot, roots, epilogue ? { id: epilogue.template.id, read } : null);
  if (em.fn.local(I32) !== p) throw new Error('internal: the point position is not the first local');
  const outputBase = (i: number): number => 2 + slots + i;
  const range = { lo: 0, hi: 1 };
  const vars = split ? split.vars : k.vars;
  const top = em.level(null);
  const levels = vars.map((v) => em.level(v.id));
  const stack = [top, ...levels];
  const loopVars = vars.map((v) => [em.varOf(v), v.extent] as const);
  const leaf = new Code(0);
  if (split) {
    split.vars.forEach((v, i) => {
      const guard = split.guards.get(v.id);
      if (!guard) return;
      em.gen(guard, stack.slice(0, i + 2))(levels[i]!.code);
      levels[i]!.code.raw(OP.i32eqz).brIf(0);
    });
    const ys = values.map((v) => em.gen(v, stack));
    const at = em.gen(split.position, stack);
    const held = values.map((v, i) => {
      const l = em.fn.local(wt(v.type));
      ys[i]!(leaf), leaf.set(l);
      return l;
    });
    held.forEach((l, i) => {
      leaf.get(outputBase(i)), at(leaf), leaf.i32(2).raw(OP.i32shl, OP.i32add), leaf.get(l), store(leaf, values[i]!.type);
    });
  } else {
    const inner = k.space.slice(1).reduce((a, b) => a * b, 1);
    if (vars.length > 0) top.code.get(range.lo).i32(inner).raw(OP.i32mul).set(p);
    else top.code.i32(0).set(p);
    const ys = values.map((v) => em.gen(v, stack));
    // Every output is computed before any is stored: an output may overwrite an input read at this point.
    const held = values.map((v, i) => {
      const l = em.fn.local(wt(v.type));
      ys[i]!(leaf), leaf.set(l);
      return l;
    });
    held.forEach((l, i) => {
      leaf.get(outputBase(i)).get(p).i32(2).raw(OP.i32shl, OP.i32add).get(l), store(leaf, values[i]!.type);
    });
    leaf.get(p).i32(1).raw(OP.i32add).set(p);
  }
  em.fn.append(top.code).append(vars.length > 0 ? loopNest(loopVars, levels, leaf, range) : leaf);
  const fn = { name: 'run', params: Array.from({ length: params }, (): ValType => I32), code: em.fn };
  return { plain: wasmModule([fn], false, WASM_MATH_IMPORTS), shared: wasmModule([fn], true, WASM_MATH_IMPORTS) };
}
