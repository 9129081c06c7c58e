// The JavaScript expression emitter: a kernel expression DAG as statements placed in loop nests, each at the outermost loop it can live in.
//
// Loops are blocks on a stack: the kernel's top, then one block per loop variable (the
// index space's, then any reduction's). Every expression is emitted into the block of the
// innermost loop variable it depends on, so index arithmetic, scalar loads and anything
// else invariant in an inner loop is computed once per iteration of the loop it does
// depend on. A node used more than once, a reduction, or a node hoisted out of its
// parent's block becomes a named `const`; other nodes are inlined into their parent's
// text, so a single-use branch of a select is still evaluated only when taken.
//
// Semantics follow the kernel interpreter (compiler/kernel/interpret.ts) exactly: f32
// results are rounded with Math.fround after every operation that can round, f64 values are
// JS doubles, i32 results wrap with `| 0`, bools are 0 or 1; reductions accumulate in
// doubles in row-major order of their variables, skipping points whose `where` is false
// (`continue` at the loop of each conjunct), max and argmax treat NaN as largest and keep
// the first maximum. Identifiers are compiler-made: views `a<slot>`, loop variables
// `v<id>`, temporaries `t<n>`.
//
// Data-dependent choices are made without branches where the data decides them (ReLU, max
// pooling, masks): a branch the processor cannot predict costs more than the arithmetic
// around it (max pooling ran three times slower on real activations than on smooth ones).
// Comparisons become 0/1 with `| 0` (a flag set, no jump); a select of two cheap values
// writes both into a two-slot typed array and reads back the one its condition indexes
// (`selF`/`selI`); max and argmax updates do the same. Small reductions without a `where`
// (pooling windows) are unrolled, each iteration a block with its variable a constant.

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

/** A number as a JavaScript literal that reads back as the same double (signed zero and NaN included). */
export function literal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (Object.is(x, -0)) return '(-0)';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '(-Infinity)';
  return x < 0 ? `(${String(x)})` : String(x);
}

/**
 * `for` loops over `vars` around `body`, with each variable's own block of statements at its
 * level; with `ranged`, the outermost loop runs over [lo, hi) (a thread's share) instead.
 * With `unroll`, an innermost loop of at most that many iterations (not the ranged one) is
 * written out as one block per value of its variable — its statements must not `continue`.
 */
export function loopNest(vars: readonly IndexVar[], blocks: readonly Block[], body: readonly string[], ranged = false, unroll = 0): string[] {
  let inner = [...body];
  for (let i = vars.length - 1; i >= 0; i--) {
    const v = vars[i]!;
    const lines = [...blocks[i]!.lines, ...inner];
    if (i === vars.length - 1 && v.extent <= unroll && !(ranged && i === 0)) {
      inner = Array.from({ length: v.extent }, (_, c) => [`{`, ...indent([`const v${v.id} = ${c};`, ...lines]), '}']).flat();
      continue;
    }
    const [from, to] = ranged && i === 0 ? ['lo', 'hi'] : ['0', String(v.extent)];
    inner = [`for (let v${v.id} = ${from}; v${v.id} < ${to}; v${v.id}++) {`, ...indent(lines), '}'];
  }
  return inner;
}

