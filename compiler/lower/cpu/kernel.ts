// One expression kernel as JavaScript source: plain loop nests, or a packed GEMM with its epilogue for contraction kernels.
//
// The source is the body of a factory `(H, S, a0…, o0…) => kernel`: `a<slot>` are typed-array
// views of the kernel's inputs, `o<k>` of its outputs, `S` the float64 scratch, `H` the few
// helpers the code may call (gelu as the reference computes it; the GEMM microkernels; the
// scratch's byte offset in storage and its float32 view `SF`, where GEMM panels are packed). The factory runs once per
// session; the kernel function it returns takes no arguments and is called every step, so
// V8 sees the views as constants of the closure and shapes as literals in the code.
//
// At each point of the index space every output is computed before any is stored, so an
// output may overwrite an input that the kernel reads only at that same point (the memory
// planner's in-place reuse).

import type { Expr } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import type { Block, EmitContext } from './emit.js';
import { JsEmitter, indent, loopNest, newBlock } from './emit.js';
import type { GemmPlan, PanelPack } from './gemm.js';
import { finiteCheck, gemmCall, gemmScratch, gemmSplit, packPanel, panelSize, planGemm } from './gemm.js';
import type { SplitLoops } from './split.js';
import { splitWindowLoops } from './split.js';
import type { WasmLoops } from './wasm-loops.js';
import { wasmLoopsModules } from './wasm-loops.js';

/**
 * A phase of a kernel: a function `(lo, hi, tid)` over [lo, hi) of a range of `extent`
 * (an outer loop, or row or column panels), which threads may split; extent 1 runs whole.
 * A phase that may return true asks for the kernel's fallback phases instead of the rest.
 */
export interface Phase {
  readonly extent: number;
  readonly mayFallBack: boolean;
}

export interface KernelSource {
  /** The factory body; it returns `{ phases, fallback }`, functions in the order of `phases` and `fallback`. */
  readonly source: string;
  readonly phases: readonly Phase[];
  readonly fallback: readonly Phase[] | null;
  /** Float64 scratch the kernel uses: shared by threads (from offset 0), and per thread. */
  readonly sharedScratch: number;
  readonly threadScratch: number;
  readonly gemm: GemmPlan | null;
  /** A loops kernel's WebAssembly form (wasm-loops.ts), which the source runs where storage is a Wasm memory. */
  readonly wasm: WasmLoops | null;
}

const inputView = (slot: number): string => `a${slot}`;
const outputView = (k: number): string => `o${k}`;

/** The byte address of every view, inputs then outputs: the arguments of a kernel's WebAssembly function after (lo, hi). */
function viewAddresses(k: ExprKernel): string[] {
  return [...k.inputs.map((_, s) => inputView(s)), ...k.values.map((_, o) => outputView(o))].map((v) => `${v}.byteOffset`);
}

function functionText(name: string, body: readonly string[]): string[] {
  return [`function ${name}(lo, hi, tid) {`, ...indent(body), '}'];
}

/**
 * A phase evaluating the kernel's outputs at every point of its space (the outermost
 * variable over [lo, hi)) and storing them at the flat position `p`; with window loops
 * (split.ts), over those loops, storing at the position they compute.
 */
function pointPhase(em: JsEmitter, k: ExprKernel, name: string, split: SplitLoops | null = null): { text: string[]; phase: Phase } {
  if (split) {
    const top = newBlock(null);
    const blocks = split.vars.map((v) => newBlock(v.id));
    const stack = [top, ...blocks];
    const innermost = stack[stack.length - 1]!;
    split.vars.forEach((v, i) => {
      const guard = split.guards.get(v.id);
      if (guard) blocks[i]!.lines.push(`if (!(${em.gen(guard, stack.slice(0, i + 2), blocks[i]!)})) continue;`);
    });
    const ys = split.values.map((v) => {
      const y = em.fresh('y');
      innermost.lines.push(`const ${y} = ${em.gen(v, stack, innermost)};`);
      return y;
    });
    const at = em.gen(split.position, stack, innermost);
    const loops = loopNest(split.vars, blocks, ys.map((y, i) => `${outputView(i)}[${at}] = ${y};`), true);
    return { text: functionText(name, [...top.lines, ...loops]), phase: { extent: k.space[0]!, mayFallBack: false } };
  }
  const top = newBlock(null);
  const blocks = k.vars.map((v) => newBlock(v.id));
  const stack = [top, ...blocks];
  const innermost = stack[stack.length - 1]!;
  const ys = k.values.map((v) => {
    const y = em.fresh('y');
    innermost.lines.push(`const ${y} = ${em.gen(v, stack, innermost)};`);
    return y;
  });
  const leaf = [...ys.map((y, i) => `${outputView(i)}[p] = ${y};`), 'p++;'];
  if (k.vars.length === 0) return { text: functionText(name, ['let p = 0;', ...top.lines, ...leaf]), phase: { extent: 1, mayFallBack: false } };
  const inner = k.space.slice(1).reduce((a, b) => a * b, 1);
  const loops = loopNest(k.vars, blocks, leaf, true);
  return { text: functionText(name, [`let p = lo * ${inner};`, ...top.lines, ...loops]), phase: { extent: k.space[0]!, mayFallBack: false } };
}

