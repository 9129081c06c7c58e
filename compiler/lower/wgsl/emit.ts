// The WGSL expression emitter: a kernel expression DAG as WGSL statements placed in blocks, each at the outermost loop it can live in.
//
// The structure follows the CPU's JavaScript emitter (compiler/lower/cpu/emit.ts): blocks are
// loop bodies on a stack, an expression is emitted into the block of the innermost loop
// variable it depends on, a node used twice (or hoisted out of its reader's block) becomes a
// named `let`, and a reduction becomes an accumulator and a loop nest in its home block.
//
// Arithmetic differs from the interpreter's where WGSL does: every float is f32, so the
// reference's float64 accumulation inside reductions and contractions is a float32 one (the
// reduction tolerance class of DESIGN.md covers it), and WGSL on the target drivers has no
// NaN or infinity semantics (lavapipe folds `max(NaN, 0)` to 0 and `x != x` to false), so
// no kernel relies on NaN propagating: results are specified for finite values only, and
// transcendentals clamp their arguments where a large one would overflow inside the formula
// rather than in the true result (tanh, sigmoid). Integers are i32 (wrapping, as WGSL's
// are), bools are WGSL bools in registers and u32 0/1 in storage. Identifiers are
// compiler-made: index variables `v<id>`, temporaries `t<n>`, accumulators `s<n>`.
//
// Precision 'f16' (WgslOptions.precision) computes in half precision where storage stays
// float32: the expression type f32 is WGSL's f16 and the wide type f64 is f32, so the sums
// the kernel lowering already marks wide accumulate in f32, and so does every other sum or
// mean (their accumulators are f32 whatever the body's type). The helpers (tanh, sigmoid,
// gelu, pow) run in f32 on converted arguments: their clamps are float32's, and f16's range
// (±65504) would overflow inside their formulas. Constants beyond f16's range are clamped
// to it; constants below its smallest subnormal round to zero (an optimizer's epsilon of
// 1e-8 does), which is why f16 is a choice, not the default.

import { HALF_MAX } from '../../kernel/half.js';
import type { BinaryFn, EType, Expr, IndexVar, UnaryFn } from '../../kernel/expr.js';
import { children, topoOrder } from '../../kernel/expr.js';

/** A loop body (or the kernel's top when `varId` is null) being filled with statements. */
export interface Block {
  readonly varId: number | null;
  readonly lines: string[];
  /** Named expressions available in this block, by expression id. */
  readonly memo: Map<number, string>;
}

export function newBlock(varId: number | null): Block {
  return { varId, lines: [], memo: new Map() };
}

export function indent(lines: readonly string[], by = '  '): string[] {
  return lines.map((l) => `${by}${l}`);
}

/** The float type kernels compute in (WgslOptions.precision); storage is float32 either way. */
export type Precision = 'f32' | 'f16';

/** The WGSL type of an expression type: f64 is f32 (WGSL has no doubles), f32 is the precision's float. */
export function wgslType(t: EType, fp: Precision = 'f32'): 'f32' | 'f16' | 'i32' | 'bool' {
  return t === 'f64' ? 'f32' : t === 'f32' ? fp : t;
}

/** A number as a WGSL literal of an expression type that reads back as the same value (in f16, the nearest one in range). */
export function literal(x: number, t: EType, fp: Precision = 'f32'): string {
  if (wgslType(t, fp) === 'f16') {
    if (!Number.isFinite(x)) return `f16(${literal(x, 'f32')})`;
    const h = Math.max(-HALF_MAX, Math.min(HALF_MAX, x));
    return Object.is(h, -0) ? '(-0.0h)' : h < 0 ? `(${String(h)}h)` : `${String(h)}h`;
  }
  switch (t) {
    case 'bool':
      return x ? 'true' : 'false';
    case 'i32':
      return x === -2147483648 ? 'bitcast<i32>(0x80000000u)' : x < 0 ? `(${x}i)` : `${x}i`;
    case 'f32':
    case 'f64': {
      const f = Math.fround(x);
      // WGSL constant expressions cannot hold NaN or infinities: these come from a function call, evaluated at run time.
      if (Number.isNaN(f)) return 'bits_(0x7fc00000u)';
      if (f === Infinity) return 'bits_(0x7f800000u)';
      if (f === -Infinity) return 'bits_(0xff800000u)';
      if (Object.is(f, -0)) return 'bitcast<f32>(0x80000000u)';
      // The shortest decimal of the double equal to the float32 value: parsed as an abstract float, then converted exactly.
      return f < 0 ? `(${String(f)}f)` : `${String(f)}f`;
    }
    default:
      return t satisfies never;
  }
}

