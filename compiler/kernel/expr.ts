// Kernel expressions: the per-element computation of a kernel as a hash-consed DAG, with integer index simplification.
//
// An expression computes one value for the current point of a kernel's index space: loads
// through index expressions, arithmetic, selects, casts, and reductions over fresh index
// variables (a reduction nested in an expression is how softmax, layernorm and matmul read
// their rows). Values have an expression type: f32 (rounded to float32 after every
// operation, as the reference rounds every op's result), f64 (not rounded: the float64
// accumulation the reference uses inside reductions and contractions), i32 (wrapping, as
// Int32Array stores) and bool (0 or 1).
//
// Expressions are built only through an ExprBuilder, which hash-conses them: building the
// same expression twice gives the same object, so a DAG node shared by two outputs (or two
// uses) is one node that evaluators compute once. The builder also simplifies integer index
// arithmetic using value ranges and linear forms, so that, e.g., reading a reshaped tensor
// at the reshape's own index gives back the plain row-major offset: identity reads are
// recognizable by object identity.

export type EType = 'f32' | 'f64' | 'i32' | 'bool';

export type UnaryFn = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'relu' | 'sigmoid' | 'tanh' | 'gelu' | 'not';
export type BinaryFn = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | 'less' | 'greater' | 'equal' | 'and' | 'floordiv' | 'mod';
/**
 * sum and mean accumulate in float64 (i32 sums wrap at every step); max keeps the first
 * maximum with NaN counting as largest; argmax gives the row-major position of that first
 * maximum among the reduction's variables.
 */
export type ReduceFn = 'sum' | 'mean' | 'max' | 'argmax';

export const UNARY_FNS: readonly UnaryFn[] = ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'relu', 'sigmoid', 'tanh', 'gelu', 'not'];
export const BINARY_FNS: readonly BinaryFn[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'less', 'greater', 'equal', 'and', 'floordiv', 'mod'];

/** An index variable of a kernel: the axes of its index space, or a reduction's axes. */
export interface IndexVar {
  readonly id: number;
  readonly extent: number;
}

interface Base {
  /** Unique within the builder; children always have smaller ids. */
  readonly id: number;
  readonly type: EType;
  /** Ids of the index variables the value depends on, sorted. */
  readonly free: readonly number[];
}

export type Expr =
  | (Base & { readonly kind: 'const'; readonly value: number })
  | (Base & { readonly kind: 'var'; readonly v: IndexVar })
  | (Base & { readonly kind: 'load'; readonly slot: number; readonly offset: Expr })
  | (Base & { readonly kind: 'unary'; readonly fn: UnaryFn; readonly x: Expr })
  | (Base & { readonly kind: 'binary'; readonly fn: BinaryFn; readonly a: Expr; readonly b: Expr })
  | (Base & { readonly kind: 'select'; readonly cond: Expr; readonly a: Expr; readonly b: Expr })
  | (Base & { readonly kind: 'cast'; readonly x: Expr })
  | (Base & {
      readonly kind: 'reduce';
      readonly fn: ReduceFn;
      readonly vars: readonly IndexVar[];
      readonly body: Expr;
      /** Points where this is false are skipped (a window clipped to its input, a conv's padding). */
      readonly where: Expr | null;
      /** The accumulator's start (sum only); 0 when null. */
      readonly init: Expr | null;
    });

export type ExprKind = Expr['kind'];

/** The children of an expression, in a fixed order. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'const':
    case 'var':
      return [];
    case 'load':
      return [e.offset];
    case 'unary':
    case 'cast':
      return [e.x];
    case 'binary':
      return [e.a, e.b];
    case 'select':
      return [e.cond, e.a, e.b];
    case 'reduce':
      return [e.body, ...(e.where ? [e.where] : []), ...(e.init ? [e.init] : [])];
    default:
      return e satisfies never;
  }
}

/** Every node reachable from the roots, children before parents (ascending id). */
export function topoOrder(roots: readonly Expr[]): Expr[] {
  const seen = new Map<number, Expr>();
  const stack = [...roots];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e.id)) continue;
    seen.set(e.id, e);
    stack.push(...children(e));
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

