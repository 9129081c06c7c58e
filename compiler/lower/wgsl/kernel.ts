// Point kernels (one invocation per element of the index space) and op kernels as WGSL, with the pieces every shader shares.
//
// A point kernel computes every output at its point, then stores them, so an output written
// over an input read at that same point (the memory planner's in-place reuse) reads the old
// value. Reductions inside it are loops in the invocation; a 2-D grid of workgroups covers
// index spaces of more than 65,535 workgroups. The only op kernel is random_uniform
// (a counter-based hash, computed per element exactly as compiler/ir/random.ts does).

import type { EType, Expr } from '../../kernel/expr.js';
import type { ExprKernel, OpKernel } from '../../kernel/program.js';
import { kernelFlops } from '../cpu/kernel.js';
import type { Block, EmitContext } from './emit.js';
import { WgslEmitter, helperSource, indent, newBlock, wgslType } from './emit.js';
import type { KernelContext, WgslBuffer, WgslKernel } from './lower.js';
import { WgslLimitError } from './limits.js';

/** What a kernel generator returns; lower.ts adds the rest of the WgslKernel. `extensions`: the features beyond the precision's that its shader enables. */
export type MadeKernel = Pick<WgslKernel, 'form' | 'source' | 'workgroupSize' | 'dispatch' | 'flops'> & { readonly extensions?: readonly 'subgroups'[] };

/** Whether a kernel's shader needs `enable f16;`: f16 arithmetic, or a binding of the half arena. */
export function usesF16(cx: KernelContext, spaces: readonly number[]): boolean {
  return cx.precision === 'f16' || (cx.halfSpace !== null && spaces.includes(cx.halfSpace));
}

export function bindingLines(spaces: readonly number[], cx: KernelContext): string[] {
  return spaces.map((s, i) => `@group(0) @binding(${i}) var<storage, read_write> m${s}: array<${s === cx.halfSpace ? 'f16' : 'u32'}>;`);
}

function element(b: WgslBuffer, index: string): string {
  return `m${b.space}[${b.word === 0 ? '' : `${b.word}u + `}u32(${index})]`;
}

/** A stored element as a value of an expression type: u32 words bitcast (floats converted where the precision is f16), half-arena elements converted from f16. */
function fromStored(b: WgslBuffer, stored: string, t: EType, cx: KernelContext): string {
  if (b.space === cx.halfSpace) return `${wgslType(t, cx.precision)}(${stored})`;
  if (t === 'bool') return `(${stored} != 0u)`;
  if (t === 'i32') return `bitcast<i32>(${stored})`;
  return wgslType(t, cx.precision) === 'f16' ? `f16(bitcast<f32>(${stored}))` : `bitcast<f32>(${stored})`;
}

/** The load function of each input slot: `ld<slot>(i)` reads element i of the slot's buffer. */
export function loadFunctions(k: ExprKernel, cx: KernelContext, slotTypes: ReadonlyMap<number, EType>): string[] {
  return k.inputs.map((id, slot) => {
    const b = cx.buffers[id]!;
    const t = slotTypes.get(slot) ?? (b.type.dtype === 'f32' ? 'f32' : b.type.dtype);
    return `fn ld${slot}(i: i32) -> ${wgslType(t, cx.precision)} { return ${fromStored(b, element(b, 'i'), t, cx)}; }`;
  });
}

/** The statement storing `value` (of the buffer's dtype, in the precision's float) at element `index` of a buffer. */
export function storeText(b: WgslBuffer, index: string, value: string, cx: KernelContext): string {
  const fp = cx.precision;
  const stored = b.space === cx.halfSpace ? `f16(${value})` : b.type.dtype === 'bool' ? `select(0u, 1u, ${value})` : b.type.dtype === 'f32' && fp === 'f16' ? `bitcast<u32>(f32(${value}))` : `bitcast<u32>(${value})`;
  return `${element(b, index)} = ${stored};`;
}

/** The expression type each load slot is read as (a slot is read with one type). */
export function slotTypes(values: readonly Expr[]): Map<number, EType> {
  const types = new Map<number, EType>();
  const seen = new Set<number>();
  const stack = [...values];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (e.kind === 'load') types.set(e.slot, e.type);
    if (e.kind === 'load') stack.push(e.offset);
    else if (e.kind === 'unary' || e.kind === 'cast') stack.push(e.x);
    else if (e.kind === 'binary') stack.push(e.a, e.b);
    else if (e.kind === 'select') stack.push(e.cond, e.a, e.b);
    else if (e.kind === 'reduce') stack.push(e.body, ...(e.where ? [e.where] : []), ...(e.init ? [e.init] : []));
  }
  return types;
}

export function loadContext(): EmitContext['load'] {
  return (slot, index) => `ld${slot}(${index})`;
}

