// Checking a backend kernel by kernel: each kernel's outputs against the reference semantics of the graph nodes it fuses, on the very inputs it read.
//
// What a backend exposes is small (`CheckableSession`): the kernel program it runs, one step
// run with a callback around each kernel, and reading a buffer. Before kernel i runs, its
// input buffers are read (an output planned over a dead input may overwrite them); after, its
// outputs. The reference is the reference interpreter run on the kernel's nodes alone, fed
// those inputs, so each kernel is judged on its own: an error upstream cannot make a correct
// kernel look wrong, and the first kernel that disagrees is the one to blame.
//
// Tolerance (DESIGN.md, Tolerances) is the loosest op class among the kernel's nodes:
// exact 0; elementwise rtol 1e-5, atol 1e-6; transcendental rtol 1e-4, atol 1e-5; reductions
// and contractions over K terms rtol 1e-4, atol 1e-5·√K. Atol is in units of the kernel's
// largest input magnitude (at least 1): a fused kernel keeps intermediates in float64 where
// the reference rounds each op to float32, so rounding differences scale with the data.
// Some kernels amplify rounding beyond any fixed tolerance: Adam's first update divides a
// gradient by its own magnitude, so where a gradient is near zero its last bits (which a
// backend's summation order decides) decide the step. So each kernel's sensitivity is
// measured: the reference is run again on inputs perturbed by 64 float32 ulps (relative
// 2^-18, random signs, seeded), and an element may also differ by 4× how far that moved it.
// A kernel is asked to be as exact as its data lets float32 arithmetic be; a wrong kernel
// (a wrong index, op or constant) is off by far more, and on most elements. Outputs a
// backend stores as f16 (WebGPU's storage 'f16', the kernel program's half-arena buffers)
// are compared with the reference rounded to f16, one f16 ulp more allowed (halfTolerance).
// f16 arithmetic (precision 'f16') is not checkable at these tolerances; the CLI refuses it.

import type { Graph, GraphInput, Node, ValueId } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { ToleranceClass } from '../../compiler/ir/ops/op.js';
import { rngFor } from '../../compiler/ir/random.js';
import { opDef } from '../../compiler/ir/ops/registry.js';
import { valueNames } from '../../compiler/ir/print.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { numel } from '../../compiler/ir/types.js';
import { topoOrder } from '../../compiler/kernel/expr.js';
import { roundToHalf } from '../../compiler/kernel/half.js';
import type { Kernel, KernelProgram } from '../../compiler/kernel/program.js';

/** The kernel program a session runs, and the (fused) graph whose node ids its kernels name. */
export interface KernelSource {
  readonly program: KernelProgram;
  readonly graph: Graph;
}

/** Called in place of running kernel i; `runKernel` runs it. */
export type KernelAround = (i: number, runKernel: () => void | Promise<void>) => void | Promise<void>;

/** What a backend's session offers so that `--check` can step through its kernels. */
export interface CheckableSession {
  readonly kernelSource: KernelSource | null;
  /** One step like `run`, calling `around` for every kernel in order. */
  runKernels(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[], around: KernelAround): Promise<Map<string, Tensor>>;
  /** A copy of a buffer (by the kernel program's buffer id) as it is now. */
  readBuffer(id: number): Tensor | Promise<Tensor>;
}

export function isCheckable(s: object): s is CheckableSession {
  return 'runKernels' in s && 'readBuffer' in s && 'kernelSource' in s && (s as CheckableSession).kernelSource !== null;
}

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** How one kernel compared. */
export interface KernelComparison {
  readonly kernel: string;
  /** The fused graph nodes, as `%name op` (names as `sinter ir --dump-after lower` prints them). */
  readonly nodes: readonly string[];
  /** `file:line` of the kernel's first located node, or null. */
  readonly loc: string | null;
  readonly maxAbsErr: number;
  readonly maxRelErr: number;
  readonly tolerance: Tolerance;
  /** The worst element (largest excess over the tolerance): output index, flat element index, values. */
  readonly worst: { readonly output: number; readonly index: number; readonly got: number; readonly want: number } | null;
  readonly ok: boolean;
}

const CLASS_ORDER: readonly ToleranceClass[] = ['exact', 'elementwise', 'transcendental', 'reduction'];

const BASE: Readonly<Record<ToleranceClass, Tolerance>> = {
  exact: { rtol: 0, atol: 0 },
  elementwise: { rtol: 1e-5, atol: 1e-6 },
  transcendental: { rtol: 1e-4, atol: 1e-5 },
  reduction: { rtol: 1e-4, atol: 1e-5 },
};

