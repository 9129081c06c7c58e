// The middle end's pass pipeline: one plain list of named stages, with per-pass timing, verification and dumps.
//
// The state flows graph → fused program → schedule → memory plan → kernel program. Every
// stage is a function of the state; the names below are the ones `--passes`, `--dump-after`,
// timings and SINTER_DEBUG refer to. Running a stage out of its usual order is allowed (the
// point of `sinter opt`): schedule and memory-plan treat an unfused graph as one kernel per
// node, and simplify or fusion on a fused graph start again from its plain graph.
//
// With `verify` (tests, SINTER_VERIFY=1) the verifier runs after every stage, together with
// the fused program's invariants and the memory plan's validator; a failure is an
// `internal:` error naming the stage, with the IR.

import type { Graph, ValueId } from './ir/graph.js';
import type { IrLayout, KernelBlock, MemoryRow } from './ir/print.js';
import { printGraph, valueNames } from './ir/print.js';
import { assertVerified } from './ir/verify.js';
import { GraphIndex, groupOutputs, lowerKernel, reductionsOf, fusionClass } from './kernel/lower-kernel.js';
import { printKernelProgram } from './kernel/print.js';
import type { KernelProgram } from './kernel/program.js';
import { buildKernelProgram } from './kernel/program.js';
import type { Storage, TargetLimits } from './kernel/target.js';
import { WEBGPU_DEFAULTS, alignUp } from './kernel/target.js';
import type { Fused } from './passes/fused.js';
import { checkFused, unfused } from './passes/fused.js';
import { fusion } from './passes/fusion.js';
import type { MemoryPlan } from './passes/memory-plan.js';
import { HALF_MIN_ELEMENTS, memoryPlan, placementsOf, validatePlan } from './passes/memory-plan.js';
import { schedule } from './passes/schedule.js';
import { simplify } from './passes/simplify.js';

export interface PipelineState {
  /** The plain graph, or the fused graph (nodes ordered kernel by kernel) once fused. */
  readonly graph: Graph;
  readonly fused: Fused | null;
  readonly plan: MemoryPlan | null;
  readonly program: KernelProgram | null;
}

export interface PipelineContext {
  readonly limits: TargetLimits;
  /** How f32 temporaries are stored (target.ts; f16 for WebGPU's half storage). */
  readonly storage: Storage;
  /** With storage f16, the smallest temporary put in the half arena (memory-plan.ts). */
  readonly halfMinElements: number;
  /** Called for every rewrite rule hit (SINTER_DEBUG=4). */
  readonly onRewrite?: (rule: string, op: string) => void;
}

export interface Stage {
  readonly name: string;
  run(s: PipelineState, cx: PipelineContext): PipelineState;
}

const fusedOf = (s: PipelineState): Fused => s.fused ?? unfused(s.graph);

/** The stages, in the order the compiler runs them. */
export const STAGES: readonly Stage[] = [
  {
    name: 'simplify',
    run: (s, cx) => initialState(simplify(s.graph, cx.onRewrite ? { onHit: (r, n) => cx.onRewrite!(r, n.op) } : {})),
  },
  {
    name: 'fusion',
    run: (s, cx) => {
      const f = fusion(s.graph, { limits: cx.limits });
      return { graph: f.graph, fused: f, plan: null, program: null };
    },
  },
  {
    name: 'schedule',
    run: (s) => {
      const f = schedule(fusedOf(s));
      return { graph: f.graph, fused: f, plan: null, program: null };
    },
  },
  {
    name: 'memory-plan',
    run: (s, cx) => {
      const f = fusedOf(s);
      return { graph: f.graph, fused: f, plan: memoryPlan(f, cx.limits, cx.storage, cx.halfMinElements), program: null };
    },
  },
  {
    name: 'lower',
    run: (s, cx) => ({ ...s, program: kernelProgramOf(s, cx.limits) }),
  },
];

export const STAGE_NAMES: readonly string[] = STAGES.map((s) => s.name);

export function initialState(graph: Graph): PipelineState {
  return { graph, fused: null, plan: null, program: null };
}

/** The kernel program of a state: its kernels (one per node before fusion) and its plan (or the naive one). */
export function kernelProgramOf(s: PipelineState, limits: TargetLimits = WEBGPU_DEFAULTS): KernelProgram {
  const f = fusedOf(s);
  return buildKernelProgram(f.graph, f.kernels, s.plan ? placementsOf(s.plan) : undefined, limits);
}

export interface PassTiming {
  readonly pass: string;
  readonly ms: number;
}

