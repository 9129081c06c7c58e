// The kernel interpreter: runs a kernel program on typed arrays laid out as planned, so passes are tested before any backend.
//
// Temporaries live in one ArrayBuffer arena at their planned offsets, so a memory plan that
// overlaps two live buffers corrupts results here just as it would on a device; values the
// plan stores as f16 (storage 'f16') live in a second arena and are rounded to f16 when stored. Each
// expression kernel's DAG is compiled once into closures; a node shared by several parents,
// and every reduction, is cached against the versions of the index variables it depends on,
// so it is computed once per distinct point (a softmax row's sum once per row). All outputs
// of a point are computed before any is stored, which is what makes writing an output over an
// input read at the same position safe. Op kernels run their op's reference semantics.

import { OPS } from '../ir/ops/registry.js';
import type { Feeds } from '../ir/interpret.js';
import { beats } from '../ir/ops/indexing.js';
import { geluScalar } from '../ir/ops/elementwise.js';
import type { Tensor, TensorData } from '../ir/tensor.js';
import { allocData } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { formatType, numel, typesEqual } from '../ir/types.js';
import type { BinaryFn, Expr, UnaryFn } from './expr.js';
import { children, topoOrder } from './expr.js';
import type { ExprKernel, KBuffer, KernelProgram, OpKernel } from './program.js';
import { roundToHalf } from './half.js';
import { ELEMENT_BYTES } from './target.js';

/** A buffer's elements as the device stores them: bool as u32. */
type View = Float32Array | Int32Array | Uint32Array;

function view(storage: ArrayBuffer, offset: number, t: TensorType): View {
  const n = numel(t.shape);
  return t.dtype === 'f32' ? new Float32Array(storage, offset, n) : t.dtype === 'i32' ? new Int32Array(storage, offset, n) : new Uint32Array(storage, offset, n);
}

function checkFeed(b: KBuffer, name: string, feed: Tensor | undefined, what: string): Tensor {
  if (!feed) throw new Error(`program @${name}: no value given for ${what}`);
  if (!typesEqual(feed.type, b.type)) throw new Error(`program @${name}: ${what} expects ${formatType(b.type)}, got ${formatType(feed.type)}`);
  return feed;
}

export interface KernelRunResult {
  readonly outputs: Map<string, Tensor>;
}

export function runKernelProgram(p: KernelProgram, feeds: Feeds): KernelRunResult {
  const arena = new ArrayBuffer(p.arenaBytes);
  const views = new Map<number, View>();
  const persistent = new Map<string, ArrayBuffer>();
  for (const b of p.buffers) {
    const pl = b.placement;
    if (pl.kind === 'input' || pl.kind === 'param') {
      const feed = checkFeed(b, p.name, pl.kind === 'input' ? feeds.inputs.get(pl.name) : feeds.params.get(pl.name), `${pl.kind} '${pl.name}'`);
      const storage = new ArrayBuffer(numel(b.type.shape) * ELEMENT_BYTES[b.type.dtype]);
      const v = view(storage, 0, b.type);
      for (let i = 0; i < v.length; i++) v[i] = feed.data[i]!;
      persistent.set(`${pl.kind}:${pl.name}`, storage);
      views.set(b.id, v);
    }
  }
  // Half-arena values are kept as float32 rounded to f16, 4 bytes for each 2 planned: offsets
  // doubled, so the plan's overlaps are the interpreter's.
  const halfArena = new ArrayBuffer(2 * p.halfArenaBytes);
  const halves = new Set<number>();
  for (const b of p.buffers) {
    const pl = b.placement;
    if (pl.kind === 'half-arena') {
      if (b.type.dtype !== 'f32' || pl.offset < 0 || pl.offset + 2 * numel(b.type.shape) > p.halfArenaBytes) throw new Error(`internal: buffer of %${b.value} at ${pl.offset} does not fit the ${p.halfArenaBytes}-byte half arena as f16`);
      views.set(b.id, view(halfArena, 2 * pl.offset, b.type));
      halves.add(b.id);
    } else if (pl.kind === 'arena') {
      if (pl.offset < 0 || pl.offset + numel(b.type.shape) * ELEMENT_BYTES[b.type.dtype] > p.arenaBytes) throw new Error(`internal: buffer of %${b.value} at ${pl.offset} overruns the ${p.arenaBytes}-byte arena`);
      views.set(b.id, view(arena, pl.offset, b.type));
    } else if (pl.kind === 'in-param') {
      const storage = persistent.get(`param:${pl.name}`);
      if (!storage) throw new Error(`internal: output %${b.value} is placed in param '${pl.name}', which the program lacks`);
      views.set(b.id, view(storage, 0, b.type));
    }
  }
  const get = (id: number): View => views.get(id) ?? fail(`buffer ${id} has no storage`);
  for (const k of p.kernels) {
    if (k.kind === 'op') runOpKernel(k, p, get);
    else runExprKernel(k, k.inputs.map(get), k.outputs.map(get));
    for (const id of k.outputs) if (halves.has(id)) roundAllToHalf(get(id));
  }
  const outputs = new Map<string, Tensor>();
  for (const o of p.outputs) {
    const b = p.buffers[o.buffer]!;
    const data = allocData(b.type.dtype, numel(b.type.shape));
    data.set(get(o.buffer));
    outputs.set(o.name, { type: b.type, data });
  }
  return { outputs };
}

