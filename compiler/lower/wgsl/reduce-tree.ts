// Tree reduction kernels: one workgroup per output point, the invocations summing strided slices, then a shared-memory tree.
//
// The point form sums a reduction serially in one invocation per output, so a bias
// gradient (32 outputs over batch × height × width) or a loss mean (one output) runs on a
// handful of invocations. Here a workgroup owns one output point: each invocation sums the
// flat indices lid, lid + WG, … of the reduced extent in f32, the partial sums meet in
// workgroup memory in log2(WG) halving steps, and invocation 0 computes the rest of the
// kernel's values from the totals and stores them. The order of additions is fixed by the
// shapes alone (no atomics), so the same inputs give the same bits on every run.
//
// With WgslOptions.subgroups the partial sums meet through subgroup operations instead, with
// two barriers in place of log2(WG) + 1 (subgroupCombine); the order of additions inside a
// subgroup is the driver's, so the bits are the same from run to run on one device, not
// across devices, and may differ from the tree's in the last places.
//
// The rule (treeReductions): the kernel's outermost reductions that are float sums or
// means without an initial value take the tree when one of them reduces at least
// TREE_MIN_EXTENT points and the kernel has at most TREE_MAX_OUTPUTS output points; with
// more outputs the point form already has enough invocations, and with shorter reductions
// the barriers cost more than the serial loop. Other reductions of such a kernel (a max, a
// short sum) run serially in invocation 0.

import type { Expr } from '../../kernel/expr.js';
import { children } from '../../kernel/expr.js';
import type { ExprKernel } from '../../kernel/program.js';
import { kernelFlops } from '../cpu/kernel.js';
import type { Block } from './emit.js';
import { WgslEmitter, conjuncts, helperSource, indent, literal, newBlock, wgslType } from './emit.js';
import type { MadeKernel } from './kernel.js';
import { grid, loadContext, loadFunctions, pointWorkgroup, shader, slotTypes, storeText, unravelLines } from './kernel.js';
import type { KernelContext } from './lower.js';

/** A reduction shorter than this stays serial. */
export const TREE_MIN_EXTENT = 1024;
/** A kernel with more output points than this stays in the point form. */
export const TREE_MAX_OUTPUTS = 2048;

type Reduce = Extract<Expr, { kind: 'reduce' }>;

function extent(r: Reduce): number {
  return r.vars.reduce((n, v) => n * v.extent, 1);
}

/** The reductions of a kernel the tree form computes, outermost first found; empty when the rule says the point form. */
export function treeReductions(k: ExprKernel): Reduce[] {
  const points = k.space.reduce((a, b) => a * b, 1);
  if (points > TREE_MAX_OUTPUTS) return [];
  const found: Reduce[] = [];
  const seen = new Set<number>();
  const stack = [...k.values];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (e.kind !== 'reduce') stack.push(...children(e));
    else if ((e.fn === 'sum' || e.fn === 'mean') && (e.type === 'f32' || e.type === 'f64') && e.init === null && e.vars.length > 0) found.push(e);
  }
  return found.some((r) => extent(r) >= TREE_MIN_EXTENT) ? found.sort((a, b) => a.id - b.id) : [];
}

/** The flat index `f` of a reduction as its index variables, in a block each (the emitter places expressions by variable). */
function reductionBlocks(r: Reduce, f: string): { blocks: Block[]; unravel: string[] } {
  return { blocks: r.vars.map((v) => newBlock(v.id)), unravel: unravelLines(r.vars, f) };
}

/** How the partial sums `acc` of a workgroup meet: the lines, where every invocation then reads the sum, and what must follow before red is written again. */
interface Combine {
  readonly lines: string[];
  readonly sum: string;
  readonly after: string[];
}

/** A halving tree in workgroup memory: log2(wg) barriers, and one more before red is reused (every invocation reads red[0]). */
function treeCombine(wg: number): Combine {
  return {
    lines: ['red[lid] = acc;', 'workgroupBarrier();', `for (var h = ${wg / 2}u; h > 0u; h >>= 1u) {`, '  if (lid < h) { red[lid] += red[lid + h]; }', '  workgroupBarrier();', '}'],
    sum: 'red[0]',
    after: ['workgroupBarrier();'],
  };
}

/**
 * Through subgroups, two barriers. Each subgroup sums its invocations' partials and one of its
 * invocations (subgroupElect) leaves the sum at its own index of red, the others a zero. Then
 * the subgroup of invocation 0 (subgroupAny keeps that subgroup together, which WGSL's
 * uniformity analysis cannot see) sums all of red — its k-th active lane the slots k, k + n,
 * … for n active lanes — and those across its lanes, into `whole` for every invocation.
 * Nothing depends on how the driver lays subgroups out over the workgroup or whether it fills
 * them (WGSL promises neither), and the order of additions is the same on every run of a
 * device. The next reduction writes red only after its own first barrier, when `whole` has
 * been read and red is no longer.
 */
