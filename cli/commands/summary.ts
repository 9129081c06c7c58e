// `sinter summary`: a Keras-style table of a model's layers (name, kind, output shape, parameters) with totals from the IR.
//
// Rows are the layers the model body applies itself, as the elaborator records them; a
// layer's parameters are the graph parameters under its instance path (`dense_1.w`,
// `block_1.attention_1.wq`), so nested layers count toward the layer that holds them. A
// layer applied several times (a recurrent cell bound once) is one row. Parameters under no
// row (declared in the model body) get a row of their own, so the rows always add up to the
// totals, which are sums over the graph's parameters. A textual .ir file has no layers:
// its rows group parameters by the first part of their names.

import type { Command } from 'commander';
import type { Graph, GraphParam } from '../../compiler/ir/graph.js';
import { formatShape, numel } from '../../compiler/ir/types.js';
import type { Shape } from '../../compiler/ir/types.js';
import type { LayerDecl } from '../../dsl/ast.js';
import type { TopLevelApplication } from '../../dsl/elaborate/elaborator.js';
import { Elaborator, snakeCase } from '../../dsl/elaborate/elaborator.js';
import { positiveInt } from '../io.js';
import { loadModel } from '../load.js';

export interface SummaryRow {
  /** The instance name as parameter names use it (`conv2d_1`), or a made-up one for layers without parameters (`relu_1`). */
  readonly layer: string;
  readonly kind: string;
  readonly output: Shape | null;
  readonly params: number;
  readonly trainable: number;
  /** The DSL line of the (first) application, where there is a source. */
  readonly line: number | null;
}

export interface Summary {
  readonly model: string;
  readonly batch: number;
  readonly rows: readonly SummaryRow[];
  readonly total: number;
  readonly trainable: number;
  readonly non_trainable: number;
  /** Bytes of all parameters as float32. */
  readonly bytes: number;
}

const size = (p: GraphParam): number => numel(p.type.shape);

/** Whether a parameter belongs to the instance at `path`. */
const under = (p: GraphParam, path: string): boolean => p.name === path || p.name.startsWith(`${path}.`);

/** One row per application (merging repeats of an instance), named as the IR names parameters. */
function rowsOf(apps: readonly TopLevelApplication[], params: readonly GraphParam[]): { rows: SummaryRow[]; covered: Set<string> } {
  const rows: SummaryRow[] = [];
  const covered = new Set<string>();
  const byInstance = new Map<string, number>();
  const counters = new Map<string, number>();
  for (const a of apps) {
    if (a.instance !== null && byInstance.has(a.instance)) {
      const i = byInstance.get(a.instance)!;
      rows[i] = { ...rows[i]!, output: a.output?.shape ?? rows[i]!.output };
      continue;
    }
    let layer = a.instance;
    if (layer === null) {
      const base = snakeCase(a.kind);
      const k = (counters.get(base) ?? 0) + 1;
      counters.set(base, k);
      layer = `${base}_${k}`;
    } else byInstance.set(layer, rows.length);
    const own = a.instance === null ? [] : params.filter((p) => under(p, a.instance!));
    for (const p of own) covered.add(p.name);
    rows.push({
      layer,
      kind: a.kind,
      output: a.output?.shape ?? null,
      params: own.reduce((s, p) => s + size(p), 0),
      trainable: own.filter((p) => p.trainable).reduce((s, p) => s + size(p), 0),
      line: a.span.start.line,
    });
  }
  return { rows, covered };
}

/** Rows for parameters no layer row holds, grouped by the first part of their names. */
function rowsByPrefix(params: readonly GraphParam[], kind: string): SummaryRow[] {
  const groups = new Map<string, GraphParam[]>();
  for (const p of params) {
    const head = p.name.split('.')[0]!;
    groups.set(head, [...(groups.get(head) ?? []), p]);
  }
  return [...groups].map(([layer, ps]) => ({
    layer,
    kind,
    output: null,
    params: ps.reduce((s, p) => s + size(p), 0),
    trainable: ps.filter((p) => p.trainable).reduce((s, p) => s + size(p), 0),
    line: null,
  }));
}

/** The summary of a graph and the top-level applications that built it (none for a .ir file). */
export function summarize(graph: Graph, batch: number, apps: readonly TopLevelApplication[] | null): Summary {
  const { rows, covered } = apps ? rowsOf(apps, graph.params) : { rows: [], covered: new Set<string>() };
  rows.push(...rowsByPrefix(graph.params.filter((p) => !covered.has(p.name)), apps ? 'param' : 'params'));
  const total = graph.params.reduce((s, p) => s + size(p), 0);
  const trainable = graph.params.filter((p) => p.trainable).reduce((s, p) => s + size(p), 0);
  return { model: graph.name, batch, rows, total, trainable, non_trainable: total - trainable, bytes: 4 * total };
}

/** Loads a model and summarizes it; a .sinter file is elaborated once more to learn its layers. */
export function summaryOfFile(file: string, batch: number, model?: string): Summary {
  const { graph, front } = loadModel(file, { batch, ...(model !== undefined ? { model } : {}) });
  if (!front || !front.model) return summarize(graph, batch, null);
  const layers = new Map<string, LayerDecl>();
  for (const item of front.program.items) if (item.kind === 'layer') layers.set(item.name.name, item);
  const elab = new Elaborator(layers, front.model);
  elab.run({ batch });
  return summarize(graph, batch, elab.applications);
}

const thousands = (n: number): string => n.toLocaleString('en-US');

function bytesText(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(2)} KB`;
}

export function formatSummary(s: Summary, file: string): string {
  const cells = s.rows.map((r) => [`${r.layer} (${r.kind})`, r.output ? formatShape(r.output) : '-', thousands(r.params), r.line === null ? '' : String(r.line)]);
  const head = ['Layer (type)', 'Output shape', 'Param #', 'Line'];
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string => row.map((x, c) => (c === 2 ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join('   ').trimEnd();
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [
    `Model: ${s.model} (${file}, batch ${s.batch})`,
    rule,
    line(head),
    rule,
    ...cells.map(line),
    rule,
    `Total params: ${thousands(s.total)} (${bytesText(s.bytes)})`,
    `Trainable params: ${thousands(s.trainable)}`,
    `Non-trainable params: ${thousands(s.non_trainable)}`,
    '',
  ].join('\n');
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description("print a Keras-style table of the model's layers, output shapes and parameter counts")
    .argument('<file>', 'a .sinter source or a textual .ir file')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--model <name>', 'which model of the file')
    .option('--json', 'print the table as one JSON object')
    .action((file: string, opts: { batch: string; model?: string; json?: boolean }) => {
      const s = summaryOfFile(file, positiveInt(opts.batch, '--batch'), opts.model);
      process.stdout.write(opts.json ? `${JSON.stringify(s)}\n` : formatSummary(s, file));
    });
}
