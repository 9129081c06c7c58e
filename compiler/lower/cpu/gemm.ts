// Contraction kernels as packed, register-tiled GEMMs: which loops are batch, rows, columns and the reduction, and the code that packs panels and multiplies them.
//
// A contraction kernel's template is `sum_K(f64(P) · f64(Q))` (matmul, conv2d and both conv
// gradients lower to it). Its index space splits, in order, into batch variables, then row
// variables that only the operand P reads, then column variables that only Q reads (the
// operands may swap roles); then the result C[batch][row][col] lies in the output's own
// row-major order, so the epilogue (bias, activation, the optimizer update fused above the
// reduction) reads C at the point it writes, and an epilogue that is the template itself
// has the GEMM store straight into the output. A conv is an implicit GEMM this way: per
// image, weights [out channel][tap] times image patches [tap][position], the patch panel
// being the im2col of one image (a `where` that skips padding taps becomes zeros there).
//
// Panels are packed as float32 in the scratch (`SF`, its float32 view), the row panel four
// rows interleaved per k step and the column panel eight columns, so the 4×8 microkernel
// (gemm-wasm.ts, or the runtime's JavaScript twin) streams both panels with unit stride and
// keeps the tile's sums in registers. Sums run over k in order in float32 (see gemm-wasm.ts
// for why not float64): within a contraction's tolerance of the reference. A skipped padding
// tap adds a zero where the reference adds nothing, which differs only when the other
// operand is infinite or NaN there, so a masked kernel checks its other panel and runs the
// plain loops (the reference's arithmetic) when it is not all finite.

import type { Expr, IndexVar } from '../../kernel/expr.js';
import { topoOrder } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import type { Block, JsEmitter } from './emit.js';
import { loopNest, newBlock } from './emit.js';

type Reduce = Extract<Expr, { kind: 'reduce' }>;