/** The workgroup size of point kernels: 256, or the largest power of two the invocation limit allows. */
export function pointWorkgroup(maxInvocations: number): number {
  let wg = 1;
  while (wg * 2 <= Math.min(256, maxInvocations)) wg *= 2;
  return wg;
}

/** A grid of `groups` workgroups: one row, or rows of the per-dimension maximum. */
export function grid(groups: number, cx: KernelContext, what: string, loc: ExprKernel['loc']): [number, number, number] {
  const max = cx.limits.maxWorkgroupsPerDim;
  if (groups <= max) return [groups, 1, 1];
  const rows = Math.ceil(groups / max);
  if (rows > max) throw new WgslLimitError('maxComputeWorkgroupsPerDimension', max, rows, loc, what, 'use a smaller batch or split the layer');
  return [max, rows, 1];
}

/** Lines that define the index variables of a point from its flat index `q` (row-major). */
export function unravelLines(vars: readonly { id: number; extent: number }[], q: string): string[] {
  let stride = vars.reduce((n, v) => n * v.extent, 1);
  return vars.map((v, a) => {
    stride /= v.extent;
    const div = stride === 1 ? q : `(${q} / ${stride}i)`;
    return `let v${v.id} = ${a === 0 ? div : `${div} % ${v.extent}i`};`;
  });
}

export function shader(cx: KernelContext, spaces: readonly number[], form: string, parts: readonly string[][], extensions: readonly 'subgroups'[] = []): string {
  const enable = [...(usesF16(cx, spaces) ? ['enable f16;'] : []), ...extensions.map((e) => `enable ${e};`)];
  return [...cx.header, `// form: ${form}`, ...enable, '', ...bindingLines(spaces, cx), '', ...parts.flatMap((p) => (p.length > 0 ? [...p, ''] : []))].join('\n');
}

export function pointKernel(k: ExprKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel {
  const n = k.space.reduce((a, b) => a * b, 1);
  const wg = pointWorkgroup(cx.limits.maxInvocations);
  const dispatch = grid(Math.ceil(n / wg), cx, `kernel ${k.name} (${n} elements)`, k.loc);
  const em = new WgslEmitter(k.values, { load: loadContext(), precision: cx.precision });
  const top: Block = newBlock(null);
  const ys = k.values.map((v) => {
    const text = em.gen(v, [top], top);
    const y = em.fresh('y');
    top.lines.push(`let ${y} = ${text};`);
    return y;
  });
  const stores = k.outputs.map((id, o) => storeText(cx.buffers[id]!, 'q', ys[o]!, cx));
  const main = [
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {',
    ...indent([
      `let p = (wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid;`,
      `if (p >= ${n}u) { return; }`,
      'let q = i32(p);',
      ...unravelLines(k.vars, 'q'),
      ...top.lines,
      ...stores,
    ]),
    '}',
  ];
  const form = 'point';
  const source = shader(cx, spaces, form, [helperSource(em.helpers), loadFunctions(k, cx, slotTypes(k.values)), main]);
  return { form, source, workgroupSize: [wg, 1, 1], dispatch, flops: kernelFlops(k) };
}

/** Op kernels: ops with no expression lowering, written by hand. */
export function opKernel(k: OpKernel, cx: KernelContext, spaces: readonly number[]): MadeKernel {
  if (k.op !== 'random_uniform') throw new Error(`internal: op '${k.op}' has no WGSL kernel`);
  const key = cx.buffers[k.inputs[0]!]!;
  const out = cx.buffers[k.outputs[0]!]!;
  const n = out.type.shape.reduce((a, b) => a * b, 1);
  const wg = pointWorkgroup(cx.limits.maxInvocations);
  const dispatch = grid(Math.ceil(n / wg), cx, `kernel ${k.name} (${n} elements)`, k.loc);
  const salt = ((k.attrs['salt'] as number) + 0x85ebca77) >>> 0;
  const lines = [
    '// MurmurHash3\'s 32-bit finalizer (compiler/ir/random.ts).',
    'fn fmix(x: u32) -> u32 {',
    '  var h = x;',
    '  h = (h ^ (h >> 16u)) * 0x85ebca6bu;',
    '  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;',
    '  return h ^ (h >> 16u);',
    '}',
    '',
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {',
    `  let p = (wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid;`,
    `  if (p >= ${n}u) { return; }`,
    `  let key = ${element(key, '0')};`,
    `  let h = fmix(fmix((key * 0x9e3779b1u) ^ fmix(${salt}u)) ^ (p * 0xc2b2ae3du));`,
    `  ${storeText(out, 'p', 'f32(h >> 8u) / 16777216.0f', { ...cx, precision: 'f32' })}`,
    '}',
  ];
  return { form: 'op random_uniform', source: shader(cx, spaces, 'op random_uniform', [lines]), workgroupSize: [wg, 1, 1], dispatch, flops: 0 };
}