export function indent(lines: readonly string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

/** What an emitter needs to know about the kernel it emits. */
export interface EmitContext {
  /** The view expression of a load slot (`a0`). */
  readonly view: (slot: number) => string;
  /** Expressions computed elsewhere (a contraction's result read from its scratch) and their text, valid in the innermost block. */
  readonly replaced?: ReadonlyMap<number, string>;
}

/** Emits expressions of one kernel; holds the use counts and the temporary counter. */
export class JsEmitter {
  private readonly uses = new Map<number, number>();
  private counter = 0;
  /** Helpers the emitted code calls, declared once in the kernel's prelude. */
  readonly helpers = new Set<'relu' | 'gelu' | 'selF' | 'selI'>();

  /** Nodes that read a replaced expression: they live no further out than it does. */
  private readonly pinned = new Set<number>();

  constructor(
    roots: readonly Expr[],
    private readonly cx: EmitContext,
  ) {
    for (const e of topoOrder(roots)) {
      for (const c of new Set(children(e))) this.uses.set(c.id, (this.uses.get(c.id) ?? 0) + 1);
      if (cx.replaced?.has(e.id) || children(e).some((c) => this.pinned.has(c.id))) this.pinned.add(e.id);
    }
    for (const r of roots) this.uses.set(r.id, (this.uses.get(r.id) ?? 0) + 1);
  }

  /** The view expression of a load slot (`a0`). */
  view(slot: number): string {
    return this.cx.view(slot);
  }

  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /**
   * The block an expression belongs in: that of the innermost variable on the stack it
   * depends on; the innermost block for a replaced expression and what reads it (a
   * contraction's result is read at the point, whatever variables the template names).
   */
  home(e: Expr, stack: readonly Block[]): Block {
    if (this.pinned.has(e.id)) return stack[stack.length - 1]!;
    for (let i = stack.length - 1; i > 0; i--) {
      const v = stack[i]!.varId;
      if (v !== null && e.free.includes(v)) return stack[i]!;
    }
    return stack[0]!;
  }

  /** Defines `name = text` in a block and remembers it there. */
  private define(block: Block, e: Expr, text: string): string {
    const name = this.fresh('t');
    block.lines.push(`const ${name} = ${text};`);
    block.memo.set(e.id, name);
    return name;
  }

  /**
   * The text of `e` valid in block `at` (the block of the expression that reads it), emitting
   * whatever statements it needs into the blocks of `stack`.
   */
  gen(e: Expr, stack: readonly Block[], at: Block): string {
    const home = this.home(e, stack);
    const known = home.memo.get(e.id);
    if (known !== undefined) return known;
    const swap = this.cx.replaced?.get(e.id);
    if (swap !== undefined) return this.define(home, e, swap);
    switch (e.kind) {
      case 'const':
        return literal(e.value);
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
        return `${this.cx.view(e.slot)}[${g(e.offset)}]`;
      case 'unary':
        return this.unary(e.fn, e.type, g(e.x));
      case 'binary':
        return binaryText(e.fn, e.type, e.a.type, g(e.a), g(e.b));
      case 'select':
        return this.select(e, g);
      case 'cast':
        return castText(e.x.type, e.type, g(e.x));
      default:
        throw new Error(`internal: emitter asked for a ${e.kind} node as an operation`);
    }
  }

  /**
   * `cond ? a : b`, without a branch when both sides are cheap to compute (both are then
   * evaluated; loads in generated code have clamped indices, so either side is safe to read).
   */
  private select(e: Extract<Expr, { kind: 'select' }>, g: (x: Expr) => string): string {
    if (!cheapBranch(e.a, 6) || !cheapBranch(e.b, 6)) return `(${g(e.cond)} ? ${g(e.a)} : ${g(e.b)})`;
    const fn = e.type === 'f32' || e.type === 'f64' ? 'selF' : 'selI';
    this.helpers.add(fn);
    return `${fn}(${g(e.cond)}, ${g(e.a)}, ${g(e.b)})`;
  }

  private unary(fn: UnaryFn, type: EType, x: string): string {
    if (fn === 'relu') this.helpers.add('relu');
    if (fn === 'gelu') this.helpers.add('gelu');
    const core: Record<UnaryFn, string> = {
      neg: `(-${x})`,
      abs: `Math.abs(${x})`,
      exp: `Math.exp(${x})`,
      log: `Math.log(${x})`,
      sqrt: `Math.sqrt(${x})`,
      rsqrt: `(1 / Math.sqrt(${x}))`,
      relu: `relu(${x})`,
      sigmoid: `(1 / (1 + Math.exp(-${x})))`,
      tanh: `Math.tanh(${x})`,
      gelu: `gelu(${x})`,
      not: `(${x} ^ 1)`,
    };
    if (fn === 'not') return core.not;
    // neg, abs and relu of a float32 value are float32 values: nothing to round.
    return round(type, core[fn], fn === 'neg' || fn === 'abs' || fn === 'relu');
  }

  /**
   * A reduction: its accumulator declared in its home block, its loops appended there, its
   * `where` conjuncts as `continue` at the loop of their innermost variable, and the rounded
   * result named. A reduction over no variables runs once, in a `do … while (false)`.
   */
  private reduce(e: Extract<Expr, { kind: 'reduce' }>, stack: readonly Block[], home: Block): string {
    const base = stack.slice(0, stack.indexOf(home) + 1);
    const own = e.vars.length > 0 ? e.vars.map((v) => newBlock(v.id)) : [newBlock(null)];
    const inner = [...base, ...own];
    const innermost = own[own.length - 1]!;
    const acc = this.fresh('s');
    const best = this.fresh('b');
    // Float accumulators start as doubles (-Infinity, or -0 for a sum: an empty or all-zero sum
    // then has the sign of its terms' sum from -0, the one difference from starting at +0).
    // Starting at the small integer 0 makes V8 type the loop variable as 'any' once a double
    // arrives, boxing every partial result: three times slower in the pooling gradients.
    const float = e.type === 'f32' || e.type === 'f64';
    const init = e.fn === 'max' || e.fn === 'argmax' ? '-Infinity' : e.init ? this.gen(e.init, base, home) : float ? '-0' : '0';
    for (const c of conjuncts(e.where)) {
      const cb = this.home(c, inner);
      const at = own.includes(cb) ? cb : own[0]!;
      at.lines.push(`if (!(${this.gen(c, inner, at)})) continue;`);
    }
    const body = this.gen(e.body, inner, innermost);
    const x = this.fresh('x');
    const count = e.vars.reduce((n, v) => n * v.extent, 1);
    const unroll = e.vars.length > 0 && e.where === null && count <= UNROLL_MAX;
    if (unroll && (e.fn === 'max' || e.fn === 'argmax') && count > 1) {
      // An unrolled max (argmax) as a tree of pairwise choices, half the chain of dependent
      // selects: each pair keeps its left (earlier) point on ties and a NaN already there, so
      // the tree finds the sequential fold's value (first position). Positions are the
      // points' row-major numbers, chosen by an integer mask (no memory round trip).
      this.helpers.add('selF');
      const points = Array.from({ length: count }, () => this.fresh('m'));
      innermost.lines.push(`const ${x} = ${body};`);
      home.lines.push(`let ${points.join(', ')};`, ...unrollNest(e.vars, own, 0, 0, (k) => [`${points[k]} = ${x};`]));
      let level = points.map((m, k) => ({ value: m, at: String(k) }));
      while (level.length > 1) {
        const next: { value: string; at: string }[] = [];
        for (let i = 0; i + 1 < level.length; i += 2) {
          const [a, b] = [level[i]!, level[i + 1]!];
          const [c, m, at] = [this.fresh('c'), this.fresh('m'), this.fresh('i')];
          home.lines.push(`const ${c} = (${b.value} > ${a.value}) | ((${b.value} !== ${b.value}) & (${a.value} === ${a.value}));`);
          // An argmax needs no value at the root (selF writes memory, so V8 would keep it).
          if (e.fn === 'max' || level.length > 2) home.lines.push(`const ${m} = selF(${c}, ${b.value}, ${a.value});`);
          if (e.fn === 'argmax') home.lines.push(`const ${at} = (${b.at} & -${c}) | (${a.at} & ~-${c});`);
          next.push({ value: m, at });
        }
        if (level.length % 2 === 1) next.push(level[level.length - 1]!);
        level = next;
      }
      return this.define(home, e, e.fn === 'argmax' ? level[0]!.at : round(e.type, level[0]!.value, false));
    }
    switch (e.fn) {
      case 'sum':
      case 'mean':
        innermost.lines.push(e.type === 'i32' ? `${acc} = (${acc} + ${body}) | 0;` : `${acc} += ${body};`);
        break;
      case 'max':
        // Takes x when it is larger, or NaN over a number (NaN is the largest and stays).
        this.helpers.add('selF');
        innermost.lines.push(`const ${x} = ${body};`, `${acc} = selF((${x} > ${acc}) | ((${x} !== ${x}) & (${acc} === ${acc})), ${x}, ${acc});`);
        break;
      case 'argmax': {
        const pos = e.vars.reduce((p, v, i) => (i === 0 ? `v${v.id}` : `(${p} * ${v.extent} + v${v.id})`), '0');
        const take = this.fresh('c');
        this.helpers.add('selF');
        this.helpers.add('selI');
        innermost.lines.push(
          `const ${x} = ${body};`,
          `const ${take} = (${best} < 0) | (${x} > ${acc}) | ((${x} !== ${x}) & (${acc} === ${acc}));`,
          `${best} = selI(${take}, ${pos}, ${best});`,
          `${acc} = selF(${take}, ${x}, ${acc});`,
        );
        break;
      }
      default:
        return e.fn satisfies never;
    }
    home.lines.push(`let ${acc} = ${init};`);
    if (e.fn === 'argmax') home.lines.push(`let ${best} = -1;`);
    if (e.vars.length > 0) home.lines.push(...(unroll ? unrollNest(e.vars, own) : loopNest(e.vars, own, [])));
    else home.lines.push('do {', ...indent(own[0]!.lines), '} while (false);');
    const value = e.fn === 'argmax' ? best : e.fn === 'mean' ? `(${acc} / ${count})` : acc;
    return this.define(home, e, e.fn === 'argmax' ? value : round(e.type, value, false));
  }

  /** The prelude the emitted statements need (helper definitions), to put before them. */
  prelude(): string[] {
    const lines: string[] = [];
    const sel = this.helpers.has('selF') || this.helpers.has('relu');
    if (sel) lines.push('const SEL_F = new Float64Array(2);', 'const selF = (c, a, b) => { SEL_F[0] = b; SEL_F[1] = a; return SEL_F[c]; };');
    if (this.helpers.has('selI')) lines.push('const SEL_I = new Int32Array(2);', 'const selI = (c, a, b) => { SEL_I[0] = b; SEL_I[1] = a; return SEL_I[c]; };');
    if (this.helpers.has('relu')) lines.push('const relu = (x) => selF((x <= 0) | 0, 0, x);');
    if (this.helpers.has('gelu')) lines.push('const gelu = H.gelu;');
    return lines;
  }
}

/** Reductions of at most this many points without a `where` are unrolled (here and in wasm-loops.ts, which must agree). */
export const UNROLL_MAX = 16;

/**
 * Straight-line iterations of a reduction's loops: one block per point, each variable a
 * constant there; `leaf(k)` adds lines at the innermost level of point k (row-major).
 */
function unrollNest(vars: readonly IndexVar[], blocks: readonly Block[], depth = 0, at = 0, leaf: (point: number) => string[] = () => []): string[] {
  if (depth === vars.length) return leaf(at);
  const v = vars[depth]!;
  const out: string[] = [];
  for (let k = 0; k < v.extent; k++) out.push('{', ...indent([`const v${v.id} = ${k};`, ...blocks[depth]!.lines, ...unrollNest(vars, blocks, depth + 1, at * v.extent + k, leaf)]), '}');
  return out;
}

/**
 * Whether an expression is cheap enough to compute even when a select does not take it: no
 * transcendental function, float division or reduction of its own within a few levels
 * (integer index arithmetic is always cheap).
 */
export function cheapBranch(e: Expr, depth: number): boolean {
  if ((e.type === 'i32' || e.type === 'bool') && e.kind !== 'reduce' && e.kind !== 'load') return true;
  switch (e.kind) {
    case 'const':
    case 'var':
      return true;
    case 'load':
      return depth > 0 && cheapBranch(e.offset, depth - 1);
    case 'cast':
      return depth > 0 && cheapBranch(e.x, depth - 1);
    case 'unary':
      return depth > 0 && ['neg', 'abs', 'relu', 'not'].includes(e.fn) && cheapBranch(e.x, depth - 1);
    case 'binary':
      return depth > 0 && e.fn !== 'div' && e.fn !== 'pow' && cheapBranch(e.a, depth - 1) && cheapBranch(e.b, depth - 1);
    case 'select':
      return depth > 0 && cheapBranch(e.cond, depth - 1) && cheapBranch(e.a, depth - 1) && cheapBranch(e.b, depth - 1);
    case 'reduce':
      return false;
    default:
      return e satisfies never;
  }
}

/** The conjuncts of a bool expression (`and` flattened); none for null. */
function conjuncts(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'binary' && e.fn === 'and') return [...conjuncts(e.a), ...conjuncts(e.b)];
  return [e];
}