/** How a contraction kernel runs as a GEMM. */
export interface GemmPlan {
  readonly template: Reduce;
  readonly batch: readonly IndexVar[];
  readonly rows: readonly IndexVar[];
  readonly cols: readonly IndexVar[];
  /** The operand the rows read (packed [row][k]) and the one the columns read. */
  readonly rowOperand: Expr;
  readonly colOperand: Expr;
  readonly reduceVars: readonly IndexVar[];
  /** The template's `where`, packed as zeros into the panel named by `maskSide`. */
  readonly mask: Expr | null;
  readonly maskSide: 'rows' | 'cols';
  /** Whether a panel depends on the batch variables (and is packed per batch). */
  readonly rowsPerBatch: boolean;
  readonly colsPerBatch: boolean;
  /** The epilogue is the template itself: the GEMM writes the output. */
  readonly direct: boolean;
  readonly nb: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

const product = (vs: readonly IndexVar[]): number => vs.reduce((p, v) => p * v.extent, 1);
/** Rows of a row panel and columns of a column panel: the microkernel's 4×8 tile. */
const MR = 4;
const NR = 8;
const lanesOf = (side: 'rows' | 'cols'): number => (side === 'rows' ? MR : NR);
const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;
/** Panel packing writes out innermost loops of at most this many iterations. */
const PACK_UNROLL = 4;

/** Whether `t` is read only outside every other reduction (its value then depends on the space point alone). */
function readOutsideReductions(values: readonly Expr[], t: Expr): boolean {
  return topoOrder(values).every((r) => r.kind !== 'reduce' || r === t || !topoOrder([r.body, ...(r.where ? [r.where] : []), ...(r.init ? [r.init] : [])]).includes(t));
}

/** The GEMM form of a contraction kernel, or null when its template does not fit one (it then runs as plain loops). */
export function planGemm(k: ExprKernel): GemmPlan | null {
  const t = k.template;
  if (!t || t.kind !== 'reduce' || t.fn !== 'sum' || t.init !== null || t.body.kind !== 'binary' || t.body.fn !== 'mul' || t.body.type !== 'f64') return null;
  if (t.type !== 'f32' && t.type !== 'f64') return null;
  if (!readOutsideReductions(k.values, t)) return null;
  const [a, b] = [t.body.a, t.body.b];
  const inA = new Set(a.free);
  const inB = new Set(b.free);
  const side = (v: IndexVar): 'a' | 'b' | 'both' | 'none' => (inA.has(v.id) ? (inB.has(v.id) ? 'both' : 'a') : inB.has(v.id) ? 'b' : 'none');
  for (let split = 0; split <= k.vars.length; split++) {
    const batch = k.vars.slice(0, split);
    const rest = k.vars.slice(split);
    const sides = rest.map(side);
    if (sides.includes('both')) continue;
    const first = sides.find((s) => s !== 'none') ?? 'a';
    const boundary = sides.findIndex((s) => s !== 'none' && s !== first);
    const rows = boundary < 0 ? rest : rest.slice(0, boundary);
    const cols = boundary < 0 ? [] : rest.slice(boundary);
    if (cols.some((v) => side(v) === first)) continue;
    const [rowOperand, colOperand] = first === 'a' ? [a, b] : [b, a];
    const batchIds = new Set(batch.map((v) => v.id));
    const maskVars = (t.where?.free ?? []).filter((id) => k.vars.some((v) => v.id === id) && !batchIds.has(id));
    const maskSide = maskVars.every((id) => rows.some((v) => v.id === id)) ? 'rows' : maskVars.every((id) => cols.some((v) => v.id === id)) ? 'cols' : null;
    if (maskSide === null) continue;
    const dependsOnBatch = (e: Expr | null): boolean => (e?.free ?? []).some((id) => batchIds.has(id));
    const rowsPerBatch = dependsOnBatch(rowOperand) || (maskSide === 'rows' && dependsOnBatch(t.where));
    const colsPerBatch = dependsOnBatch(colOperand) || (maskSide === 'cols' && dependsOnBatch(t.where));
    // The finiteness check of the unmasked panel must finish before any output is written.
    if (t.where && (maskSide === 'rows' ? colsPerBatch : rowsPerBatch)) return null;
    return {
      template: t,
      batch,
      rows,
      cols,
      rowOperand,
      colOperand,
      reduceVars: t.vars,
      mask: t.where,
      maskSide,
      rowsPerBatch,
      colsPerBatch,
      direct: k.values.length === 1 && k.values[0] === t && t.type === 'f32',
      nb: product(batch),
      m: product(rows),
      n: product(cols),
      k: product(t.vars),
    };
  }
  return null;
}

/**
 * Where a plan's panels and result live in the scratch. Panels (float32) are placed in
 * floats; the result C (float64, for the epilogue) in doubles after them. Panels that do not
 * depend on the batch, and C, are shared by all threads (offsets from the scratch's start);
 * a panel packed per batch lives in each thread's own region (offsets from `TF`, the
 * thread's region start in floats: 2 · (sharedDoubles + tid · threadDoubles)).
 */
export interface GemmScratch {
  /** Float offsets, as code. */
  readonly rowPanel: string;
  readonly colPanel: string;
  /** The result C, in doubles (unused when the GEMM writes the output directly). */
  readonly result: number;
  readonly sharedDoubles: number;
  readonly threadDoubles: number;
}

export function gemmScratch(p: GemmPlan): GemmScratch {
  let shared = 0;
  let own = 0;
  const place = (perBatch: boolean, size: number): string => {
    const at = perBatch ? `TF + ${own}` : String(shared);
    // Four-float steps keep every panel 16-byte aligned for the vector loads.
    if (perBatch) own += roundUp(size, 4);
    else shared += roundUp(size, 4);
    return at;
  };
  const rowPanel = place(p.rowsPerBatch, panelSize(p, 'rows'));
  const colPanel = place(p.colsPerBatch, panelSize(p, 'cols'));
  const result = shared / 2;
  return { rowPanel, colPanel, result, sharedDoubles: result + (p.direct ? 0 : p.nb * p.m * p.n), threadDoubles: own / 2 };
}

/** A panel pack's statements; when ranged, they cover [lo, hi) of `extent` (rows of the outermost variable, or whole panels). */
export interface PanelPack {
  readonly lines: string[];
  readonly extent: number;
}

/**
 * Statements that pack one operand into its panel of L lanes (4 for rows, 8 for columns): for
 * each row (row-major over `vars`) and each k, SF[panel + (row/L)·LK + k·L + row%L]. Masked
 * points are skipped, so they stay zero when the panel is cleared first (as is done whenever
 * the kernel has a mask, padding rows included, so that a finiteness check of the whole
 * panel sees no stale values).
 */
export function packPanel(em: JsEmitter, prefix: readonly Block[], operand: Expr, vars: readonly IndexVar[], reduceVars: readonly IndexVar[], mask: Expr | null, offset: string, clear: boolean, side: 'rows' | 'cols', ranged = false): PanelPack {
  if (ranged && (vars.length === 0 || clear)) throw new Error('internal: a ranged panel pack needs a row variable to range over and no clearing');
  if (!clear && mask === null && vars.length > 0) {
    const gathered = gatherPanel(em, prefix, operand, vars, reduceVars, offset, side, ranged);
    if (gathered) return gathered;
  }
  const L = lanesOf(side);
  const shift = Math.log2(L);
  const k = product(reduceVars);
  const rowBlocks = vars.map((v) => newBlock(v.id));
  const kBlocks = reduceVars.map((v) => newBlock(v.id));
  const stack = [...prefix, ...rowBlocks, ...kBlocks];
  const own = [...rowBlocks, ...kBlocks];
  // Row offsets, then k offsets, as partial sums at each loop's level.
  let row = '0';
  let stride = product(vars);
  vars.forEach((v, i) => {
    stride /= v.extent;
    const name = em.fresh('r');
    rowBlocks[i]!.lines.push(`const ${name} = ${row} + v${v.id} * ${stride};`);
    row = name;
  });
  const base = em.fresh('q');
  (rowBlocks.at(-1) ?? kBlocks[0]!).lines.push(`const ${base} = ${offset} + (${row} >> ${shift}) * ${L * k} + (${row} & ${L - 1});`);
  let at = base;
  stride = k;
  reduceVars.forEach((v, i) => {
    stride /= v.extent;
    const name = em.fresh('q');
    kBlocks[i]!.lines.push(`const ${name} = ${at} + v${v.id} * ${L * stride};`);
    at = name;
  });
  for (const c of conjunctsOf(mask)) {
    const home = em.home(c, stack);
    const where = own.includes(home) ? home : own[0]!;
    where.lines.push(`if (!(${em.gen(c, stack, where)})) continue;`);
  }
  const innermost = kBlocks.at(-1)!;
  innermost.lines.push(`SF[${at}] = ${em.gen(operand, stack, innermost)};`);
  const size = roundUp(product(vars), L) * k;
  // A short innermost loop (a 3×3 window's taps) costs about as much in loop overhead as in
  // copying: written out, the Fashion CNN's conv-2 patch packing at batch 64 took 3.9 ms a
  // step instead of 6–8 (one thread). Mask tests `continue`, so a masked panel keeps its loops.
  const unroll = mask === null ? PACK_UNROLL : 0;
  return { lines: [...(clear ? [`SF.fill(0, ${offset}, ${offset} + ${size});`] : []), ...loopNest([...vars, ...reduceVars], own, [], ranged, unroll)], extent: ranged ? vars[0]!.extent : 1 };
}

type Load = Extract<Expr, { kind: 'load' }>;

/** The float32 load an operand copies, through a widening cast at most; else null. */
function copiedLoad(e: Expr): Load | null {
  if (e.kind === 'cast' && e.type === 'f64') return copiedLoad(e.x);
  return e.kind === 'load' && e.type === 'f32' ? e : null;
}

function addTerms(e: Expr): Expr[] {
  return e.kind === 'binary' && e.fn === 'add' && e.type === 'i32' ? [...addTerms(e.a), ...addTerms(e.b)] : [e];
}

/**
 * A panel pack by offset tables, for an operand that is a load at base + f(row) + g(k) (an
 * unpadded conv's patches: image + position + tap; a matmul operand). The kernel's top
 * fills RO with f per row (padding rows repeat the last) and KO with g per k; the copy then
 * walks the panel in its own order, each lane's offset held in a local, so every store is
 * sequential and there is no index arithmetic per element; ranged, threads share the panels. The Fashion CNN's conv-2 patch
 * packing at batch 64 (one thread) takes about 2.4 ms a step this way instead of 3.9 ms
 * in the nest of the operand's loops. Null when the offset does not separate so.
 */
function gatherPanel(em: JsEmitter, prefix: readonly Block[], operand: Expr, vars: readonly IndexVar[], reduceVars: readonly IndexVar[], offset: string, side: 'rows' | 'cols', ranged: boolean): PanelPack | null {
  const load = copiedLoad(operand);
  if (!load) return null;
  const rowIds = new Set(vars.map((v) => v.id));
  const kIds = new Set(reduceVars.map((v) => v.id));
  const parts: Record<'base' | 'row' | 'k', Expr[]> = { base: [], row: [], k: [] };
  for (const t of addTerms(load.offset)) {
    const [inRow, inK] = [t.free.some((id) => rowIds.has(id)), t.free.some((id) => kIds.has(id))];
    if (inRow && !t.free.every((id) => rowIds.has(id))) return null;
    if (inK && !t.free.every((id) => kIds.has(id))) return null;
    parts[inK ? 'k' : inRow ? 'row' : 'base'].push(t);
  }
  const L = lanesOf(side);
  const [n, k] = [product(vars), product(reduceVars)];
  const panels = Math.ceil(n / L);
  const top = prefix[0]!;
  /** Fills a fresh Int32Array of `size` with the sum of `terms` at each point of `over`, in row-major order. */
  const table = (over: readonly IndexVar[], terms: readonly Expr[], size: number): string => {
    const [name, i] = [em.fresh('T'), em.fresh('i')];
    const blocks = over.map((v) => newBlock(v.id));
    const stack = [top, ...blocks];
    const sum = terms.map((t) => em.gen(t, stack, blocks.at(-1)!)).join(' + ') || '0';
    top.lines.push(`const ${name} = new Int32Array(${size});`, `let ${i} = 0;`, ...loopNest(over, blocks, [`${name}[${i}++] = ${sum};`]));
    if (size > product(over)) top.lines.push(`for (; ${i} < ${size}; ${i}++) ${name}[${i}] = ${name}[${i} - 1];`);
    return name;
  };
  const [RO, KO] = [table(vars, parts.row, panels * L), table(reduceVars, parts.k, k)];
  const base = parts.base.map((t) => em.gen(t, prefix, prefix.at(-1)!)).join(' + ') || '0';
  const [at, jp, q, kk, b] = [em.fresh('o'), em.fresh('jp'), em.fresh('q'), em.fresh('kk'), em.fresh('b')];
  const lanes = Array.from({ length: L }, () => em.fresh('o'));
  const view = em.view(load.slot);
  const lines = [
    `const ${at} = ${base};`,
    ranged ? `for (let ${jp} = lo; ${jp} < hi; ${jp}++) {` : `for (let ${jp} = 0; ${jp} < ${panels}; ${jp}++) {`,
    ...lanes.map((o, j) => `  const ${o} = ${at} + ${RO}[${jp} * ${L} + ${j}];`),
    `  let ${q} = ${offset} + ${jp} * ${L * k};`,
    `  for (let ${kk} = 0; ${kk} < ${k}; ${kk}++) {`,
    `    const ${b} = ${KO}[${kk}];`,
    ...lanes.map((o, j) => `    SF[${q} + ${j}] = ${view}[${o} + ${b}];`),
    `    ${q} += ${L};`,
    '  }',
    '}',
  ];
  return { lines, extent: ranged ? panels : 1 };
}

function conjunctsOf(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'binary' && e.fn === 'and') return [...conjunctsOf(e.a), ...conjunctsOf(e.b)];
  return [e];
}