type ReduceExpr = Extract<Expr, { kind: 'reduce' }>;

/** A node of e's kind made by `b` from e's children mapped by `go`; `reduce` makes a reduction from its mapped parts. */
function remake(b: ExprBuilder, e: Exclude<Expr, { kind: 'const' | 'var' }>, go: (x: Expr) => Expr, reduce: (r: ReduceExpr, body: Expr, where: Expr | null, init: Expr | null) => Expr): Expr {
  switch (e.kind) {
    case 'load':
      return b.load(e.slot, go(e.offset), e.type);
    case 'unary':
      return b.unary(e.fn, go(e.x));
    case 'cast':
      return b.cast(go(e.x), e.type);
    case 'binary':
      return b.binary(e.fn, go(e.a), go(e.b));
    case 'select':
      return b.select(go(e.cond), go(e.a), go(e.b));
    case 'reduce':
      return reduce(e, go(e.body), e.where ? go(e.where) : null, e.init ? go(e.init) : null);
    default:
      return e satisfies never;
  }
}

/** The largest node or variable id in expressions (reduction variables included); -1 for none. */
export function maxId(roots: readonly Expr[]): number {
  let m = -1;
  for (const e of topoOrder(roots)) {
    m = Math.max(m, e.id, ...e.free);
    if (e.kind === 'reduce') m = Math.max(m, ...e.vars.map((v) => v.id));
  }
  return m;
}

/**
 * Expressions rebuilt through `b` (whose ids start above theirs, see maxId), with variables
 * replaced by expressions by id: the builder simplifies as it makes each node, so index
 * arithmetic folds (floordiv(2w + t, 2) with t < 2 is w).
 */
export function rebuild(b: ExprBuilder, roots: readonly Expr[], subst: ReadonlyMap<number, Expr>): Expr[] {
  const memo = new Map<number, Expr>();
  const go = (e: Expr): Expr => {
    const done = memo.get(e.id);
    if (done) return done;
    const out =
      e.kind === 'const' ? b.const(e.value, e.type) : e.kind === 'var' ? (subst.get(e.v.id) ?? b.v(e.v)) : remake(b, e, go, (r, body, where, init) => b.reduce(r.fn, r.vars, body, r.type, where, init));
    memo.set(e.id, out);
    return out;
  };
  return roots.map(go);
}

/** Inclusive integer bounds of an i32 expression; infinite when unknown (loaded indices). */
interface Range {
  readonly lo: number;
  readonly hi: number;
}

const UNKNOWN: Range = { lo: -Infinity, hi: Infinity };

function mergeFree(...lists: (readonly number[])[]): number[] {
  const s = new Set<number>();
  for (const l of lists) for (const v of l) s.add(v);
  return [...s].sort((a, b) => a - b);
}

/** A linear form Σ cᵢ·tᵢ + c over non-linear integer terms tᵢ. */
interface Linear {
  readonly terms: Map<Expr, number>;
  c: number;
}

export class ExprBuilder {
  /** `firstId`: where node and variable ids start (above those of expressions being rebuilt into this builder). */
  constructor(private nextId = 0) {}

  private readonly byKey = new Map<string, Expr>();
  private readonly ranges = new Map<number, Range>();
  /** For an expression that a division simplified into: the division it equals, x / k. */
  private readonly quotients = new Map<Expr, { readonly x: Expr; readonly k: number }>();

  private make(key: string, build: (id: number) => Expr, range?: Range): Expr {
    const seen = this.byKey.get(key);
    if (seen) return seen;
    const e = build(this.nextId++);
    this.byKey.set(key, e);
    if (range) this.ranges.set(e.id, range);
    return e;
  }

  range(e: Expr): Range {
    return this.ranges.get(e.id) ?? UNKNOWN;
  }

  /** A new index variable with values 0..extent-1. */
  newVar(extent: number): IndexVar {
    if (!Number.isSafeInteger(extent) || extent < 1) throw new Error(`internal: index variable extent ${extent} is not a positive integer`);
    return { id: this.nextId++, extent };
  }