/** `for` loops over `vars` around `body`, each variable's own block of statements at its level. */
export function loopNest(vars: readonly IndexVar[], blocks: readonly Block[], body: readonly string[]): string[] {
  let inner = [...body];
  for (let i = vars.length - 1; i >= 0; i--) {
    const v = vars[i]!;
    inner = [`for (var v${v.id} = 0i; v${v.id} < ${v.extent}i; v${v.id}++) {`, ...indent([...blocks[i]!.lines, ...inner]), '}'];
  }
  return inner;
}

/** Helper functions emitted code may call; each is declared once per shader, only when used. */
export type Helper = 'bits_' | 'tanh_' | 'sigmoid_' | 'gelu_' | 'pow_' | 'idiv' | 'ifloordiv' | 'imod';

const HELPERS: Readonly<Record<Helper, string>> = {
  bits_: 'fn bits_(x: u32) -> f32 { return bitcast<f32>(x); }',
  // tanh(±10) is ±1 in float32; the clamp keeps a driver's exp-based tanh away from inf/inf.
  tanh_: 'fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -10.0f, 10.0f)); }',
  // exp(88) is the largest power of e below float32's maximum.
  sigmoid_: 'fn sigmoid_(x: f32) -> f32 { return 1.0f / (1.0f + exp(-clamp(x, -88.0f, 88.0f))); }',
  gelu_: 'fn gelu_(x: f32) -> f32 { return 0.5f * x * (1.0f + tanh_(0.7978845608028654f * (x + 0.044715f * x * x * x))); }',
  // WGSL leaves pow undefined for a negative base; the reference (Math.pow) allows an integer exponent there.
  pow_: [
    'fn pow_(x: f32, y: f32) -> f32 {',
    '  if (y == 0.0f) { return 1.0f; }',
    '  let m = pow(abs(x), y);',
    '  if (x < 0.0f && y == floor(y) && fract(y * 0.5f) != 0.0f) { return -m; }',
    '  return m;',
    '}',
  ].join('\n'),
  // Truncating division as Int32Array stores x / 0 (0); WGSL would give x.
  idiv: 'fn idiv(a: i32, b: i32) -> i32 { return select(a / b, 0i, b == 0i); }',
  ifloordiv: [
    'fn ifloordiv(a: i32, b: i32) -> i32 {',
    '  if (b == 0i) { return 0i; }',
    '  let q = a / b;',
    '  return select(q, q - 1i, (a % b != 0i) && ((a < 0i) != (b < 0i)));',
    '}',
  ].join('\n'),
  imod: [
    'fn imod(a: i32, b: i32) -> i32 {',
    '  if (b == 0i) { return 0i; }',
    '  let r = a % b;',
    '  return select(r, r + b, (r != 0i) && ((r < 0i) != (b < 0i)));',
    '}',
  ].join('\n'),
};

/** The definitions of the helpers a shader uses, dependencies first. */
export function helperSource(used: ReadonlySet<Helper>): string[] {
  const order: Helper[] = ['bits_', 'tanh_', 'sigmoid_', 'gelu_', 'pow_', 'idiv', 'ifloordiv', 'imod'];
  const need = new Set(used);
  if (need.has('gelu_')) need.add('tanh_');
  return order.filter((h) => need.has(h)).map((h) => HELPERS[h]);
}

/** What an emitter needs to know about the kernel it emits. */
export interface EmitContext {
  /** The text of a load from a slot at an i32 index. */
  readonly load: (slot: number, index: string, type: EType) => string;
  /** Expressions computed elsewhere (a contraction's accumulator) and their text, valid in the innermost block. */
  readonly replaced?: ReadonlyMap<number, string>;
  /** The float type of arithmetic (default f32). */
  readonly precision?: Precision;
}

type Reduce = Extract<Expr, { kind: 'reduce' }>;

/** Emits expressions of one kernel; holds the use counts, the temporary counter and the helpers used. */
export class WgslEmitter {
  private readonly uses = new Map<number, number>();
  private counter = 0;
  readonly helpers = new Set<Helper>();
  /** Nodes that read a replaced expression: they live no further out than it does. */
  private readonly pinned = new Set<number>();
  private readonly fp: Precision;

  constructor(
    roots: readonly Expr[],
    private readonly cx: EmitContext,
  ) {
    this.fp = cx.precision ?? 'f32';
    for (const e of topoOrder(roots)) {
      for (const c of new Set(children(e))) this.uses.set(c.id, (this.uses.get(c.id) ?? 0) + 1);
      if (cx.replaced?.has(e.id) || children(e).some((c) => this.pinned.has(c.id))) this.pinned.add(e.id);
    }
    for (const r of roots) this.uses.set(r.id, (this.uses.get(r.id) ?? 0) + 1);
  }

  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** The block of the innermost variable on the stack that `e` depends on (the innermost for pinned nodes). */
  home(e: Expr, stack: readonly Block[]): Block {
    if (this.pinned.has(e.id)) return stack[stack.length - 1]!;
    for (let i = stack.length - 1; i > 0; i--) {
      const v = stack[i]!.varId;
      if (v !== null && e.free.includes(v)) return stack[i]!;
    }
    return stack[0]!;
  }

