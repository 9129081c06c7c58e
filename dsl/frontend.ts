// The front end in one call: source text → AST → checked declarations → graph IR of one model.

import type { Graph } from '../compiler/ir/graph.js';
import type { Item, LayerDecl, ModelDecl, Program, TrainDecl } from './ast.js';
import type { Diagnostic } from './diagnostics.js';
import { closest, diag, DiagnosticError, formatLocation } from './diagnostics.js';
import { Elaborator } from './elaborate/elaborator.js';
import { resolveNames } from './elaborate/resolve.js';
import { parseProgram } from './parse.js';
import type { TrainConfig } from './train-block.js';
import { checkTrainBlock } from './train-block.js';

export interface FrontEndOptions {
  /** The model to elaborate; default: the only model, else the one a train block names, else the last. */
  readonly model?: string;
  /** Values of free shape variables in the model's input types; default `{ batch: 1 }`. */
  readonly dims?: Readonly<Record<string, number>>;
  /** 'train' elaborates the training form of layers (batchnorm batch statistics, dropout). */
  readonly mode?: 'infer' | 'train';
}

export interface FrontEndResult {
  readonly program: Program;
  readonly model: ModelDecl | null;
  readonly graph: Graph | null;
  /** The checked train block of the chosen model, if it has one. */
  readonly train: TrainConfig | null;
  readonly diagnostics: readonly Diagnostic[];
}

function itemName(item: Item): { name: string; span: Diagnostic['span'] } {
  return item.kind === 'train' ? { name: `train ${item.model.name}`, span: item.model.span } : { name: item.name.name, span: item.name.span };
}

/** Parses and elaborates; never throws for bad input (every problem is a diagnostic). */
export function compileSource(source: string, file: string, options: FrontEndOptions = {}): FrontEndResult {
  const { program, diagnostics: parseDiags } = parseProgram(source, file);
  const diagnostics: Diagnostic[] = [...parseDiags];
  const layers = new Map<string, LayerDecl>();
  const models = new Map<string, ModelDecl>();
  const trains: TrainDecl[] = [];
  const seen = new Map<string, Item>();
  for (const item of program.items) {
    const { name, span } = itemName(item);
    const first = seen.get(name);
    if (first) {
      diagnostics.push(diag('E0203', span, { name, first: formatLocation(itemName(first).span) }));
      continue;
    }
    seen.set(name, item);
    if (item.kind === 'layer') layers.set(name, item);
    else if (item.kind === 'model') models.set(name, item);
    else trains.push(item);
  }
  const resolved = resolveNames(layers, [...models.values()]);
  diagnostics.push(...resolved);
  const trainConfigs = new Map<string, TrainConfig>();
  for (const t of trains) {
    const m = models.get(t.model.name);
    if (!m) {
      const suggestion = closest(t.model.name, models.keys());
      diagnostics.push(diag('E0204', t.model.span, { name: t.model.name, ...(suggestion ? { suggestion } : {}) }));
      continue;
    }
    const checked = checkTrainBlock(t, m);
    diagnostics.push(...checked.diagnostics);
    if (checked.config) trainConfigs.set(m.name.name, checked.config);
  }
  const empty = { program, model: null, graph: null, train: null };
  const model = chooseModel(models, trains, options.model, program, diagnostics);
  // Elaboration stops at its first error, so it runs only when nothing is known to be wrong
  // with the source's syntax or names (train block problems don't get in its way).
  const blocking = parseDiags.length > 0 || resolved.length > 0;
  if (!model || blocking) return { ...empty, model, diagnostics: inSourceOrder(diagnostics) };
  try {
    const graph = new Elaborator(layers, model, options.mode).run(options.dims ?? { batch: 1 });
    return { program, model, graph: diagnostics.length ? null : graph, train: trainConfigs.get(model.name.name) ?? null, diagnostics };
  } catch (e) {
    if (e instanceof DiagnosticError) return { ...empty, model, diagnostics: inSourceOrder([...diagnostics, ...e.diagnostics]) };
    throw e;
  }
}

function inSourceOrder(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start.offset - b.span.start.offset);
}

function chooseModel(models: ReadonlyMap<string, ModelDecl>, trains: readonly TrainDecl[], wanted: string | undefined, program: Program, diagnostics: Diagnostic[]): ModelDecl | null {
  const start = { offset: 0, line: 1, col: 1 };
  const fileSpan = { file: program.file, start, end: start };
  if (wanted !== undefined) {
    const m = models.get(wanted);
    if (!m) diagnostics.push(diag(models.size ? 'E0206' : 'E0207', fileSpan, { name: wanted, models: [...models.keys()].join(', ') }));
    return m ?? null;
  }
  if (models.size === 0) {
    if (diagnostics.length === 0) diagnostics.push(diag('E0207', fileSpan, {}));
    return null;
  }
  const trained = trains.map((t) => models.get(t.model.name)).find((m) => m !== undefined);
  return trained ?? [...models.values()][models.size - 1]!;
}