  v(iv: IndexVar): Expr {
    return this.make(`v${iv.id}`, (id) => ({ id, kind: 'var', type: 'i32', free: [iv.id], v: iv }), { lo: 0, hi: iv.extent - 1 });
  }

  const(value: number, type: EType): Expr {
    const v = type === 'f32' ? Math.fround(value) : type === 'i32' ? value | 0 : type === 'bool' ? (value ? 1 : 0) : value;
    const key = `c${type}:${Object.is(v, -0) ? '-0' : String(v)}`;
    return this.make(key, (id) => ({ id, kind: 'const', type, free: [], value: v }), type === 'i32' || type === 'bool' ? { lo: v, hi: v } : undefined);
  }

  int(value: number): Expr {
    return this.const(value, 'i32');
  }

  load(slot: number, offset: Expr, type: EType): Expr {
    return this.make(`l${slot}:${offset.id}:${type}`, (id) => ({ id, kind: 'load', type, free: offset.free, slot, offset }), type === 'bool' ? { lo: 0, hi: 1 } : undefined);
  }

  unary(fn: UnaryFn, x: Expr): Expr {
    if (x.kind === 'const' && x.type !== 'f32' && x.type !== 'f64') {
      if (fn === 'neg') return this.const(-x.value, x.type);
      if (fn === 'not') return this.const(x.value ? 0 : 1, 'bool');
    }
    return this.make(`u${fn}:${x.id}`, (id) => ({ id, kind: 'unary', type: x.type, free: x.free, fn, x }), fn === 'not' ? { lo: 0, hi: 1 } : undefined);
  }

  cast(x: Expr, type: EType): Expr {
    if (x.type === type) return x;
    if (x.kind === 'const' && (x.type === 'i32' || x.type === 'bool')) return this.const(type === 'bool' ? (x.value !== 0 ? 1 : 0) : x.value, type);
    const range = type === 'bool' ? { lo: 0, hi: 1 } : type === 'i32' && x.type === 'bool' ? { lo: 0, hi: 1 } : undefined;
    return this.make(`k${type}:${x.id}`, (id) => ({ id, kind: 'cast', type, free: x.free, x }), range);
  }

  select(cond: Expr, a: Expr, b: Expr): Expr {
    if (a.type !== b.type) throw new Error(`internal: select branches of types ${a.type} and ${b.type}`);
    if (cond.kind === 'const') return cond.value ? a : b;
    if (a === b) return a;
    const range = this.ranges.has(a.id) && this.ranges.has(b.id) ? { lo: Math.min(this.range(a).lo, this.range(b).lo), hi: Math.max(this.range(a).hi, this.range(b).hi) } : undefined;
    return this.make(`s${cond.id}:${a.id}:${b.id}`, (id) => ({ id, kind: 'select', type: a.type, free: mergeFree(cond.free, a.free, b.free), cond, a, b }), range);
  }

  /**
   * A reduction. Its variables are renamed to canonical ones (one per nesting depth, position
   * and extent), so that the same reduction built twice with fresh variables — a row's max
   * read from two elements of the row — is one node, computed once.
   */
  reduce(fn: ReduceFn, vars: readonly IndexVar[], body: Expr, type: EType, where: Expr | null = null, init: Expr | null = null): Expr {
    if (where?.kind === 'const' && where.value) where = null;
    const depth = 1 + Math.max(0, ...[body, where, init].map((x) => (x ? this.depthOf(x) : 0)));
    const canon = vars.map((v, p) => this.canonicalVar(depth, p, v.extent));
    const subst = new Map(vars.map((v, p) => [v.id, this.v(canon[p]!)]));
    const rename = (x: Expr | null): Expr | null => (x ? this.substitute(x, subst, new Map()) : null);
    return this.buildReduce(fn, canon, rename(body)!, type, rename(where), rename(init), depth);
  }

  private readonly canonical = new Map<string, IndexVar>();
  private readonly depths = new Map<number, number>();