  private define(block: Block, e: Expr, text: string): string {
    const name = this.fresh('t');
    block.lines.push(`let ${name} = ${text};`);
    block.memo.set(e.id, name);
    return name;
  }

  /** The text of `e` valid in block `at`, emitting whatever statements it needs into the blocks of `stack`. */
  gen(e: Expr, stack: readonly Block[], at: Block): string {
    if (e.kind === 'const' && (e.type === 'f32' || e.type === 'f64') && !Number.isFinite(e.value)) this.helpers.add('bits_');
    const home = this.home(e, stack);
    const known = home.memo.get(e.id);
    if (known !== undefined) return known;
    const swap = this.cx.replaced?.get(e.id);
    if (swap !== undefined) return this.define(home, e, swap);
    switch (e.kind) {
      case 'const':
        return literal(e.value, e.type, this.fp);
      case 'var':
        return `v${e.v.id}`;
      case 'reduce':
        return this.reduce(e, stack, home);
      default:
        break;
    }
    const text = this.node(e, stack, home);
    const named = (this.uses.get(e.id) ?? 0) > 1 || home !== at;
    return named ? this.define(home, e, text) : text;
  }

  private node(e: Expr, stack: readonly Block[], home: Block): string {
    const g = (x: Expr): string => this.gen(x, stack, home);
    switch (e.kind) {
      case 'load':
        return this.cx.load(e.slot, g(e.offset), e.type);
      case 'unary':
        return this.unary(e.fn, e.type, g(e.x));
      case 'binary':
        return this.binary(e.fn, e.a.type, g(e.a), g(e.b));
      case 'select':
        return `select(${g(e.b)}, ${g(e.a)}, ${g(e.cond)})`;
      case 'cast':
        return castText(e.x.type, e.type, g(e.x), this.fp);
      default:
        throw new Error(`internal: emitter asked for a ${e.kind} node as an operation`);
    }
  }

  private use(h: Helper): string {
    this.helpers.add(h);
    return h;
  }

  /** A call of an f32 helper on arguments of type `type`: converted to f32 and back where the type is f16. */
  private call(h: Helper, type: EType, args: readonly string[]): string {
    const half = wgslType(type, this.fp) === 'f16';
    const call = `${this.use(h)}(${args.map((a) => (half ? `f32(${a})` : a)).join(', ')})`;
    return half ? `f16(${call})` : call;
  }

  private unary(fn: UnaryFn, type: EType, x: string): string {
    const float = type === 'f32' || type === 'f64';
    switch (fn) {
      case 'neg':
        return `(-${x})`;
      case 'abs':
        return `abs(${x})`;
      case 'exp':
        return `exp(${x})`;
      case 'log':
        return `log(${x})`;
      case 'sqrt':
        return `sqrt(${x})`;
      case 'rsqrt':
        return `inverseSqrt(${x})`;
      case 'relu':
        return float ? `max(${x}, ${literal(0, type, this.fp)})` : `max(${x}, 0i)`;
      case 'sigmoid':
        return this.call('sigmoid_', type, [x]);
      case 'tanh':
        return this.call('tanh_', type, [x]);
      case 'gelu':
        this.use('tanh_');
        return this.call('gelu_', type, [x]);
      case 'not':
        return `(!${x})`;
      default:
        return fn satisfies never;
    }
  }

  private binary(fn: BinaryFn, operand: EType, a: string, b: string): string {
    const int = operand === 'i32';
    switch (fn) {
      case 'add':
        return `(${a} + ${b})`;
      case 'sub':
        return `(${a} - ${b})`;
      case 'mul':
        return `(${a} * ${b})`;
      case 'div':
        return int ? `${this.use('idiv')}(${a}, ${b})` : `(${a} / ${b})`;
      case 'maximum':
        return `max(${a}, ${b})`;
      case 'minimum':
        return `min(${a}, ${b})`;
      case 'pow':
        return this.call('pow_', operand, [a, b]);
      case 'less':
        return `(${a} < ${b})`;
      case 'greater':
        return `(${a} > ${b})`;
      case 'equal':
        return `(${a} == ${b})`;
      case 'and':
        return `(${a} && ${b})`;
      case 'floordiv':
      case 'mod': {
        if (!int) return fn === 'floordiv' ? `floor(${a} / ${b})` : `(${a} - ${b} * floor(${a} / ${b}))`;
        // Index arithmetic divides by constants; a power of two is a shift (floor) or a mask (floored modulo).
        const k = /^\d+i$/.test(b) ? Number(b.slice(0, -1)) : 0;
        if (k > 0 && (k & (k - 1)) === 0) return fn === 'floordiv' ? `(${a} >> ${Math.log2(k)}u)` : `(${a} & ${k - 1}i)`;
        return `${this.use(fn === 'floordiv' ? 'ifloordiv' : 'imod')}(${a}, ${b})`;
      }
      default:
        return fn satisfies never;
    }
  }