/** Terms summed per output element: the largest reduction of an expression kernel; for an op kernel, its input over its output size. */
function reductionTerms(k: Kernel, p: KernelProgram): number {
  if (k.kind === 'op') {
    const out = numel(p.buffers[k.outputs[0]!]!.type.shape);
    return Math.max(1, ...k.inputs.map((b) => Math.ceil(numel(p.buffers[b]!.type.shape) / Math.max(1, out))));
  }
  let terms = 1;
  for (const e of topoOrder(k.values)) if (e.kind === 'reduce') terms = Math.max(terms, e.vars.reduce((n, v) => n * v.extent, 1));
  return terms;
}

/** The kernel's tolerance: its loosest op class, atol scaled by the input magnitude (and √K for reductions). */
export function kernelTolerance(k: Kernel, p: KernelProgram, nodes: readonly Node[], maxAbsInput: number): Tolerance {
  const cls = nodes.map((n) => opDef(n.op).tolerance).reduce((a, b) => (CLASS_ORDER.indexOf(b) > CLASS_ORDER.indexOf(a) ? b : a), 'exact' as ToleranceClass);
  const base = BASE[cls];
  const scale = Math.max(1, maxAbsInput) * (cls === 'reduction' ? Math.sqrt(reductionTerms(k, p)) : 1);
  return { rtol: base.rtol, atol: base.atol * scale };
}

/**
 * A kernel's tolerance when some output is stored as f16: one f16 ulp more (2^-10 relative,
 * 2^-24 absolute where f16 is subnormal). WGSL may round f32 → f16 to either neighbour, and a
 * float32 rounding difference before the store can cross an f16 rounding boundary.
 */
export function halfTolerance(t: Tolerance, half: boolean): Tolerance {
  return half ? { rtol: t.rtol + 2 ** -10, atol: t.atol + 2 ** -24 } : t;
}

/**
 * The graph of one kernel: its nodes, fed by the values it reads (constants it reads without
 * a buffer are copied in), returning the values it stores under the names `b<buffer id>`.
 */
export function kernelGraph(src: KernelSource, k: Kernel): { graph: Graph; inputs: readonly { name: string; buffer: number }[] } {
  const defs = new Map(src.graph.nodes.map((n) => [n.id, n]));
  const bufferOf = new Map<ValueId, number>(src.program.buffers.map((b) => [b.value, b.id]));
  const members = new Set(k.nodes);
  const nodes: Node[] = [];
  const inputs: GraphInput[] = [];
  const feeds: { name: string; buffer: number }[] = [];
  const seen = new Set<ValueId>();
  const need = (v: ValueId): void => {
    if (members.has(v) || seen.has(v)) return;
    seen.add(v);
    const b = bufferOf.get(v);
    const def = defs.get(v);
    if (b !== undefined && k.inputs.includes(b)) {
      inputs.push({ id: v, name: `b${b}`, type: src.program.buffers[b]!.type });
      feeds.push({ name: `b${b}`, buffer: b });
    } else if (def && def.op === 'constant') {
      nodes.push(def);
    } else throw new Error(`internal: kernel ${k.name} reads %${v}, which is neither one of its input buffers nor a constant`);
  };
  for (const v of k.nodes) {
    const n = defs.get(v);
    if (!n) throw new Error(`internal: kernel ${k.name} names %${v}, which is not a node of its graph`);
    n.inputs.forEach(need);
  }
  for (const v of k.nodes) nodes.push(defs.get(v)!);
  const outputs = k.outputs.map((b) => ({ name: `b${b}`, value: src.program.buffers[b]!.value }));
  return { graph: { name: `${src.program.name}.${k.name}`, inputs, params: [], nodes, outputs }, inputs: feeds };
}

/** How far the reference moves under input perturbation, times this, is also allowed. */
const SENSITIVITY_FACTOR = 4;
/** The relative size of the perturbation: 64 float32 ulps. */
const PERTURBATION = 2 ** -18;

/** The f32 inputs scaled by 1 ± 2^-18 element by element (signs from a seed per kernel); other inputs as they are. */
function perturb(feeds: ReadonlyMap<string, Tensor>, kernel: string): Map<string, Tensor> {
  const rng = rngFor(0, `check:${kernel}`);
  return new Map(
    [...feeds].map(([name, t]) => {
      if (t.type.dtype !== 'f32') return [name, t];
      const data = Float32Array.from(t.data, (x) => x * (1 + (rng.nextFloat() < 0.5 ? -PERTURBATION : PERTURBATION)));
      return [name, { type: t.type, data }];
    }),
  );
}