function subgroupCombine(j: number, wg: number): Combine {
  return {
    lines: [
      `let part${j} = subgroupAdd(acc);`,
      `red[lid] = select(0.0f, part${j}, subgroupElect());`,
      'workgroupBarrier();',
      '@diagnostic(off, subgroup_uniformity) if (subgroupAny(lid == 0u)) {',
      '  let rank = subgroupExclusiveAdd(1u);',
      '  let lanes = subgroupAdd(1u);',
      '  acc = 0.0f;',
      `  for (var i = rank; i < ${wg}u; i += lanes) { acc += red[i]; }`,
      '  let w = subgroupAdd(acc);',
      '  if (lid == 0u) { whole = w; }',
      '}',
      'workgroupBarrier();',
    ],
    sum: 'whole',
    after: [],
  };
}

/** The tree form of a kernel, or null when treeReductions finds nothing to do. */
export function treeKernel(k: ExprKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel | null {
  const reductions = treeReductions(k);
  if (reductions.length === 0) return null;
  const n = k.space.reduce((a, b) => a * b, 1);
  // The partial sums live in workgroup memory, one f32 per invocation; a device too small for a tree of two keeps the point form.
  let wg = pointWorkgroup(cx.limits.maxInvocations);
  while (wg > 1 && wg * 4 > cx.limits.maxWorkgroupBytes) wg /= 2;
  if (wg < 2) return null;
  const dispatch = grid(n, cx, `kernel ${k.name} (${n} reduced elements)`, k.loc);
  const totals = new Map(reductions.map((r, j) => [r.id, `r${j}`]));
  const em = new WgslEmitter(k.values, { load: loadContext(), precision: cx.precision, replaced: totals });
  const top = newBlock(null);
  const partials = reductions.flatMap((r, j) => {
    const { blocks, unravel } = reductionBlocks(r, 'f');
    const stack = [top, ...blocks];
    const innermost = blocks[blocks.length - 1]!;
    for (const c of conjuncts(r.where)) {
      const home = em.home(c, stack);
      const at = home === top ? blocks[0]! : home;
      const text = em.gen(c, stack, at);
      at.lines.push(`if (!(${text})) { continue; }`);
    }
    const body = em.gen(r.body, stack, innermost);
    const value = wgslType(r.type, cx.precision);
    const partial = [`// ${r.fn} over ${extent(r)} points`, 'acc = 0.0f;', `for (var f = i32(lid); f < ${extent(r)}i; f += ${wg}i) {`, ...indent([...unravel, ...blocks.flatMap((b) => b.lines), `acc += f32(${body});`]), '}'];
    const c = cx.subgroups ? subgroupCombine(j, wg) : treeCombine(wg);
    const total = r.fn === 'mean' ? `${c.sum} / ${literal(extent(r), 'f64')}` : c.sum;
    return [...partial, ...c.lines, `let r${j} = ${value === 'f32' ? total : `${value}(${total})`};`, ...c.after];
  });
  const rest = newBlock(null);
  const ys = k.values.map((v) => {
    const text = em.gen(v, [rest], rest);
    const y = em.fresh('y');
    rest.lines.push(`let ${y} = ${text};`);
    return y;
  });
  const stores = k.outputs.map((id, o) => storeText(cx.buffers[id]!, 'q', ys[o]!, cx));
  const main = [
    `var<workgroup> red: array<f32, ${wg}>;`,
    ...(cx.subgroups ? ['var<workgroup> whole: f32;'] : []),
    '',
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {',
    ...indent([
      '// One workgroup per output point: p is uniform across the workgroup, so the barriers below are too.',
      `let p = wid.y * ${dispatch[0]}u + wid.x;`,
      `if (p >= ${n}u) { return; }`,
      'let q = i32(p);',
      ...unravelLines(k.vars, 'q'),
      ...top.lines,
      'var acc = 0.0f;',
      ...partials,
      'if (lid == 0u) {',
      ...indent([...rest.lines, ...stores]),
      '}',
    ]),
    '}',
  ];
  const form = `tree ${wg} x${reductions.length}${cx.subgroups ? ' subgroups' : ''}`;
  const extensions = cx.subgroups ? (['subgroups'] as const) : [];
  const source = shader(cx, spaces, form, [helperSource(em.helpers), loadFunctions(k, cx, slotTypes(k.values)), main], extensions);
  return { form, source, workgroupSize: [wg, 1, 1], dispatch, flops: kernelFlops(k), extensions };
}