/** A result rounded to its type: float32 (unless the operation is exact in float32), int32 wrapping, as is otherwise. */
function round(type: EType, text: string, exactInF32: boolean): string {
  if (type === 'f32') return exactInF32 ? text : `Math.fround(${text})`;
  if (type === 'i32') return `(${text} | 0)`;
  return text;
}

const INFIX: Partial<Record<BinaryFn, string>> = { add: '+', sub: '-', mul: '*', div: '/' };

function binaryText(fn: BinaryFn, type: EType, operand: EType, a: string, b: string): string {
  const infix = INFIX[fn];
  if (infix) return round(type, `(${a} ${infix} ${b})`, false);
  switch (fn) {
    case 'maximum':
      return `Math.max(${a}, ${b})`;
    case 'minimum':
      return `Math.min(${a}, ${b})`;
    case 'pow':
      return round(type, `Math.pow(${a}, ${b})`, false);
    case 'less':
      return `((${a} < ${b}) | 0)`;
    case 'greater':
      return `((${a} > ${b}) | 0)`;
    case 'equal':
      return `((${a} === ${b}) | 0)`;
    case 'and':
      return `(${a} & ${b})`;
    case 'floordiv':
    case 'mod': {
      // Division by a power of two of an int32 is a shift (floor) or a mask (floored modulo).
      const k = /^\d+$/.test(b) ? Number(b) : 0;
      if (operand === 'i32' && k > 0 && (k & (k - 1)) === 0) return fn === 'floordiv' ? `(${a} >> ${Math.log2(k)})` : `(${a} & ${k - 1})`;
      const q = `Math.floor(${a} / ${b})`;
      return round(type, fn === 'floordiv' ? q : `(${a} - ${b} * ${q})`, false);
    }
    default:
      throw new Error(`internal: no JavaScript form for binary '${fn}'`);
  }
}

function castText(from: EType, to: EType, x: string): string {
  if (from === to) return x;
  switch (to) {
    case 'bool':
      return `((${x} !== 0) | 0)`;
    case 'i32':
      return `(${x} | 0)`;
    case 'f32':
      return from === 'bool' ? x : `Math.fround(${x})`;
    case 'f64':
      return x;
    default:
      return to satisfies never;
  }
}