function maxAbs(ts: readonly Tensor[]): number {
  let m = 0;
  for (const t of ts) {
    if (t.type.dtype !== 'f32') continue;
    for (let i = 0; i < t.data.length; i++) {
      const a = Math.abs(t.data[i]!);
      if (a > m && Number.isFinite(a)) m = a;
    }
  }
  return m;
}

/**
 * Compares outputs element by element: |got − want| ≤ atol + rtol·|want| (+ 4·|perturbed − want|
 * given the reference on perturbed inputs), NaN agreeing with NaN and infinities with themselves. The relative error counts only elements whose reference is
 * above `relFloor` (the check passes atol/rtol: where the tolerance's relative term dominates;
 * nearer zero the absolute error is the one that speaks).
 */
export function compareOutputs(got: readonly Tensor[], want: readonly Tensor[], tol: Tolerance, relFloor = 0, perturbed?: readonly Tensor[]): Pick<KernelComparison, 'maxAbsErr' | 'maxRelErr' | 'worst' | 'ok'> {
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let worst: KernelComparison['worst'] = null;
  let worstExcess = 0;
  got.forEach((g, o) => {
    const w = want[o]!;
    const moved = perturbed?.[o]?.data;
    for (let i = 0; i < w.data.length; i++) {
      const a = g.data[i]!;
      const b = w.data[i]!;
      if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const err = Number.isFinite(a) && Number.isFinite(b) ? Math.abs(a - b) : Infinity;
      maxAbsErr = Math.max(maxAbsErr, err);
      if (Math.abs(b) > relFloor || err === Infinity) maxRelErr = Math.max(maxRelErr, err / Math.abs(b));
      const sensitivity = moved && Number.isFinite(moved[i]!) && Number.isFinite(b) ? SENSITIVITY_FACTOR * Math.abs(moved[i]! - b) : 0;
      const excess = err - (tol.atol + tol.rtol * Math.abs(b) + sensitivity);
      if (excess > 0 && (worst === null || excess > worstExcess)) {
        worst = { output: o, index: i, got: a, want: b };
        worstExcess = excess;
      }
    }
  });
  return { maxAbsErr, maxRelErr, worst, ok: worst === null };
}

/** Runs one step through `session` kernel by kernel, comparing each kernel with the reference; returns every kernel's comparison. */
export async function checkStep(session: CheckableSession, inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Promise<{ outputs: Map<string, Tensor>; kernels: KernelComparison[] }> {
  const src = session.kernelSource;
  if (!src) throw new Error('internal: checkStep on a session without its kernel program');
  const defs = new Map(src.graph.nodes.map((n) => [n.id, n]));
  const names = valueNames(src.graph);
  const results: KernelComparison[] = [];
  const outputs = await session.runKernels(inputs, fetch, async (i, runKernel) => {
    const k = src.program.kernels[i];
    if (!k) throw new Error(`internal: the session runs kernel ${i}, which its kernel program lacks`);
    const { graph, inputs: feeds } = kernelGraph(src, k);
    const seen = new Map<string, Tensor>();
    for (const f of feeds) seen.set(f.name, await session.readBuffer(f.buffer));
    await runKernel();
    const got = await Promise.all(k.outputs.map((b) => session.readBuffer(b)));
    const ref = interpret(graph, { inputs: seen, params: new Map() }).outputs;
    const moved = interpret(graph, { inputs: perturb(seen, k.name), params: new Map() }).outputs;
    // Outputs stored as f16 (storage 'f16'): the reference rounded as the store rounds it.
    const half = k.outputs.map((b) => src.program.buffers[b]!.placement.kind === 'half-arena');
    const stored = (t: Tensor, o: number): Tensor => (half[o] ? { type: t.type, data: Float32Array.from(t.data, roundToHalf) } : t);
    const want = k.outputs.map((b, o) => stored(ref.get(`b${b}`)!, o));
    const perturbed = k.outputs.map((b, o) => stored(moved.get(`b${b}`)!, o));
    const nodes = k.nodes.map((v) => defs.get(v)!);
    const scale = maxAbs([...seen.values()]);
    const tolerance = halfTolerance(kernelTolerance(k, src.program, nodes, scale), half.some((h) => h));
    results.push({
      kernel: k.name,
      nodes: nodes.map((n) => `${names.get(n.id)} ${n.op}`),
      loc: k.loc ? `${k.loc.file}:${k.loc.line}` : null,
      tolerance,
      ...compareOutputs(got, want, tolerance, tolerance.rtol > 0 ? tolerance.atol / tolerance.rtol : 0, perturbed),
    });
  });
  return { outputs, kernels: results };
}