/** Stores a kernel's output as f16 would: every element rounded (the kernel wrote it whole, so rounding afterwards is the same). */
function roundAllToHalf(v: View): void {
  for (let i = 0; i < v.length; i++) v[i] = roundToHalf(v[i]!);
}

function fail(message: string): never {
  throw new Error(`internal: ${message}`);
}

function runOpKernel(k: OpKernel, p: KernelProgram, get: (id: number) => View): void {
  const inputs = k.inputs.map((id): Tensor => {
    const b = p.buffers[id]!;
    const data: TensorData = allocData(b.type.dtype, numel(b.type.shape));
    data.set(get(id));
    return { type: b.type, data };
  });
  const out = p.buffers[k.outputs[0]!]!;
  const result = OPS[k.op].reference(inputs, k.attrs, out.type);
  get(out.id).set(result.data);
}

type Thunk = () => number;

const F = Math.fround;

const UNARY: Readonly<Record<UnaryFn, (x: number) => number>> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  relu: (x) => (x <= 0 ? 0 : x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  gelu: geluScalar,
  not: (x) => (x ? 0 : 1),
};

const BINARY: Readonly<Record<BinaryFn, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: Math.max,
  minimum: Math.min,
  pow: Math.pow,
  less: (a, b) => (a < b ? 1 : 0),
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
  and: (a, b) => (a && b ? 1 : 0),
  floordiv: (a, b) => Math.floor(a / b),
  mod: (a, b) => a - b * Math.floor(a / b),
};

/** Rounds a result to its expression type: float32, wrapped int32 (truncating division), or as is. */
function rounder(type: Expr['type'], fn?: BinaryFn): (x: number) => number {
  if (type === 'f32') return F;
  if (type === 'i32') return fn === 'div' ? (x) => Math.trunc(x) | 0 : (x) => x | 0;
  return (x) => x;
}

/** Compiles and runs one expression kernel over its whole index space. */
function runExprKernel(k: ExprKernel, ins: readonly View[], outs: readonly View[]): void {
  const order = topoOrder(k.values);
  let maxId = Math.max(0, ...k.vars.map((v) => v.id));
  for (const e of order) maxId = Math.max(maxId, e.id, ...(e.kind === 'reduce' ? e.vars.map((v) => v.id) : []));
  const vals = new Float64Array(maxId + 1);
  const vers = new Float64Array(maxId + 1);
  let clock = 0;
  const set = (id: number, x: number): void => {
    vals[id] = x;
    vers[id] = ++clock;
  };
  const parents = new Map<number, number>();
  for (const e of order) for (const c of children(e)) parents.set(c.id, (parents.get(c.id) ?? 0) + 1);
  for (const v of k.values) parents.set(v.id, (parents.get(v.id) ?? 0) + 1);
  const compiled = new Map<number, Thunk>();

  const compile = (e: Expr): Thunk => {
    const done = compiled.get(e.id);
    if (done) return done;
    let t = compileNode(e, compile, ins, set, vals);
    if (e.kind === 'reduce' || ((parents.get(e.id) ?? 0) > 1 && e.kind !== 'const' && e.kind !== 'var')) t = cached(t, e.free, vers);
    compiled.set(e.id, t);
    return t;
  };
  const thunks = k.values.map(compile);
  const n = numel(k.space);
  const point = new Array<number>(k.space.length).fill(0);
  k.vars.forEach((v) => set(v.id, 0));
  const results = new Float64Array(thunks.length);
  for (let flat = 0; flat < n; flat++) {
    for (let o = 0; o < thunks.length; o++) results[o] = thunks[o]!();
    for (let o = 0; o < thunks.length; o++) outs[o]![flat] = results[o]!;
    for (let a = k.space.length - 1; a >= 0; a--) {
      if (++point[a]! < k.space[a]!) {
        set(k.vars[a]!.id, point[a]!);
        break;
      }
      point[a] = 0;
      set(k.vars[a]!.id, 0);
    }
  }
}