  private canonicalVar(depth: number, position: number, extent: number): IndexVar {
    const key = `${depth}:${position}:${extent}`;
    let v = this.canonical.get(key);
    if (!v) {
      v = this.newVar(extent);
      this.canonical.set(key, v);
    }
    return v;
  }

  /** The deepest nesting of reductions inside an expression (memoized per node). */
  private depthOf(e: Expr): number {
    let d = this.depths.get(e.id);
    if (d === undefined) {
      d = e.kind === 'reduce' ? this.depths.get(e.id)! : Math.max(0, ...children(e).map((c) => this.depthOf(c)));
      this.depths.set(e.id, d);
    }
    return d;
  }

  /** `e` with variables replaced, rebuilt through the builder; untouched subtrees are shared. */
  private substitute(e: Expr, subst: ReadonlyMap<number, Expr>, memo: Map<number, Expr>): Expr {
    if (!e.free.some((v) => subst.has(v))) return e;
    const done = memo.get(e.id);
    if (done) return done;
    const s = (x: Expr): Expr => this.substitute(x, subst, memo);
    const out =
      e.kind === 'const' ? e : e.kind === 'var' ? (subst.get(e.v.id) ?? e) : remake(this, e, s, (r, body, where, init) => this.buildReduce(r.fn, r.vars, body, r.type, where, init, this.depthOf(r)));
    memo.set(e.id, out);
    return out;
  }

  private buildReduce(fn: ReduceFn, vars: readonly IndexVar[], body: Expr, type: EType, where: Expr | null, init: Expr | null, depth: number): Expr {
    if (where?.kind === 'const' && where.value) where = null;
    const own = new Set(vars.map((v) => v.id));
    const free = mergeFree(body.free, where?.free ?? [], init?.free ?? []).filter((v) => !own.has(v));
    const key = `r${fn}:${type}:${vars.map((v) => v.id).join(',')}:${body.id}:${where?.id ?? ''}:${init?.id ?? ''}`;
    const range = fn === 'argmax' ? { lo: 0, hi: vars.reduce((n, v) => n * v.extent, 1) - 1 } : undefined;
    const r = this.make(key, (id) => ({ id, kind: 'reduce', type, free, fn, vars: [...vars], body, where, init }), range);
    this.depths.set(r.id, depth);
    return r;
  }

  binary(fn: BinaryFn, a: Expr, b: Expr): Expr {
    const type: EType = fn === 'less' || fn === 'greater' || fn === 'equal' || fn === 'and' ? 'bool' : a.type;
    if (type === 'bool' ? a.type !== b.type : a.type !== type || b.type !== type) throw new Error(`internal: ${fn} of types ${a.type} and ${b.type}`);
    if (a.type === 'i32' || a.type === 'bool') {
      const simple = this.simplifyInt(fn, a, b);
      if (simple) {
        if (fn === 'floordiv' && b.kind === 'const' && b.value > 1 && simple.kind !== 'const' && !this.quotients.has(simple)) {
          const inner = this.quotientOf(a);
          this.quotients.set(simple, { x: inner.x, k: inner.k * b.value });
        }
        return simple;
      }
    }
    return this.rawBinary(fn, a, b, type);
  }

  private rawBinary(fn: BinaryFn, a: Expr, b: Expr, type: EType): Expr {
    return this.make(`b${fn}:${a.id}:${b.id}`, (id) => ({ id, kind: 'binary', type, free: mergeFree(a.free, b.free), fn, a, b }), type === 'i32' || type === 'bool' ? this.binaryRange(fn, a, b) : undefined);
  }

  // ---- Integer shorthands used by index arithmetic ----

  add(a: Expr, b: Expr): Expr {
    return this.binary('add', a, b);
  }
  mul(a: Expr, b: Expr): Expr {
    return this.binary('mul', a, b);
  }
  /** Σ cᵢ·xᵢ + c as one canonical expression (a row-major offset), built once instead of term by term. */
  combine(terms: readonly (readonly [Expr, number])[], c = 0): Expr {
    const sum = new Map<Expr, number>();
    let constant = c;
    for (const [x, k] of terms) {
      if (k === 0) continue;
      const lin = this.linear(x);
      for (const [t, ct] of lin.terms) sum.set(t, (sum.get(t) ?? 0) + k * ct);
      constant += k * lin.c;
    }
    return this.fromLinear({ terms: sum, c: constant });
  }

