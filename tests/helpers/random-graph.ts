// A fast-check arbitrary of random well-typed graphs, built with GraphBuilder, for round-trip and pass tests.
//
// What a graph looks like (defaults):
// - 1–3 f32 inputs, ranks 1–4, extents 1–5; 0–2 free params, more made on demand as weights;
//   every initializer kind, with random finite arguments (including -0.0 and tiny values).
// - 1–25 nodes drawn from every op of the registry with valid attributes. An op that needs an
//   operand the graph lacks builds it with helper nodes (a constant, cast, compare or reshape),
//   so a graph drawn for `ops: ['conv2d']` may still contain a reshape; helpers count as nodes.
// - Every tensor has rank ≤ 5, at most 4,096 elements, and extents ≥ 1 (no empty tensors).
// - 1–3 outputs with distinct names; an output may name an input or a param directly, and
//   about a third of the outputs whose type matches a param alias it (no param twice).
// - About a third of the nodes carry a loc, with file names that need JSON escapes.
// The values are not controlled: log of a negative or a division by zero may give NaN or Inf
// at run time, so equivalence tests compare with a NaN-aware all-close.
//
// The arbitrary draws a fixed-length list of choice numbers and builds the graph from it with
// a deterministic interpreter (`buildRandomGraph`): shrinking drives choices toward 0, which
// means fewer nodes, the first op of each list, and smaller shapes.

import fc from 'fast-check';
import type { Graph, Initializer, InitKind, Loc, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder, INIT_KINDS } from '../../compiler/ir/graph.js';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OP_NAMES, inferType } from '../../compiler/ir/ops/registry.js';
import type { DType, Shape, TensorType } from '../../compiler/ir/types.js';
import { DTYPES, numel, shapesEqual, typesEqual } from '../../compiler/ir/types.js';

export interface ArbGraphOptions {
  /** Fewest and most nodes, helpers included (defaults 1 and 25). */
  readonly minNodes?: number;
  readonly maxNodes?: number;
  /** Ops to draw from (default: every op in the registry). */
  readonly ops?: readonly OpName[];
  /** Largest element count of a node result (default 4096); inputs have at most 625 elements. */
  readonly maxElements?: number;
  /** Whether some nodes carry a loc (default true). */
  readonly locs?: boolean;
}

/** Choice numbers one graph may consume; past the end every choice reads as 0. */
const CHOICE_COUNT = 2048;
const MAX_PARAMS = 6;
/** Largest rank drawn; only gather and one_hot raise a rank past 4. */
const MAX_RANK = 5;

/** Random well-typed graphs that the verifier accepts; see the file header for their shape. */
export function arbGraph(options: ArbGraphOptions = {}): fc.Arbitrary<Graph> {
  return fc.array(fc.noBias(fc.nat()), { minLength: CHOICE_COUNT, maxLength: CHOICE_COUNT }).map((xs) => buildRandomGraph(xs, options));
}

/** The graph a list of choice numbers describes (deterministic; exposed to replay a failure). */
export function buildRandomGraph(choices: readonly number[], options: ArbGraphOptions = {}): Graph {
  return new RandomGraph(new Choices(choices), options).build();
}

class Choices {
  private i = 0;
  constructor(private readonly xs: readonly number[]) {}

  private next(): number {
    return this.i < this.xs.length ? this.xs[this.i++]! : 0;
  }

  /** An integer in [lo, hi]; lo when the choices run out or shrink to 0. */
  int(lo: number, hi: number): number {
    return hi <= lo ? lo : lo + (this.next() % (hi - lo + 1));
  }

  bool(): boolean {
    return this.int(0, 1) === 1;
  }