/**
 * The kernel as a GEMM in up to three phases: pack the panels that do not depend on the batch
 * (and, for a masked kernel, check the other panel is finite: true asks for the plain loops);
 * per batch (split between threads by the outermost batch variable, or without batch by row
 * or column panels) pack the rest and multiply; then the epilogue, reading C at each point.
 */
function gemmPhases(k: ExprKernel, name: string, p: GemmPlan, em: JsEmitter, checked: boolean): { text: string[]; phases: Phase[]; names: string[] } {
  const s = gemmScratch(p);
  const clear = p.mask !== null;
  const pack = (side: 'rows' | 'cols', prefix: readonly Block[], ranged = false): PanelPack =>
    side === 'rows'
      ? packPanel(em, prefix, p.rowOperand, p.rows, p.reduceVars, p.maskSide === 'rows' ? p.mask : null, s.rowPanel, clear, 'rows', ranged)
      : packPanel(em, prefix, p.colOperand, p.cols, p.reduceVars, p.maskSide === 'cols' ? p.mask : null, s.colPanel, clear, 'cols', ranged);
  const text: string[] = [];
  const phases: Phase[] = [];
  const names: string[] = [];
  const add = (fn: string, body: readonly string[], phase: Phase): void => {
    text.push(...functionText(fn, body));
    phases.push(phase);
    names.push(fn);
  };
  if (checked) {
    // A masked kernel clears its panels and checks one for finiteness before the multiply: one phase, on one thread.
    const top0 = newBlock(null);
    const once = [...(p.rowsPerBatch ? [] : pack('rows', [top0]).lines), ...(p.colsPerBatch ? [] : pack('cols', [top0]).lines)];
    const check = p.maskSide === 'rows' ? finiteCheck(s.colPanel, panelSize(p, 'cols')) : finiteCheck(s.rowPanel, panelSize(p, 'rows'));
    add(`${name}_pack`, [...top0.lines, ...once, ...check, 'return false;'], { extent: 1, mayFallBack: true });
  } else {
    // Each panel shared by the batch packs in a phase of its own, split between threads by its outermost variable.
    for (const side of ['rows', 'cols'] as const) {
      const vars = side === 'rows' ? p.rows : p.cols;
      if (side === 'rows' ? p.rowsPerBatch : p.colsPerBatch) continue;
      const top0 = newBlock(null);
      const { lines, extent } = pack(side, [top0], vars.length > 0);
      add(`${name}_pack_${side}`, [...top0.lines, ...lines], { extent, mayFallBack: false });
    }
  }
  const top1 = newBlock(null);
  const own = `const TF = ${2 * s.sharedDoubles} + tid * ${2 * s.threadDoubles};`;
  if (p.batch.length > 0) {
    const batchBlocks = p.batch.map((v) => newBlock(v.id));
    const perBatch = [...(p.rowsPerBatch ? pack('rows', [top1, ...batchBlocks]).lines : []), ...(p.colsPerBatch ? pack('cols', [top1, ...batchBlocks]).lines : [])];
    const loop = loopNest(p.batch, batchBlocks, [...perBatch, gemmCall(p, s), `cb += ${p.m * p.n};`], true);
    add(`${name}_gemm`, [own, `let cb = lo * ${(p.nb / p.batch[0]!.extent) * p.m * p.n};`, ...top1.lines, ...loop], { extent: p.batch[0]!.extent, mayFallBack: false });
  } else {
    const split = gemmSplit(p);
    add(`${name}_gemm`, ['const cb = 0;', gemmCall(p, s, split.by)], { extent: split.extent, mayFallBack: false });
  }
  if (!p.direct) {
    const epilogue = pointPhase(em, k, `${name}_epilogue`);
    text.push(...epilogue.text);
    phases.push(epilogue.phase);
    names.push(`${name}_epilogue`);
  }
  return { text, phases, names };
}