  /** a·k + c for a constant k and c. */
  affine(a: Expr, k: number, c: number): Expr {
    return this.add(this.mul(a, this.int(k)), this.int(c));
  }
  floordiv(a: Expr, k: number): Expr {
    return this.binary('floordiv', a, this.int(k));
  }
  mod(a: Expr, k: number): Expr {
    return this.binary('mod', a, this.int(k));
  }
  min(a: Expr, b: Expr): Expr {
    return this.binary('minimum', a, b);
  }
  max(a: Expr, b: Expr): Expr {
    return this.binary('maximum', a, b);
  }
  and(a: Expr, b: Expr): Expr {
    return this.binary('and', a, b);
  }
  /** 0 ≤ e < n, as a bool. */
  inRange(e: Expr, n: number): Expr {
    return this.and(this.unary('not', this.binary('less', e, this.int(0))), this.binary('less', e, this.int(n)));
  }
  /** e clamped into [lo, hi]. */
  clamp(e: Expr, lo: number, hi: number): Expr {
    return this.min(this.max(e, this.int(lo)), this.int(hi));
  }

  // ---- Integer simplification ----

  private binaryRange(fn: BinaryFn, a: Expr, b: Expr): Range {
    const ra = this.range(a);
    const rb = this.range(b);
    switch (fn) {
      case 'add':
        return { lo: ra.lo + rb.lo, hi: ra.hi + rb.hi };
      case 'sub':
        return { lo: ra.lo - rb.hi, hi: ra.hi - rb.lo };
      case 'mul': {
        const ps = [ra.lo * rb.lo, ra.lo * rb.hi, ra.hi * rb.lo, ra.hi * rb.hi].map((p) => (Number.isNaN(p) ? 0 : p));
        return { lo: Math.min(...ps), hi: Math.max(...ps) };
      }
      case 'floordiv':
        return b.kind === 'const' && b.value > 0 ? { lo: Math.floor(ra.lo / b.value), hi: Math.floor(ra.hi / b.value) } : UNKNOWN;
      case 'mod':
        return b.kind === 'const' && b.value > 0 ? { lo: 0, hi: b.value - 1 } : UNKNOWN;
      case 'maximum':
        return { lo: Math.max(ra.lo, rb.lo), hi: Math.max(ra.hi, rb.hi) };
      case 'minimum':
        return { lo: Math.min(ra.lo, rb.lo), hi: Math.min(ra.hi, rb.hi) };
      case 'less':
      case 'greater':
      case 'equal':
      case 'and':
        return { lo: 0, hi: 1 };
      default:
        return UNKNOWN;
    }
  }

