// `sinter stats`: what the middle end makes of a model: ops and kernels, FLOPs, bytes moved, planned memory, compile time.
//
// Figures (the --json keys in parentheses): graph ops (`graph_ops`, the input graph's nodes);
// kernels before fusion (`kernels_unfused`, one per node of the simplified graph) and after
// (`kernels`); FLOPs (`flops`); bytes read and written by all kernels before and after fusion
// (`bytes_unfused`, `bytes_fused`); planned peak memory (`peak_bytes`, the arena) against the
// lower bound (`lower_bound_bytes`, the most bytes the planned buffers ever have live at once),
// against the naive sum (`naive_bytes`: one buffer per value of the simplified graph, no fusion
// and no reuse), and against the fused program's own buffers summed without reuse
// (`fused_buffers_bytes`); and time (`compile_ms` from source text to kernel program, with
// `front_end_ms` and `passes_ms` per pass).
//
// Fusion is explained edge by edge: every producer → consumer pair of ops that fusion left in
// two kernels (`unfused`), with the kernels, the ops' DSL lines and fusion's recorded reason,
// classified into the fixed list of kinds in compiler/passes/fusion.ts (`unfused_by_reason`
// counts the first kind of each edge: why the producer was stored).

import type { Command } from 'commander';
import type { Graph } from '../../compiler/ir/graph.js';
import { bytesMoved, graphFlops } from '../../compiler/kernel/cost.js';
import { alignUp, tensorBytes } from '../../compiler/kernel/target.js';
import type { Fused } from '../../compiler/passes/fused.js';
import { unfused } from '../../compiler/passes/fused.js';
import type { UnfusedReasonKind } from '../../compiler/passes/fusion.js';
import { UNFUSED_REASONS, unfusedReasonKinds } from '../../compiler/passes/fusion.js';
import { valueNames } from '../../compiler/ir/print.js';
import { debugOptions, runPipeline } from '../../compiler/pipeline.js';
import { positiveInt } from '../io.js';
import { loadModel } from '../load.js';
import { loadTrainingModel } from '../training.js';

/** One end of an edge: the op, its printed value name in the fused IR, its kernel and its DSL location. */
export interface EdgeEnd {
  readonly value: string;
  readonly op: string;
  readonly kernel: string;
  readonly loc: string | null;
}

/** A producer → consumer edge left between two kernels, and why. */
export interface UnfusedEdge {
  readonly producer: EdgeEnd;
  readonly consumer: EdgeEnd;
  readonly reason: string;
  /** The kind of each refusal the reason chains; `other` for a text no kind matches. */
  readonly kinds: readonly (UnfusedReasonKind | 'other')[];
}

export interface Stats {
  readonly graph: string;
  readonly batch: number;
  readonly train: boolean;
  readonly graph_ops: number;
  readonly kernels_unfused: number;
  readonly kernels: number;
  readonly flops: number;
  readonly bytes_unfused: number;
  readonly bytes_fused: number;
  readonly peak_bytes: number;
  readonly lower_bound_bytes: number;
  readonly naive_bytes: number;
  readonly fused_buffers_bytes: number;
  readonly compile_ms: number;
  readonly front_end_ms: number;
  readonly passes_ms: Readonly<Record<string, number>>;
  readonly edges: number;
  readonly edges_fused: number;
  readonly unfused: readonly UnfusedEdge[];
  readonly unfused_by_reason: Readonly<Record<string, number>>;
}

/** The edges fusion left between kernels, with their reasons and where their ops come from. */
export function unfusedEdges(f: Fused): UnfusedEdge[] {
  const names = valueNames(f.graph);
  const nodes = new Map(f.graph.nodes.map((n) => [n.id, n]));
  const kernelOf = new Map<number, number>();
  f.kernels.forEach((members, k) => members.forEach((v) => kernelOf.set(v, k)));
  const end = (v: number): EdgeEnd => {
    const n = nodes.get(v);
    if (!n) throw new Error(`internal: fusion decision names %${v}, which is not a node of the fused graph`);
    return { value: names.get(v)!, op: n.op, kernel: `k${kernelOf.get(v)}`, loc: n.loc ? `${n.loc.file}:${n.loc.line}` : null };
  };
  return f.decisions.filter((d) => !d.fused).map((d) => ({
    producer: end(d.producer),
    consumer: end(d.consumer),
    reason: d.reason,
    kinds: unfusedReasonKinds(d.reason).map((k) => k ?? 'other'),
  }));
}

function countByReason(edges: readonly UnfusedEdge[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of edges) counts[e.kinds[0]!] = (counts[e.kinds[0]!] ?? 0) + 1;
  return counts;
}

