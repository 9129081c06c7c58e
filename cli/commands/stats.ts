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

import type { Command } from 'commander';
import type { Graph } from '../../compiler/ir/graph.js';
import { bytesMoved, graphFlops } from '../../compiler/kernel/cost.js';
import { alignUp, tensorBytes } from '../../compiler/kernel/target.js';
import { unfused } from '../../compiler/passes/fused.js';
import { debugOptions, runPipeline } from '../../compiler/pipeline.js';
import { positiveInt } from '../io.js';
import { loadModel } from '../load.js';
import { loadTrainingModel } from '../training.js';

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

export function formatStats(s: Stats): string {
  const lines = [
    `@${s.graph} at batch ${s.batch}${s.train ? ' (train step)' : ''}`,
    `  graph ops        ${s.graph_ops}`,
    `  kernels          ${s.kernels_unfused} before fusion, ${s.kernels} after (${((100 * s.kernels) / Math.max(1, s.graph_ops)).toFixed(1)}% of graph ops)`,
    `  flops            ${(s.flops / 1e9).toFixed(3)} G`,
    `  bytes moved      ${bytes(s.bytes_unfused)} before fusion, ${bytes(s.bytes_fused)} after (${((100 * s.bytes_fused) / Math.max(1, s.bytes_unfused)).toFixed(1)}%)`,
    `  peak memory      ${bytes(s.peak_bytes)}: ${ratio(s.peak_bytes, s.lower_bound_bytes)} the lower bound ${bytes(s.lower_bound_bytes)}, ${ratio(s.peak_bytes, s.naive_bytes)} the naive sum ${bytes(s.naive_bytes)}`,
    `                   (the fused program's buffers without reuse: ${bytes(s.fused_buffers_bytes)})`,
    `  compile          ${s.compile_ms.toFixed(1)} ms: front end ${s.front_end_ms.toFixed(1)}, ${Object.entries(s.passes_ms).map(([p, ms]) => `${p} ${ms.toFixed(1)}`).join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('report kernels, FLOPs, bytes moved, planned memory and compile time for a model')
    .argument('<file>', 'a .sinter source or a textual .ir file')
    .option('--train', 'measure the train step (forward, loss, backward, optimizer update)')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--model <name>', 'which model of the file (default: the trained one, else the last)')
    .option('--json', 'print the figures as one JSON object')
    .action(async (file: string, opts: { train?: boolean; batch: string; model?: string; json?: boolean }) => {
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
      process.stdout.write(opts.json ? `${JSON.stringify(stats)}\n` : formatStats(stats));
    });
}