/** Statements that return true (run the plain loops instead) when a shared packed panel holds a NaN or an infinity. */
export function finiteCheck(offset: string, size: number): string[] {
  return [`for (let i = ${offset}; i < ${offset} + ${size}; i++) {`, '  const x = SF[i];', '  if (x - x !== 0) return true;', '}'];
}

/** A panel's size in floats. */
export function panelSize(p: GemmPlan, side: 'rows' | 'cols'): number {
  return roundUp(side === 'rows' ? p.m : p.n, lanesOf(side)) * p.k;
}

/** Columns per block: a block of the column panel (colBlock · K floats) fits in 256 KiB of L2. */
export function columnBlock(k: number): number {
  return Math.max(NR, Math.floor(65536 / k / NR) * NR);
}

/** How the GEMM of a plan without batch variables is split between threads: by row panels or by column panels, whichever has more. */
export function gemmSplit(p: GemmPlan): { readonly by: 'rows' | 'cols'; readonly extent: number } {
  const [rows, cols] = [Math.ceil(p.m / MR), Math.ceil(p.n / NR)];
  return rows >= cols ? { by: 'rows', extent: rows } : { by: 'cols', extent: cols };
}

/**
 * The statement that multiplies packed panels: `H.gemm_f32` into the output view (direct) or
 * `H.gemm_f64` into the scratch result, by byte address (`SB` is the scratch's byte offset in
 * storage). With `part`, only the row or column panels [lo, hi) of a batch-free plan. The
 * runtime supplies both microkernels, as WebAssembly SIMD or as plain JavaScript with the
 * same sums.
 */
export function gemmCall(p: GemmPlan, s: GemmScratch, part?: 'rows' | 'cols'): string {
  const esize = p.direct ? 4 : 8;
  const dest = p.direct ? 'o0.byteOffset + cb * 4' : `SB + (${s.result} + cb) * 8`;
  let [pa, qb, c, m, n] = [`SB + (${s.rowPanel}) * 4`, `SB + (${s.colPanel}) * 4`, dest, String(p.m), String(p.n)];
  if (part === 'rows') [pa, c, m] = [`${pa} + lo * ${MR * p.k * 4}`, `${c} + lo * ${MR * p.n * esize}`, `Math.min(${p.m}, hi * ${MR}) - lo * ${MR}`];
  if (part === 'cols') [qb, c, n] = [`${qb} + lo * ${NR * p.k * 4}`, `${c} + lo * ${NR * esize}`, `Math.min(${p.n}, hi * ${NR}) - lo * ${NR}`];
  return `H.gemm_${p.direct ? 'f32' : 'f64'}(${pa}, ${qb}, ${c}, ${m}, ${n}, ${p.k}, ${p.n}, ${columnBlock(p.k)});`;
}