/** The JavaScript source of an expression kernel; `name` is compiler-made (the kernel's `k<n>`). */
export function kernelSource(k: ExprKernel, name: string): KernelSource {
  if (!/^k\d+$/.test(name)) throw new Error(`internal: kernel name '${name}' is not compiler-made`);
  const plan = k.kind === 'contraction' ? planGemm(k) : null;
  const base: EmitContext = { view: inputView };
  const helpers = new Set<string>();
  const collect = (em: JsEmitter): void => em.prelude().forEach((l) => helpers.add(l));
  const body: string[] = [];
  let phases: Phase[];
  let fallback: Phase[] | null = null;
  let names: string[];
  let fallbackNames: string[] = [];
  let wasm: WasmLoops | null = null;
  if (plan === null) {
    const split = splitWindowLoops(k);
    const em = new JsEmitter(split ? [...split.values, split.position, ...split.guards.values()] : k.values, base);
    const loops = pointPhase(em, k, name, split);
    body.push(...loops.text);
    collect(em);
    phases = [loops.phase];
    names = [name];
    wasm = wasmLoopsModules(k, split);
    if (wasm) {
      body.push(...functionText(`${name}_wasm`, [`H.wasm.run(lo, hi, ${viewAddresses(k).join(', ')});`]));
      names = [`(H.wasm ? ${name}_wasm : ${name})`];
    }
  } else {
    if (plan.mask) {
      const plainEm = new JsEmitter(k.values, base);
      const loops = pointPhase(plainEm, k, `${name}_loops`);
      body.push(...loops.text);
      collect(plainEm);
      fallback = [loops.phase];
      fallbackNames = [`${name}_loops`];
    }
    const t = plan.template;
    const read = `S[${gemmScratch(plan).result} + p]`;
    const replaced = new Map([[t.id, t.type === 'f32' ? `Math.fround(${read})` : read]]);
    const em = new JsEmitter(k.values, { ...base, replaced });
    const g = gemmPhases(k, name, plan, em, plan.mask !== null);
    body.push(...g.text);
    collect(em);
    phases = g.phases;
    names = g.names;
    wasm = plan.direct ? null : wasmLoopsModules(k, null, { template: t, result: gemmScratch(plan).result });
    if (wasm) {
      const epilogue = `${name}_epilogue`;
      body.push(...functionText(`${epilogue}_wasm`, [`H.wasm.run(lo, hi, ${[...viewAddresses(k), 'SB'].join(', ')});`]));
      names = names.map((n) => (n === epilogue ? `(H.wasm ? ${epilogue}_wasm : ${epilogue})` : n));
    }
  }
  const lines = ['"use strict";', ...(plan ? ['const SB = H.scratchBytes;', 'const SF = H.scratchF32;'] : []), ...helpers, ...body, `return { phases: [${names.join(', ')}], fallback: ${fallback ? `[${fallbackNames.join(', ')}]` : 'null'} };`];
  const s = plan ? gemmScratch(plan) : null;
  return { source: lines.join('\n'), phases, fallback, sharedScratch: s?.sharedDoubles ?? 0, threadScratch: s?.threadDoubles ?? 0, gemm: plan, wasm };
}

/** Floating-point operations of one run of a kernel: each f32/f64 operation once per combination of the variables it depends on. */
export function kernelFlops(k: ExprKernel): number {
  const extent = new Map<number, number>(k.vars.map((v) => [v.id, v.extent]));
  const nodes: Expr[] = [];
  const seen = new Set<number>();
  const visit = (e: Expr): void => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (e.kind === 'reduce') {
      for (const v of e.vars) extent.set(v.id, v.extent);
      [e.body, e.where, e.init].forEach((c) => c && visit(c));
    } else if (e.kind === 'unary' || e.kind === 'cast') visit(e.x);
    else if (e.kind === 'binary') [e.a, e.b].forEach(visit);
    else if (e.kind === 'select') [e.cond, e.a, e.b].forEach(visit);
    else if (e.kind === 'load') visit(e.offset);
    nodes.push(e);
  };
  k.values.forEach(visit);
  const times = (free: readonly number[]): number => free.reduce((n, id) => n * (extent.get(id) ?? 1), 1);
  let flops = 0;
  for (const e of nodes) {
    const float = e.type === 'f32' || e.type === 'f64';
    if ((e.kind === 'unary' || e.kind === 'binary') && float) flops += times(e.free);
    if (e.kind === 'reduce') flops += times([...e.free, ...e.vars.map((v) => v.id)]);
  }
  return flops;
}