  /** True about once in n draws. */
  oneIn(n: number): boolean {
    return this.int(0, n - 1) === n - 1;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  /** A sorted subset of 0..n-1. */
  subset(n: number): number[] {
    return Array.from({ length: n }, (_, i) => i).filter(() => this.bool());
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const FLOATS = [0, -0, 1, -1, 0.5, 2, -3.25, 1e-7, 0.1, 1e30, -2.5e-12, 65504, 1 / 3];
const FILES = ['model.sinter', 'examples/fashion_cnn.sinter', 'dir with space/a"b.sinter', 'C:\\models\\x.sinter', 'ünï/κ.sinter', 'tab\there.sinter', 'new\nline.sinter', 'emoji😀.sinter'];
const INPUT_NAMES = ['x', 'image', 'tokens', 'h_0', 'in.a', '_z'];
const PARAM_NAMES = ['conv2d_1', 'dense', 'bn_2', 'layer.0.attn', '_p'];
const PARAM_SUFFIXES = ['w', 'b', 'mean', 'gamma'];
const OUTPUT_NAMES = ['logits', 'y', 'out', 'loss.total', '_aux'];

const isF32 = (t: TensorType): boolean => t.dtype === 'f32';
const isNum = (t: TensorType): boolean => t.dtype === 'f32' || t.dtype === 'i32';
const isAny = (): boolean => true;

/** Builds one graph from choices. Every node goes through `node`, which keeps the node and element budgets. */
class RandomGraph {
  readonly b = new GraphBuilder('Random');
  readonly pool: ValueId[] = [];
  private readonly target: number;
  private readonly maxElements: number;
  private nodeCount = 0;
  private paramCount = 0;
  private lastNode: ValueId = -1;

  constructor(
    readonly c: Choices,
    private readonly options: ArbGraphOptions,
  ) {
    const lo = Math.max(1, options.minNodes ?? 1);
    this.target = this.c.int(lo, Math.max(lo, options.maxNodes ?? 25));
    this.maxElements = options.maxElements ?? 4096;
  }

  build(): Graph {
    const c = this.c;
    const nInputs = c.int(1, 3);
    for (let k = 0; k < nInputs; k++) {
      const shape = Array.from({ length: c.int(1, 4) }, () => c.int(1, 5));
      this.pool.push(this.b.input(`${c.pick(INPUT_NAMES)}${k}`, { dtype: 'f32', shape }));
    }
    const nFree = c.int(0, 2);
    for (let k = 0; k < nFree; k++) this.param({ dtype: 'f32', shape: this.shape(1, 3) });

    const ops = this.options.ops ?? OP_NAMES;
    for (let attempt = 0; this.nodeCount < this.target && attempt < 10 * this.target; attempt++) {
      const op = c.pick(ops);
      // The table is typed to cover every op; the lookup tolerates an op another engineer
      // has just added to the registry, so that only the coverage test reports it.
      const gen: OpGen | undefined = OP_GENS[op];
      gen?.(this, op);
    }
    // Only when the drawn ops kept failing: plain f32 nodes that always fit.
    while (this.nodeCount < Math.max(1, this.options.minNodes ?? 1)) {
      this.lastNode = this.b.op('neg', [this.pool[0]!]);
      this.nodeCount++;
    }
    this.outputs();
    return this.b.build();
  }

  /** Outputs; about a third alias a param of their type that no earlier output aliases. */
  private outputs(): void {
    const n = this.c.int(1, 3);
    const aliased = new Set<string>();
    const params = this.b.build().params;
    for (let k = 0; k < n; k++) {
      const v = k === 0 ? this.lastNode : this.c.pick(this.pool);
      const t = this.typeOf(v);
      const targets = params.filter((p) => !aliased.has(p.name) && typesEqual(p.type, t));
      const alias = targets.length > 0 && this.c.oneIn(3) ? this.c.pick(targets).name : undefined;
      if (alias !== undefined) aliased.add(alias);
      this.b.output(`${this.c.pick(OUTPUT_NAMES)}${k}`, v, alias);
    }
  }

  typeOf(v: ValueId): TensorType {
    return this.b.typeOf(v);
  }

  /** A random shape with ranks and extents in range. */
  shape(minRank: number, maxRank: number, maxExtent = 5): number[] {
    return Array.from({ length: this.c.int(minRank, maxRank) }, () => this.c.int(1, maxExtent));
  }

  /** A value whose type passes `pred`: often the latest such value (deep chains), else any. */
  pick(pred: (t: TensorType) => boolean): ValueId | null {
    const fits = this.pool.filter((v) => pred(this.typeOf(v)));
    if (fits.length === 0) return null;
    return this.c.bool() ? fits[fits.length - 1]! : this.c.pick(fits);
  }

  /** A new node, or null when the node budget is spent or the result is too large. */
  node(op: OpName, inputs: readonly ValueId[], attrs: Attrs = {}): ValueId | null {
    if (this.nodeCount >= this.target) return null;
    const t = inferType(op, inputs.map((v) => this.typeOf(v)), attrs);
    if (numel(t.shape) > this.maxElements) return null;
    const v = this.b.op(op, inputs, attrs, this.loc());
    this.nodeCount++;
    this.pool.push(v);
    this.lastNode = v;
    return v;
  }

  private loc(): Loc | undefined {
    if (this.options.locs === false || !this.c.oneIn(3)) return undefined;
    return { file: this.c.pick(FILES), line: this.c.int(1, 999), col: this.c.int(1, 120) };
  }

  param(type: TensorType): ValueId {
    const k = this.paramCount++;
    const name = `${this.c.pick(PARAM_NAMES)}_${k}.${this.c.pick(PARAM_SUFFIXES)}`;
    const v = this.b.param(name, type, this.init(), !this.c.oneIn(4));
    this.pool.push(v);
    return v;
  }

  private init(): Initializer {
    const kind: InitKind = this.c.pick(INIT_KINDS);
    const f = (): number => this.float();
    const fan = (): number => this.c.int(1, 300);
    const args: Record<InitKind, () => Record<string, number>> = {
      zeros: () => ({}),
      ones: () => ({}),
      constant: () => ({ value: f() }),
      normal: () => ({ mean: f(), std: Math.abs(f()) }),
      uniform: () => ({ low: -Math.abs(f()), high: Math.abs(f()) }),
      glorot_uniform: () => ({ fan_in: fan(), fan_out: fan() }),
      glorot_normal: () => ({ fan_in: fan(), fan_out: fan() }),
      he_uniform: () => ({ fan_in: fan() }),
      he_normal: () => ({ fan_in: fan() }),
    };
    return { kind, args: args[kind]() };
  }

  /** A float32-representable double: interesting values half the time, else a random ratio. */
  float(): number {
    if (this.c.bool()) return this.c.pick(FLOATS);
    return Math.fround(this.c.int(-100000, 100000) / this.c.int(1, 1000));
  }

  /** A constant-friendly value of a dtype. */
  scalar(dtype: DType): number {
    return dtype === 'f32' ? this.float() : dtype === 'i32' ? this.c.int(-5, 5) : this.c.int(0, 1);
  }

  /** A value of exactly type t: an existing one, a new param (f32), or a constant node. */
  like(t: TensorType): ValueId | null {
    const same = this.pool.filter((v) => typesEqual(this.typeOf(v), t));
    if (same.length > 0 && this.c.bool()) return this.c.pick(same);
    if (t.dtype === 'f32' && this.paramCount < MAX_PARAMS && this.c.bool()) return this.param(t);
    return this.node('constant', [], { value: this.scalar(t.dtype), dtype: t.dtype, shape: [...t.shape] });
  }

  /** An f32 value of rank in [lo, hi], reshaping one (a helper node) when none has such a rank. */
  ranked(lo: number, hi: number): ValueId | null {
    const have = this.pick((t) => isF32(t) && t.shape.length >= lo && t.shape.length <= hi);
    if (have !== null) return have;
    const x = this.pick(isF32);
    if (x === null) return null;
    return this.node('reshape', [x], { shape: fitRank(this.typeOf(x).shape, lo) });
  }

  /** A small i32 value of rank ≤ maxRank: an existing one, a cast of an f32 value, or a constant. */
  indices(maxRank: number): ValueId | null {
    const small = (t: TensorType): boolean => t.shape.length <= maxRank && numel(t.shape) <= 64;
    const have = this.pick((t) => t.dtype === 'i32' && small(t));
    if (have !== null && this.c.bool()) return have;
    const x = this.pick((t) => isF32(t) && small(t));
    if (x !== null && this.c.bool()) return this.node('cast', [x], { to: 'i32' });
    return this.node('constant', [], { value: this.c.int(-1, 5), dtype: 'i32', shape: this.shape(0, Math.min(2, maxRank), 3) });
  }
}

/** `shape` reshaped to rank r: leading 1s added, or leading extents merged. */
function fitRank(shape: Shape, r: number): number[] {
  if (shape.length <= r) return [...Array<number>(r - shape.length).fill(1), ...shape];
  const cut = shape.length - r + 1;
  return [numel(shape.slice(0, cut)), ...shape.slice(cut)];
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/** Draws one node of `op` (plus any helpers it needs); false when it did not fit. */
type OpGen = (r: RandomGraph, op: OpName) => boolean;

const made = (v: ValueId | null): boolean => v !== null;

function unaryGen(pred: (t: TensorType) => boolean): OpGen {
  return (r, op) => {
    const x = r.pick(pred);
    return x !== null && made(r.node(op, [x]));
  };
}

function binaryGen(pred: (t: TensorType) => boolean): OpGen {
  return (r, op) => {
    const x = r.pick(pred);
    if (x === null) return false;
    const y = r.like(r.typeOf(x));
    return y !== null && made(r.node(op, r.c.bool() ? [x, y] : [y, x]));
  };
}

const selectGen: OpGen = (r, op) => {
  let cond = r.pick((t) => t.dtype === 'bool');
  if (cond === null) {
    const x = r.pick(isNum);
    const y = x === null ? null : r.like(r.typeOf(x));
    if (x === null || y === null) return false;
    cond = r.node(r.c.pick(['greater', 'less', 'equal'] as const), [x, y]);
    if (cond === null) return false;
  }
  const shape = r.typeOf(cond).shape;
  const a = r.pick((t) => isNum(t) && shapesEqual(t.shape, shape)) ?? r.like({ dtype: 'f32', shape });
  const b = a === null ? null : r.like(r.typeOf(a));
  return a !== null && b !== null && made(r.node(op, [cond, a, b]));
};

function reduceGen(pred: (t: TensorType) => boolean): OpGen {
  return (r, op) => {
    const x = r.pick(pred);
    if (x === null) return false;
    return made(r.node(op, [x], { axes: r.c.subset(r.typeOf(x).shape.length), keepdims: r.c.bool() }));
  };
}

function softmaxGen(): OpGen {
  return (r, op) => {
    const x = r.pick((t) => isF32(t) && t.shape.length >= 1);
    return x !== null && made(r.node(op, [x], { axis: r.c.int(0, r.typeOf(x).shape.length - 1) }));
  };
}

function reshapeAttrs(r: RandomGraph, shape: Shape): Attrs {
  let rest = numel(shape);
  const rank = r.c.int(rest === 1 ? 0 : 1, 4);
  const dims: number[] = [];
  for (let i = 0; i < rank - 1; i++) {
    const d = r.c.pick(divisors(rest));
    dims.push(d);
    rest /= d;
  }
  if (rank > 0) dims.push(rest);
  return { shape: r.c.shuffle(dims) };
}

function broadcastAttrs(r: RandomGraph, shape: Shape): Attrs {
  const rank = r.c.int(shape.length, Math.max(shape.length, 4));
  const dims = r.c.shuffle(Array.from({ length: rank }, (_, i) => i)).slice(0, shape.length).sort((a, b) => a - b);
  const out = Array.from({ length: rank }, () => r.c.int(1, 4));
  dims.forEach((d, i) => {
    if (shape[i] !== 1) out[d] = shape[i]!;
  });
  return { shape: out, dims };
}

function sliceAttrs(r: RandomGraph, shape: Shape): Attrs {
  const starts = shape.map((d) => r.c.int(0, d - 1));
  const ends = shape.map((d, i) => r.c.int(starts[i]! + 1, d));
  return { starts, ends, steps: shape.map(() => r.c.int(1, 3)) };
}

const concatGen: OpGen = (r, op) => {
  const x = r.pick((t) => t.shape.length >= 1);
  if (x === null) return false;
  const t = r.typeOf(x);
  const axis = r.c.int(0, t.shape.length - 1);
  const fits = (u: TensorType): boolean =>
    u.dtype === t.dtype && u.shape.length === t.shape.length && u.shape.every((d, i) => i === axis || d === t.shape[i]);
  const parts = [x];
  for (let k = r.c.int(1, 2); k > 0; k--) parts.push(r.pick(fits) ?? x);
  return made(r.node(op, r.c.shuffle(parts), { axis }));
};

const gatherGen: OpGen = (r, op) => {
  const x = r.pick((t) => t.shape.length >= 1 && t.shape.length <= MAX_RANK);
  // The result has rank(x) + rank(idx) − 1; keeping it ≤ MAX_RANK keeps shapes small.
  const idx = x === null ? null : r.indices(MAX_RANK + 1 - r.typeOf(x).shape.length);
  if (x === null || idx === null) return false;
  return made(r.node(op, [x, idx], { axis: r.c.int(0, r.typeOf(x).shape.length - 1) }));
};

const matmulGen: OpGen = (r, op) => {
  const a = r.ranked(2, 4);
  if (a === null) return false;
  const sa = r.typeOf(a).shape;
  const ta = r.c.bool();
  const tb = r.c.bool();
  const k = ta ? sa[sa.length - 2]! : sa[sa.length - 1]!;
  const n = r.c.int(1, 5);
  const b = r.like({ dtype: 'f32', shape: [...sa.slice(0, -2), ...(tb ? [n, k] : [k, n])] });
  return b !== null && made(r.node(op, [a, b], { transpose_a: ta, transpose_b: tb }));
};

/** A conv2d drawn for an input shape: its attributes, weight shape and output shape. */
interface ConvDraw {
  readonly attrs: Attrs;
  readonly weight: number[];
  readonly out: number[];
}

function drawConv(r: RandomGraph, x: Shape): ConvDraw {
  const [n, ch, h, w] = x as [number, number, number, number];
  const groups = r.c.pick(divisors(ch));
  const out = groups * r.c.int(1, Math.max(1, Math.floor(6 / groups)));
  const stride = [r.c.int(1, 2), r.c.int(1, 2)];
  const dilation = [r.c.int(1, 2), r.c.int(1, 2)];
  const padding = [r.c.int(0, 1), r.c.int(0, 1), r.c.int(0, 1), r.c.int(0, 1)];
  // The dilated kernel span must fit in the padded input: dilation·(k−1)+1 ≤ size + pads.
  const kh = Math.min(r.c.int(1, 3), Math.floor((h + padding[0]! + padding[1]! - 1) / dilation[0]!) + 1);
  const kw = Math.min(r.c.int(1, 3), Math.floor((w + padding[2]! + padding[3]! - 1) / dilation[1]!) + 1);
  const extent = (size: number, k: number, s: number, lo: number, hi: number, d: number): number => Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;
  const oh = extent(h, kh, stride[0]!, padding[0]!, padding[1]!, dilation[0]!);
  const ow = extent(w, kw, stride[1]!, padding[2]!, padding[3]!, dilation[1]!);
  return { attrs: { stride, padding, dilation, groups }, weight: [out, ch / groups, kh, kw], out: [n, out, oh, ow] };
}

const conv2dGen: OpGen = (r, op) => {
  const x = r.ranked(4, 4);
  if (x === null) return false;
  const conv = drawConv(r, r.typeOf(x).shape);
  const weight = r.like({ dtype: 'f32', shape: conv.weight });
  return weight !== null && made(r.node(op, [x, weight], conv.attrs));
};

/** conv2d's input cotangent: dy of the conv output's shape and a weight, for an input shape drawn here. */
const convInputGradGen: OpGen = (r, op) => {
  const inputShape = [r.c.int(1, 2), r.c.int(1, 4), r.c.int(1, 5), r.c.int(1, 5)];
  const conv = drawConv(r, inputShape);
  const dy = r.like({ dtype: 'f32', shape: conv.out });
  const weight = dy === null ? null : r.like({ dtype: 'f32', shape: conv.weight });
  return dy !== null && weight !== null && made(r.node(op, [dy, weight], { ...conv.attrs, input_shape: inputShape }));
};

/** conv2d's weight cotangent: an existing rank-4 input and dy of the conv output's shape. */
const convFilterGradGen: OpGen = (r, op) => {
  const x = r.ranked(4, 4);
  if (x === null) return false;
  const conv = drawConv(r, r.typeOf(x).shape);
  const dy = r.like({ dtype: 'f32', shape: conv.out });
  return dy !== null && made(r.node(op, [x, dy], { ...conv.attrs, filter_shape: conv.weight }));
};

const scatterAddGen: OpGen = (r, op) => {
  const x = r.pick((t) => isF32(t) && t.shape.length >= 1 && t.shape.length <= MAX_RANK);
  const idx = x === null ? null : r.indices(MAX_RANK + 1 - r.typeOf(x).shape.length);
  if (x === null || idx === null) return false;
  const shape = r.typeOf(x).shape;
  const axis = r.c.int(0, shape.length - 1);
  const updates = r.like({ dtype: 'f32', shape: [...shape.slice(0, axis), ...r.typeOf(idx).shape, ...shape.slice(axis + 1)] });
  return updates !== null && made(r.node(op, [x, idx, updates], { axis }));
};

/** A pooling window drawn for an input shape: its attributes and output shape. */
function drawPool(r: RandomGraph, x: Shape): { attrs: Attrs; out: number[] } {
  const [n, ch, h, w] = x as [number, number, number, number];
  const padding = [r.c.int(0, 1), r.c.int(0, 1), r.c.int(0, 1), r.c.int(0, 1)];
  // Padding must be smaller than the kernel, and the kernel must fit the padded input.
  const kh = r.c.int(Math.max(padding[0]!, padding[1]!) + 1, Math.min(3, h + padding[0]! + padding[1]!));
  const kw = r.c.int(Math.max(padding[2]!, padding[3]!) + 1, Math.min(3, w + padding[2]! + padding[3]!));
  const stride = [r.c.int(1, 2), r.c.int(1, 2)];
  const oh = Math.floor((h + padding[0]! + padding[1]! - kh) / stride[0]!) + 1;
  const ow = Math.floor((w + padding[2]! + padding[3]! - kw) / stride[1]!) + 1;
  return { attrs: { kernel: [kh, kw], stride, padding }, out: [n, ch, oh, ow] };
}

const poolGen: OpGen = (r, op) => {
  const x = r.ranked(4, 4);
  return x !== null && made(r.node(op, [x], drawPool(r, r.typeOf(x).shape).attrs));
};

/** maxpool2d's cotangent: an existing rank-4 input and dy of the pool output's shape. */
const maxpoolGradGen: OpGen = (r, op) => {
  const x = r.ranked(4, 4);
  if (x === null) return false;
  const pool = drawPool(r, r.typeOf(x).shape);
  const dy = r.like({ dtype: 'f32', shape: pool.out });
  return dy !== null && made(r.node(op, [x, dy], pool.attrs));
};

/** avgpool2d's cotangent: dy of the pool output's shape for an input shape drawn here. */
const avgpoolGradGen: OpGen = (r, op) => {
  const inputShape = [r.c.int(1, 2), r.c.int(1, 4), r.c.int(1, 5), r.c.int(1, 5)];
  const pool = drawPool(r, inputShape);
  const dy = r.like({ dtype: 'f32', shape: pool.out });
  return dy !== null && made(r.node(op, [dy], { ...pool.attrs, input_shape: inputShape }));
};

/** One generator per op: a new op in the registry fails the type check until it has one here. */
const OP_GENS: Record<OpName, OpGen> = {
  neg: unaryGen(isNum),
  abs: unaryGen(isNum),
  relu: unaryGen(isNum),
  exp: unaryGen(isF32),
  log: unaryGen(isF32),
  sqrt: unaryGen(isF32),
  rsqrt: unaryGen(isF32),
  sigmoid: unaryGen(isF32),
  tanh: unaryGen(isF32),
  gelu: unaryGen(isF32),
  add: binaryGen(isNum),
  sub: binaryGen(isNum),
  mul: binaryGen(isNum),
  div: binaryGen(isNum),
  maximum: binaryGen(isNum),
  minimum: binaryGen(isNum),
  pow: binaryGen(isF32),
  greater: binaryGen(isNum),
  less: binaryGen(isNum),
  equal: binaryGen(isNum),
  select: selectGen,
  cast: (r, op) => {
    const x = r.pick(isAny);
    return x !== null && made(r.node(op, [x], { to: r.c.pick(DTYPES) }));
  },
  constant: (r, op) => {
    const dtype = r.c.pick(DTYPES);
    return made(r.node(op, [], { value: r.scalar(dtype), dtype, shape: r.shape(0, 4) }));
  },
  random_uniform: (r, op) => {
    const key = r.node('constant', [], { value: r.c.int(0, 1000), dtype: 'i32', shape: [] });
    return key !== null && made(r.node(op, [key], { shape: r.shape(0, 4), salt: r.c.int(0, 7) }));
  },
  sum: reduceGen(isNum),
  mean: reduceGen(isF32),
  max: reduceGen(isNum),
  argmax: (r, op) => {
    const x = r.pick((t) => isNum(t) && t.shape.length >= 1);
    return x !== null && made(r.node(op, [x], { axis: r.c.int(0, r.typeOf(x).shape.length - 1), keepdims: r.c.bool() }));
  },
  reshape: (r, op) => {
    const x = r.pick(isAny);
    return x !== null && made(r.node(op, [x], reshapeAttrs(r, r.typeOf(x).shape)));
  },
  transpose: (r, op) => {
    const x = r.pick(isAny);
    if (x === null) return false;
    const rank = r.typeOf(x).shape.length;
    return made(r.node(op, [x], { perm: r.c.shuffle(Array.from({ length: rank }, (_, i) => i)) }));
  },
  broadcast: (r, op) => {
    const x = r.pick(isAny);
    return x !== null && made(r.node(op, [x], broadcastAttrs(r, r.typeOf(x).shape)));
  },
  slice: (r, op) => {
    const x = r.pick(isAny);
    return x !== null && made(r.node(op, [x], sliceAttrs(r, r.typeOf(x).shape)));
  },
  pad: (r, op) => {
    const x = r.pick(isAny);
    if (x === null) return false;
    const t = r.typeOf(x);
    const pads = (): number[] => t.shape.map(() => r.c.int(0, 2));
    return made(r.node(op, [x], { low: pads(), high: pads(), value: r.scalar(t.dtype) }));
  },
  concat: concatGen,
  gather: gatherGen,
  scatter_add: scatterAddGen,
  matmul: matmulGen,
  conv2d: conv2dGen,
  conv2d_backward_input: convInputGradGen,
  conv2d_backward_filter: convFilterGradGen,
  maxpool2d: poolGen,
  avgpool2d: poolGen,
  maxpool2d_backward: maxpoolGradGen,
  avgpool2d_backward: avgpoolGradGen,
  softmax: softmaxGen(),
  log_softmax: softmaxGen(),
  one_hot: (r, op) => {
    const idx = r.indices(MAX_RANK - 1);
    return idx !== null && made(r.node(op, [idx], { depth: r.c.int(1, 5) }));
  },
};