/** Runs the whole middle end on a graph and measures it; `frontEndMs` is the time spent building the graph. */
export function measure(g: Graph, batch: number, train: boolean, frontEndMs: number): Stats {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const { state, timings } = runPipeline(g, debugOptions(process.env, log));
  const simplified = timings[0]?.pass === 'simplify' ? simplifiedGraph(g) : g;
  const fused = state.fused!;
  const plan = state.plan!;
  const passes = Object.fromEntries(timings.map((t) => [t.pass, round(t.ms)]));
  const passMs = timings.reduce((s, t) => s + t.ms, 0);
  const edges = unfusedEdges(fused);
  return {
    graph: g.name,
    batch,
    train,
    graph_ops: g.nodes.length,
    kernels_unfused: simplified.nodes.length,
    kernels: fused.kernels.length,
    flops: graphFlops(simplified),
    bytes_unfused: bytesMoved(simplified, unfused(simplified).kernels),
    bytes_fused: bytesMoved(fused.graph, fused.kernels),
    peak_bytes: plan.peakBytes,
    lower_bound_bytes: plan.lowerBoundBytes,
    naive_bytes: simplified.nodes.reduce((s, n) => s + alignUp(tensorBytes(n.type), plan.alignment), 0),
    fused_buffers_bytes: plan.naiveBytes,
    compile_ms: round(frontEndMs + passMs),
    front_end_ms: round(frontEndMs),
    passes_ms: passes,
    edges: fused.decisions.length,
    edges_fused: fused.decisions.length - edges.length,
    unfused: edges,
    unfused_by_reason: countByReason(edges),
  };
}

/** The graph the simplify stage makes (measured apart so the figures before fusion use it). */
function simplifiedGraph(g: Graph): Graph {
  return runPipeline(g, { passes: ['simplify'] }).state.graph;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

function bytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

const ratio = (a: number, b: number): string => (b === 0 ? '-' : `${(a / b).toFixed(2)}×`);

const labelOf = (kind: string): string => UNFUSED_REASONS.find((r) => r.kind === kind)?.label ?? 'other';

const endText = (e: EdgeEnd): string => `${e.kernel} ${e.value} ${e.op}${e.loc ? ` (${e.loc})` : ''}`;

/** The edges left between kernels, one per two lines: the ops, then the kinds and fusion's own words. */
export function formatUnfused(edges: readonly UnfusedEdge[], limit: number): string {
  const lines = edges.slice(0, limit).flatMap((e) => [`  ${endText(e.producer)} → ${endText(e.consumer)}`, `      [${e.kinds.join(', ')}] ${e.reason}`]);
  if (edges.length > limit) lines.push(`  … and ${edges.length - limit} more (--unfused lists them all)`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function formatStats(s: Stats, listed = 30): string {
  const lines = [
    `@${s.graph} at batch ${s.batch}${s.train ? ' (train step)' : ''}`,
    `  graph ops        ${s.graph_ops}`,
    `  kernels          ${s.kernels_unfused} before fusion, ${s.kernels} after (${((100 * s.kernels) / Math.max(1, s.graph_ops)).toFixed(1)}% of graph ops)`,
    `  flops            ${(s.flops / 1e9).toFixed(3)} G`,
    `  bytes moved      ${bytes(s.bytes_unfused)} before fusion, ${bytes(s.bytes_fused)} after (${((100 * s.bytes_fused) / Math.max(1, s.bytes_unfused)).toFixed(1)}%)`,
    `  peak memory      ${bytes(s.peak_bytes)}: ${ratio(s.peak_bytes, s.lower_bound_bytes)} the lower bound ${bytes(s.lower_bound_bytes)}, ${ratio(s.peak_bytes, s.naive_bytes)} the naive sum ${bytes(s.naive_bytes)}`,
    `                   (the fused program's buffers without reuse: ${bytes(s.fused_buffers_bytes)})`,
    `  compile          ${s.compile_ms.toFixed(1)} ms: front end ${s.front_end_ms.toFixed(1)}, ${Object.entries(s.passes_ms).map(([p, ms]) => `${p} ${ms.toFixed(1)}`).join(', ')}`,
    `  fusion           ${s.edges} edges between ops: ${s.edges_fused} fused, ${s.unfused.length} left between kernels`,
    ...Object.entries(s.unfused_by_reason)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `                   ${String(n).padStart(5)}  ${labelOf(kind)} [${kind}]`),
  ];
  const why = s.unfused.length ? `unfused edges (producer → consumer, with fusion's reason):\n${formatUnfused(s.unfused, listed)}` : '';
  return `${lines.join('\n')}\n${why}`;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('report kernels, FLOPs, bytes moved, planned memory, compile time, and why fusion left ops in separate kernels')
    .argument('<file>', 'a .sinter source or a textual .ir file')
    .option('--train', 'measure the train step (forward, loss, backward, optimizer update)')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--model <name>', 'which model of the file (default: the trained one, else the last)')
    .option('--json', 'print the figures as one JSON object')
    .option('--unfused', 'list every edge left between kernels (default: the first 30)')
    .action(async (file: string, opts: { train?: boolean; batch: string; model?: string; json?: boolean; unfused?: boolean }) => {
      const batch = positiveInt(opts.batch, '--batch');
      let graph: Graph;
      let frontEndMs: number;
      if (opts.train) {
        // Loading checks the model at batch 1 and hashes it; building the step at `batch` is the compile.
        const model = await loadTrainingModel(file, opts.model);
        const t0 = performance.now();
        graph = model.graphs.train(batch);
        frontEndMs = performance.now() - t0;
      } else {
        const t0 = performance.now();
        graph = loadModel(file, { batch, ...(opts.model ? { model: opts.model } : {}) }).graph;
        frontEndMs = performance.now() - t0;
      }
      const stats = measure(graph, batch, opts.train === true, frontEndMs);
      process.stdout.write(opts.json ? `${JSON.stringify(stats)}\n` : formatStats(stats, opts.unfused ? Infinity : 30));
    });
}
