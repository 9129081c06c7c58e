// One expression kernel as JavaScript source: plain loop nests, or a packed GEMM with its epilogue for contraction kernels.
//
// The source is the body of a factory `(H, S, a0…, o0…) => kernel`: `a<slot>` are typed-array
// views of the kernel's inputs, `o<k>` of its outputs, `S` the float64 scratch, `H` the few
// helpers the code may call (gelu as the reference computes it; the GEMM microkernels; the
// scratch's byte offset in storage). The factory runs once per
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
import type { GemmPlan } from './gemm.js';
import { finiteCheck, gemmCall, gemmScratch, packPanel, panelSize, planGemm } from './gemm.js';

export interface KernelSource {
  /** The factory body; it returns the kernel function. */
  readonly source: string;
  /** Float64 scratch the kernel uses, from offset 0. */
  readonly scratchDoubles: number;
  readonly gemm: GemmPlan | null;
}

const inputView = (slot: number): string => `a${slot}`;
const outputView = (k: number): string => `o${k}`;

/** Statements that evaluate the kernel's outputs at every point of its space and store them at the flat position `p`. */
function pointLoops(em: JsEmitter, k: ExprKernel, top: Block): string[] {
  const blocks = k.vars.map((v) => newBlock(v.id));
  const stack = [top, ...blocks];
  const innermost = stack[stack.length - 1]!;
  const ys = k.values.map((v) => {
    const y = em.fresh('y');
    innermost.lines.push(`const ${y} = ${em.gen(v, stack, innermost)};`);
    return y;
  });
  const leaf = [...ys.map((y, i) => `${outputView(i)}[p] = ${y};`), 'p++;'];
  if (k.vars.length === 0) {
    top.lines.push(...leaf);
    return [];
  }
  return loopNest(k.vars, blocks, leaf);
}

function functionText(name: string, body: readonly string[]): string[] {
  return [`function ${name}() {`, ...indent(body), '}'];
}

/** The kernel as plain loops, every reduction (the template included) inline. */
function plainFunction(k: ExprKernel, name: string, em: JsEmitter): string[] {
  const top = newBlock(null);
  const loops = pointLoops(em, k, top);
  return functionText(name, ['let p = 0;', ...top.lines, ...loops]);
}

/** The kernel as a GEMM: pack panels (per batch where they depend on it), multiply, then the epilogue reading C at each point. */
function gemmFunctionBody(k: ExprKernel, name: string, p: GemmPlan, em: JsEmitter, fallback: string | null): string[] {
  const s = gemmScratch(p);
  const top = newBlock(null);
  const batchBlocks = p.batch.map((v) => newBlock(v.id));
  const clear = p.mask !== null;
  const pack = (side: 'rows' | 'cols', prefix: readonly Block[]): string[] =>
    side === 'rows'
      ? packPanel(em, prefix, p.rowOperand, p.rows, p.reduceVars, p.maskSide === 'rows' ? p.mask : null, s.rowPanel, clear)
      : packPanel(em, prefix, p.colOperand, p.cols, p.reduceVars, p.maskSide === 'cols' ? p.mask : null, s.colPanel, clear);
  const once = [...(p.rowsPerBatch ? [] : pack('rows', [top])), ...(p.colsPerBatch ? [] : pack('cols', [top]))];
  const check = fallback && p.mask ? (p.maskSide === 'rows' ? finiteCheck(s.colPanel, panelSize(p, 'cols'), fallback) : finiteCheck(s.rowPanel, panelSize(p, 'rows'), fallback)) : [];
  const perBatch = [...(p.rowsPerBatch ? pack('rows', [top, ...batchBlocks]) : []), ...(p.colsPerBatch ? pack('cols', [top, ...batchBlocks]) : [])];
  const batchLoop = loopNest(p.batch, batchBlocks, [...perBatch, gemmCall(p, s), `cb += ${p.m * p.n};`]);
  const epilogue = p.direct ? [] : pointLoops(em, k, top);
  return functionText(name, ['let p = 0;', 'let cb = 0;', ...top.lines, ...once, ...check, ...batchLoop, ...epilogue]);
}

/** The JavaScript source of an expression kernel; `name` is compiler-made (the kernel's `k<n>`). */
export function kernelSource(k: ExprKernel, name: string): KernelSource {
  if (!/^k\d+$/.test(name)) throw new Error(`internal: kernel name '${name}' is not compiler-made`);
  const plan = k.kind === 'contraction' ? planGemm(k) : null;
  const base: EmitContext = { view: inputView };
  const lines: string[] = ['"use strict";', ...(plan ? ['const SB = H.scratchBytes;'] : [])];
  const helpers = new Set<string>();
  const collect = (em: JsEmitter): void => em.prelude().forEach((l) => helpers.add(l));
  const body: string[] = [];
  if (plan === null) {
    const em = new JsEmitter(k.values, base);
    body.push(...plainFunction(k, name, em));
    collect(em);
  } else {
    const t = plan.template;
    const fallback = plan.mask ? `${name}_loops` : null;
    if (fallback) {
      const plainEm = new JsEmitter(k.values, base);
      body.push(...plainFunction(k, fallback, plainEm));
      collect(plainEm);
    }
    const read = `S[${gemmScratch(plan).result} + p]`;
    const replaced = new Map([[t.id, t.type === 'f32' ? `Math.fround(${read})` : read]]);
    const em = new JsEmitter(k.values, { ...base, replaced });
    body.push(...gemmFunctionBody(k, name, plan, em, fallback));
    collect(em);
  }
  lines.push(...helpers, ...body, `return ${name};`);
  return { source: lines.join('\n'), scratchDoubles: plan ? gemmScratch(plan).doubles : 0, gemm: plan };
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