  /** A simpler equal expression for an integer or boolean op, or null to build it as is. */
  private simplifyInt(fn: BinaryFn, a: Expr, b: Expr): Expr | null {
    const ra = this.range(a);
    const rb = this.range(b);
    const exact = (r: Range): boolean => Number.isFinite(r.lo) && Number.isFinite(r.hi);
    switch (fn) {
      case 'add':
      case 'sub':
      case 'mul':
        if (fn === 'mul' && !(a.kind === 'const' || b.kind === 'const')) return null;
        return this.fromLinear(this.linearOf(a, fn, b));
      case 'floordiv':
      case 'mod': {
        if (b.kind !== 'const' || b.value <= 0) return null;
        const k = b.value;
        if (k === 1) return fn === 'floordiv' ? a : this.int(0);
        if (exact(ra) && ra.lo >= 0 && ra.hi < k) return fn === 'floordiv' ? this.int(0) : a;
        if (a.kind === 'const') return this.int(fn === 'floordiv' ? Math.floor(a.value / k) : a.value - k * Math.floor(a.value / k));
        // (x / j) / k = x / (j·k) for positive j, k.
        if (fn === 'floordiv' && a.kind === 'binary' && a.fn === 'floordiv' && a.b.kind === 'const' && a.b.value > 0) return this.floordiv(a.a, a.b.value * k);
        // (x % (j·k)) % k = x % k.
        if (fn === 'mod' && a.kind === 'binary' && a.fn === 'mod' && a.b.kind === 'const' && a.b.value % k === 0) return this.mod(a.a, k);
        return this.splitDivMod(fn, a, k);
      }
      case 'minimum':
      case 'maximum':
        if (a === b) return a;
        if (exact(ra) && exact(rb)) {
          if (ra.hi <= rb.lo) return fn === 'minimum' ? a : b;
          if (rb.hi <= ra.lo) return fn === 'minimum' ? b : a;
        }
        return null;
      case 'less':
        if (exact(ra) && exact(rb)) {
          if (ra.hi < rb.lo) return this.const(1, 'bool');
          if (ra.lo >= rb.hi) return this.const(0, 'bool');
        }
        return null;
      case 'greater':
        return this.simplifyInt('less', b, a);
      case 'equal':
        if (a === b) return this.const(1, 'bool');
        if (exact(ra) && exact(rb) && (ra.hi < rb.lo || rb.hi < ra.lo)) return this.const(0, 'bool');
        return null;
      case 'and':
        if (a.kind === 'const') return a.value ? b : a;
        if (b.kind === 'const') return b.value ? a : b;
        return a === b ? a : null;
      default:
        return null;
    }
  }

  /**
   * (Σ cᵢtᵢ + c) / k and % k: the terms whose coefficients k divides come out of the division
   * (floor((k·A + R)/k) = A + floor(R/k) for integer A), and what remains is divided whole.
   */
  private splitDivMod(fn: 'floordiv' | 'mod', a: Expr, k: number): Expr | null {
    const lin = this.linearOf(a, 'add', this.int(0));
    const whole: Linear = { terms: new Map(), c: 0 };
    const rest: Linear = { terms: new Map(), c: lin.c - k * Math.floor(lin.c / k) };
    whole.c = Math.floor(lin.c / k);
    for (const [t, c] of lin.terms) {
      if (c % k === 0) whole.terms.set(t, c / k);
      else rest.terms.set(t, c);
    }
    if (whole.terms.size === 0 && whole.c === 0) return this.splitCommonFactor(fn, lin, k);
    const r = this.fromLinear(rest);
    if (fn === 'mod') return this.mod(r, k);
    return this.add(this.fromLinear(whole), this.floordiv(r, k));
  }

  /**
   * (c·A + R) / k = A / (k/c) and (c·A + R) % k = c·(A % (k/c)) + R when c divides k and
   * 0 ≤ R < c: the largest terms share the factor c and the rest only fills the gap. Tried
   * for the factor of the 1, 2, … largest-coefficient terms.
   */
  private splitCommonFactor(fn: 'floordiv' | 'mod', lin: Linear, k: number): Expr | null {
    const sorted = [...lin.terms].sort(([, x], [, y]) => Math.abs(y) - Math.abs(x));
    let c = 0;
    for (let n = 1; n <= sorted.length; n++) {
      c = gcd(c, Math.abs(sorted[n - 1]![1]));
      if (c <= 1) return null;
      if (k % c !== 0) continue;
      const rest = this.fromLinear({ terms: new Map(sorted.slice(n)), c: lin.c });
      const r = this.range(rest);
      if (!(r.lo >= 0 && r.hi < c)) continue;
      const big = this.fromLinear({ terms: new Map(sorted.slice(0, n).map(([t, x]) => [t, x / c])), c: 0 });
      return fn === 'floordiv' ? this.floordiv(big, k / c) : this.add(this.mul(this.mod(big, k / c), this.int(c)), rest);
    }
    return null;
  }