/** A thunk that recomputes only when an index variable it depends on has changed since its last run. */
function cached(t: Thunk, free: readonly number[], vers: Float64Array): Thunk {
  const seen = new Float64Array(free.length).fill(-1);
  let value = 0;
  let valid = false;
  return () => {
    let hit = valid;
    for (let i = 0; i < free.length; i++) {
      const now = vers[free[i]!]!;
      if (seen[i] !== now) {
        hit = false;
        seen[i] = now;
      }
    }
    if (!hit) {
      value = t();
      valid = true;
    }
    return value;
  };
}

function compileNode(e: Expr, compile: (e: Expr) => Thunk, ins: readonly View[], set: (id: number, x: number) => void, vals: Float64Array): Thunk {
  switch (e.kind) {
    case 'const': {
      const v = e.value;
      return () => v;
    }
    case 'var': {
      const id = e.v.id;
      return () => vals[id]!;
    }
    case 'load': {
      const arr = ins[e.slot] ?? fail(`load from slot ${e.slot}, which the kernel does not bind`);
      const off = compile(e.offset);
      const n = arr.length;
      return () => {
        const o = off();
        if (!(o >= 0 && o < n)) fail(`load at offset ${o} of a ${n}-element buffer`);
        return arr[o]!;
      };
    }
    case 'unary': {
      const f = UNARY[e.fn];
      const x = compile(e.x);
      const r = rounder(e.type);
      return () => r(f(x()));
    }
    case 'binary': {
      const f = BINARY[e.fn];
      const a = compile(e.a);
      const b = compile(e.b);
      const r = rounder(e.type, e.fn);
      return () => r(f(a(), b()));
    }
    case 'select': {
      const c = compile(e.cond);
      const a = compile(e.a);
      const b = compile(e.b);
      return () => (c() ? a() : b());
    }
    case 'cast': {
      const x = compile(e.x);
      const to = e.type;
      return to === 'bool' ? () => (x() !== 0 ? 1 : 0) : to === 'i32' ? () => x() | 0 : to === 'f32' ? () => F(x()) : x;
    }
    case 'reduce':
      return compileReduce(e, compile, set);
    default:
      return e satisfies never;
  }
}

function compileReduce(e: Extract<Expr, { kind: 'reduce' }>, compile: (e: Expr) => Thunk, set: (id: number, x: number) => void): Thunk {
  const body = compile(e.body);
  const where = e.where ? compile(e.where) : null;
  const init = e.init ? compile(e.init) : null;
  const ids = e.vars.map((v) => v.id);
  const extents = e.vars.map((v) => v.extent);
  const count = extents.reduce((a, b) => a * b, 1);
  const rank = ids.length;
  const idx = new Array<number>(rank).fill(0);
  const intSum = e.fn === 'sum' && e.type === 'i32';
  const finish = rounder(e.type);
  return () => {
    let acc = e.fn === 'max' ? -Infinity : init ? init() : 0;
    let best = -1;
    idx.fill(0);
    ids.forEach((id) => set(id, 0));
    for (let pos = 0; pos < count; pos++) {
      if (!where || where()) {
        const v = body();
        if (e.fn === 'argmax') {
          if (best < 0 || beats(v, acc)) {
            best = pos;
            acc = v;
          }
        } else if (e.fn === 'max') {
          if (beats(v, acc)) acc = v;
        } else acc = intSum ? (acc + v) | 0 : acc + v;
      }
      for (let a = rank - 1; a >= 0; a--) {
        if (++idx[a]! < extents[a]!) {
          set(ids[a]!, idx[a]!);
          break;
        }
        idx[a] = 0;
        set(ids[a]!, 0);
      }
    }
    if (e.fn === 'argmax') return best;
    return finish(e.fn === 'mean' ? acc / count : acc);
  };
}