export interface PipelineOptions {
  /** Stage names to run, in this order (default: all of STAGES). */
  readonly passes?: readonly string[];
  readonly limits?: TargetLimits;
  /** How f32 temporaries are stored (default f32; f16 is for the WebGPU backend). */
  readonly storage?: Storage;
  /** With storage f16, the smallest temporary put in the half arena (default HALF_MIN_ELEMENTS, 1024). */
  readonly halfMinElements?: number;
  /** Verify after every stage. */
  readonly verify?: boolean;
  /** Called after each stage with its result and time (dumps, SINTER_DEBUG). */
  readonly after?: (stage: string, state: PipelineState, ms: number) => void;
  readonly onRewrite?: PipelineContext['onRewrite'];
}

export interface PipelineResult {
  readonly state: PipelineState;
  readonly timings: readonly PassTiming[];
}

/** Names that are not stages, for a usage error. */
export function unknownStages(names: readonly string[]): string[] {
  return names.filter((n) => !STAGE_NAMES.includes(n));
}

export function runPipeline(start: Graph | PipelineState, options: PipelineOptions = {}): PipelineResult {
  const names = options.passes ?? STAGE_NAMES;
  const bad = unknownStages(names);
  if (bad.length > 0) throw new Error(`internal: unknown pipeline stage '${bad[0]}' (stages: ${STAGE_NAMES.join(', ')})`);
  const cx: PipelineContext = { limits: options.limits ?? WEBGPU_DEFAULTS, storage: options.storage ?? 'f32', halfMinElements: options.halfMinElements ?? HALF_MIN_ELEMENTS, ...(options.onRewrite ? { onRewrite: options.onRewrite } : {}) };
  let state = 'nodes' in start ? initialState(start) : start;
  const timings: PassTiming[] = [];
  for (const name of names) {
    const stage = STAGES.find((s) => s.name === name)!;
    const t0 = performance.now();
    state = stage.run(state, cx);
    const ms = performance.now() - t0;
    timings.push({ pass: name, ms });
    if (options.verify) verifyState(state, name);
    options.after?.(name, state, ms);
  }
  return { state, timings };
}

/** Throws an `internal:` error naming the stage when the state breaks an invariant. */
export function verifyState(s: PipelineState, after: string): void {
  assertVerified(s.graph, after);
  const problems = [...(s.fused ? checkFused(s.fused) : []), ...(s.fused && s.plan ? validatePlan(s.fused, s.plan) : [])];
  if (problems.length > 0) throw new Error(`internal: invariants broken after ${after}: ${problems.join('; ')}\n${printState(s)}`);
}

/** A short derived description of each kernel, printed as a comment on its line. */
function kernelNote(ix: GraphIndex, members: readonly ValueId[], names: ReadonlyMap<ValueId, string>): string {
  const set = new Set(members);
  const stores = groupOutputs(ix, set).map((v) => names.get(v)).join(', ');
  const first = ix.defs.get(members[0]!)!;
  if (fusionClass(first.op) === 'opaque') return `op ${first.op}; stores ${stores}`;
  const contraction = members.map((v) => ix.defs.get(v)!).find((n) => fusionClass(n.op) === 'contraction');
  const kind = contraction ? `contraction ${contraction.op}` : reductionsOf(lowerKernel(ix, set)).length > 0 ? 'reduction' : 'elementwise';
  return `${kind}; stores ${stores}`;
}

/** The textual IR of a state: the graph, its kernel blocks once fused, and its memory table once planned. */
export function printState(s: PipelineState): string {
  if (!s.fused) return printGraph(s.graph);
  const ix = new GraphIndex(s.fused.graph);
  const names = valueNames(s.fused.graph);
  const kernels: KernelBlock[] = s.fused.kernels.map((members, k) => ({ name: `k${k}`, nodes: members, note: kernelNote(ix, members, names) }));
  const layout: IrLayout = s.plan ? { kernels, memory: s.plan.rows } : { kernels };
  return printGraph(s.fused.graph, layout);
}

/** What a dump after one stage prints: the IR, or for `lower` the kernel program listing. */
export function dumpText(stage: string, s: PipelineState, ms: number): string {
  const body = stage === 'lower' && s.program ? printKernelProgram(s.program, valueNames(s.graph)) : printState(s);
  const plan = stage === 'memory-plan' && s.plan ? `// peak ${s.plan.peakBytes} bytes${s.plan.halfPeakBytes > 0 ? ` + ${s.plan.halfPeakBytes} in the half arena` : ''}, lower bound ${s.plan.lowerBoundBytes}, naive ${s.plan.naiveBytes}\n` : '';
  return `// ---- after ${stage} (${ms.toFixed(2)} ms) ----\n${plan}${body}`;
}