  /**
   * A reduction: its accumulator declared in its home block, its loops appended there, its
   * `where` conjuncts as `continue` at the loop of their innermost variable. A reduction over
   * no variables runs its body once, in a loop of one iteration.
   */
  private reduce(e: Reduce, stack: readonly Block[], home: Block): string {
    const base = stack.slice(0, stack.indexOf(home) + 1);
    const own = e.vars.length > 0 ? e.vars.map((v) => newBlock(v.id)) : [newBlock(null)];
    const inner = [...base, ...own];
    const innermost = own[own.length - 1]!;
    const acc = this.fresh('s');
    const best = this.fresh('b');
    const valueTy = wgslType(e.fn === 'argmax' ? e.body.type : e.type, this.fp);
    // Sums accumulate in f32 where the precision's float is f16 (see the header).
    const sum = e.fn === 'sum' || e.fn === 'mean';
    const ty = sum && valueTy === 'f16' ? 'f32' : valueTy;
    const widen = (x: string): string => (ty === valueTy ? x : `f32(${x})`);
    // The lowest finite float rather than -infinity: kernels assume finite values (a max over no points is unspecified).
    const lowest = ty === 'i32' ? literal(-2147483648, 'i32') : ty === 'f16' ? literal(-HALF_MAX, 'f32', 'f16') : literal(-3.4028234663852886e38, 'f32');
    const init = e.fn === 'max' || e.fn === 'argmax' ? lowest : e.init ? widen(this.gen(e.init, base, home)) : ty === valueTy ? literal(0, e.type, this.fp) : literal(0, 'f64');
    for (const c of conjuncts(e.where)) {
      const cb = this.home(c, inner);
      const at = own.includes(cb) ? cb : own[0]!;
      at.lines.push(`if (!(${this.gen(c, inner, at)})) { continue; }`);
    }
    const body = this.gen(e.body, inner, innermost);
    const x = this.fresh('x');
    switch (e.fn) {
      case 'sum':
      case 'mean':
        innermost.lines.push(`${acc} += ${widen(body)};`);
        break;
      case 'max':
        innermost.lines.push(`${acc} = max(${acc}, ${body});`);
        break;
      case 'argmax': {
        const pos = e.vars.reduce((p, v, i) => (i === 0 ? `v${v.id}` : `(${p} * ${v.extent}i + v${v.id})`), '0i');
        innermost.lines.push(`let ${x} = ${body};`, `if (${best} < 0i || ${x} > ${acc}) { ${best} = ${pos}; ${acc} = ${x}; }`);
        break;
      }
      default:
        return e.fn satisfies never;
    }
    home.lines.push(`var ${acc}: ${ty} = ${init};`);
    if (e.fn === 'argmax') home.lines.push(`var ${best} = -1i;`);
    if (e.vars.length > 0) home.lines.push(...loopNest(e.vars, own, []));
    else {
      // One pass through a loop, so that a `where` can skip it with `continue`.
      const once = this.fresh('o');
      home.lines.push(`for (var ${once} = 0i; ${once} < 1i; ${once}++) {`, ...indent(own[0]!.lines), '}');
    }
    const count = e.vars.reduce((n, v) => n * v.extent, 1);
    const value = e.fn === 'argmax' ? best : e.fn === 'mean' ? `(${acc} / ${literal(count, 'f64')})` : acc;
    return this.define(home, e, ty === valueTy ? value : `${valueTy}(${value})`);
  }
}

/** The conjuncts of a bool expression (`and` flattened); none for null. */
export function conjuncts(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'binary' && e.fn === 'and') return [...conjuncts(e.a), ...conjuncts(e.b)];
  return [e];
}

function castText(from: EType, to: EType, x: string, fp: Precision): string {
  const a = wgslType(from, fp);
  const b = wgslType(to, fp);
  if (a === b) return x;
  switch (b) {
    case 'bool':
      return a === 'i32' ? `(${x} != 0i)` : `(${x} != ${literal(0, from, fp)})`;
    case 'i32':
      return `i32(${x})`;
    case 'f32':
    case 'f16':
      return `${b}(${x})`;
    default:
      return b satisfies never;
  }
}