  /** An expression as a division x / k it equals (k = 1 when it is none). */
  private quotientOf(e: Expr): { x: Expr; k: number } {
    if (e.kind === 'binary' && e.fn === 'floordiv' && e.b.kind === 'const') {
      const inner = this.quotientOf(e.a);
      return { x: inner.x, k: inner.k * e.b.value };
    }
    return this.quotients.get(e) ?? { x: e, k: 1 };
  }

  /** The linear form of `a fn b` (fn add, sub, or mul with a constant side). */
  private linearOf(a: Expr, fn: 'add' | 'sub' | 'mul', b: Expr): Linear {
    const la = this.linear(a);
    const lb = this.linear(b);
    if (fn === 'mul') {
      const [lin, k] = b.kind === 'const' ? [la, b.value] : [lb, (a as Expr & { value: number }).value];
      const terms = new Map<Expr, number>();
      for (const [t, c] of lin.terms) terms.set(t, c * k);
      return { terms, c: lin.c * k };
    }
    const sign = fn === 'sub' ? -1 : 1;
    const terms = new Map(la.terms);
    for (const [t, c] of lb.terms) terms.set(t, (terms.get(t) ?? 0) + sign * c);
    return { terms, c: la.c + sign * lb.c };
  }

  private readonly linears = new Map<number, Linear>();

  /**
   * An integer expression as Σ cᵢ·tᵢ + c, looking through add, sub and multiplication by
   * constants (memoized; callers copy the terms before changing them).
   */
  private linear(e: Expr): Linear {
    let lin = this.linears.get(e.id);
    if (lin) return lin;
    if (e.kind === 'const' && e.type === 'i32') lin = { terms: new Map(), c: e.value };
    else if (e.kind === 'binary' && e.type === 'i32' && (e.fn === 'add' || e.fn === 'sub' || (e.fn === 'mul' && (e.a.kind === 'const' || e.b.kind === 'const')))) {
      lin = this.linearOf(e.a, e.fn, e.b);
    } else lin = { terms: new Map([[e, 1]]), c: 0 };
    this.linears.set(e.id, lin);
    return lin;
  }

  /**
   * The canonical expression of a linear form: terms in id order, each `t·c`, summed left to
   * right, then the constant. First, since x/j = k·(x/(j·k)) + (x/j)%k, every pair
   * c·k·(x/(j·k)) + c·((x/j)%k) is folded back into c·(x/j) (plain x when j = 1), which turns
   * a row-major offset of an unravelled offset back into the offset itself.
   */
  private fromLinear(lin: Linear): Expr {
    const terms = new Map([...lin.terms].filter(([, c]) => c !== 0));
    let constant = lin.c;
    const hasMod = [...terms.keys()].some((t) => t.kind === 'binary' && t.fn === 'mod');
    for (let changed = hasMod; changed; ) {
      changed = false;
      for (const [t, c] of terms) {
        if (t.kind !== 'binary' || t.fn !== 'mod' || t.b.kind !== 'const') continue;
        const k = t.b.value;
        const inner = t.a;
        const { x, k: j } = this.quotientOf(inner);
        // Built, not searched for: the builder may have simplified x/(j·k) into another form.
        const quotient = this.floordiv(x, j * k);
        if (terms.get(quotient) !== c * k) continue;
        terms.delete(t);
        terms.delete(quotient);
        // x/j may itself be linear (when j = 1): expand it so the form stays canonical.
        const expanded = this.linear(inner);
        for (const [u, cu] of expanded.terms) terms.set(u, (terms.get(u) ?? 0) + c * cu);
        constant += c * expanded.c;
        changed = true;
        break;
      }
    }
    const sorted = [...terms].filter(([, c]) => c !== 0).sort(([x], [y]) => x.id - y.id);
    let acc: Expr | null = null;
    for (const [t, c] of sorted) {
      const term = c === 1 ? t : this.rawBinary('mul', t, this.int(c), 'i32');
      acc = acc === null ? term : this.rawBinary('add', acc, term, 'i32');
    }
    if (acc === null) return this.int(constant);
    return constant === 0 ? acc : this.rawBinary('add', acc, this.int(constant), 'i32');
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