/** The environment variables the pipeline reads (SINTER_DEBUG, SINTER_VERIFY), as the CLI passes them. */
export type DebugEnv = Readonly<Record<string, string | undefined>>;

/**
 * Pipeline options from the debug ladder: SINTER_VERIFY=1 verifies after every stage;
 * SINTER_DEBUG=1 logs each stage's time, 2 also the kernel program, 3 also the IR after every
 * stage, 4 also every rewrite-rule hit. `log` receives whole lines (the CLI writes them to stderr).
 */
export function debugOptions(env: DebugEnv, log: (line: string) => void): Pick<PipelineOptions, 'verify' | 'after' | 'onRewrite'> {
  const level = Number(env['SINTER_DEBUG'] ?? 0) || 0;
  const verify = env['SINTER_VERIFY'] === '1';
  const after = (stage: string, state: PipelineState, ms: number): void => {
    log(`sinter: ${stage} ${ms.toFixed(2)} ms`);
    if (level >= 3 || (level >= 2 && stage === 'lower')) log(dumpText(stage, state, ms).trimEnd());
  };
  return {
    verify,
    ...(level >= 1 ? { after } : {}),
    ...(level >= 4 ? { onRewrite: (rule: string, op: string) => log(`sinter: rewrite ${rule} at ${op}`) } : {}),
  };
}

/**
 * The `--dump-after NAME|all` helper: the stages a spec names (comma-separated names, or
 * `all`), or the unknown names it has. The CLI prints `dumpText` after each of them.
 */
export function parseDumpAfter(spec: string): { stages: ReadonlySet<string> } | { unknown: string[] } {
  const names = spec === 'all' ? STAGE_NAMES : spec.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = unknownStages(names);
  return bad.length > 0 ? { unknown: bad } : { stages: new Set(names) };
}

/**
 * `sinter ir --dump-after`: runs the whole pipeline on a graph and writes `dumpText` after
 * each stage in `stages` (from parseDumpAfter); other options (debug ladder) pass through.
 */
export function runWithDumps(graph: Graph, stages: ReadonlySet<string>, write: (text: string) => void, options: PipelineOptions = {}): PipelineResult {
  return runPipeline(graph, {
    ...options,
    after: (stage, state, ms) => {
      options.after?.(stage, state, ms);
      if (stages.has(stage)) write(dumpText(stage, state, ms));
    },
  });
}

/**
 * A state read back from text: a graph, fused when the text has kernel blocks and planned
 * when it has a memory table. Returns the problems instead when the layout breaks the fused
 * program's invariants or the plan does not validate (the text came from a person).
 */
export function stateFromText(graph: Graph, layout: IrLayout, limits: TargetLimits = WEBGPU_DEFAULTS): { state: PipelineState } | { problems: string[] } {
  // A graph without nodes has no kernel blocks to show that it is fused; its (empty) memory table does.
  const kernels = layout.kernels ?? (graph.nodes.length === 0 && layout.memory ? [] : null);
  if (!kernels) {
    return layout.memory ? { problems: ['a memory table needs kernel blocks (a fused graph)'] } : { state: initialState(graph) };
  }
  const fused: Fused = { graph, kernels: kernels.map((k) => [...k.nodes]), decisions: [] };
  const problems = checkFused(fused);
  if (problems.length > 0) return { problems };
  if (!layout.memory) return { state: { graph, fused, plan: null, program: null } };
  const rows = layout.memory;
  const top = (at: (r: MemoryRow) => number | undefined): number => rows.reduce((m, r) => (at(r) === undefined ? m : Math.max(m, at(r)! + alignUp(r.bytes, limits.offsetAlignment))), 0);
  const peakBytes = top((r) => ('offset' in r.at ? r.at.offset : undefined));
  const halfPeakBytes = top((r) => ('half' in r.at ? r.at.half : undefined));
  const plan: MemoryPlan = { rows, alignment: limits.offsetAlignment, peakBytes, halfPeakBytes, naiveBytes: 0, lowerBoundBytes: 0 };
  const bad = validatePlan(fused, plan);
  if (bad.length > 0) return { problems: bad };
  // The half rows' smallest size stands for the planner's threshold: it puts the same values there.
  const halves = rows.filter((r) => 'half' in r.at).map((r) => r.bytes / 2);
  const recomputed = halves.length > 0 ? memoryPlan(fused, limits, 'f16', Math.min(...halves)) : memoryPlan(fused, limits);
  return { state: { graph, fused, plan: { ...plan, naiveBytes: recomputed.naiveBytes, lowerBoundBytes: recomputed.lowerBoundBytes }, program: null } };
}
