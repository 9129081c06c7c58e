// Loading a model for a CLI command: a .sinter file through the front end, or a textual .ir file.

import type { Graph } from '../compiler/ir/graph.js';
import { parseGraph } from '../compiler/ir/parse.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { renderDiagnostics } from '../dsl/diagnostics.js';
import type { FrontEndResult } from '../dsl/frontend.js';
import { compileSource } from '../dsl/frontend.js';
import { readText } from './io.js';

/** Source diagnostics to print; the CLI exits 1. */
export class DiagnosticsFailure extends Error {
  constructor(readonly rendered: string) {
    super(rendered);
    this.name = 'DiagnosticsFailure';
  }
}

export interface LoadOptions {
  readonly batch?: number;
  readonly model?: string;
}

export interface Loaded {
  readonly graph: Graph;
  /** Present for .sinter files. */
  readonly front: FrontEndResult | null;
}

function failWith(diagnostics: readonly Diagnostic[], source: string): never {
  throw new DiagnosticsFailure(renderDiagnostics(diagnostics, source));
}

export function loadModel(path: string, options: LoadOptions): Loaded {
  const source = readText(path);
  if (path.endsWith('.ir')) {
    const { graph, diagnostics } = parseGraph(source, path);
    if (!graph || diagnostics.length) failWith(diagnostics, source);
    return { graph, front: null };
  }
  const front = compileSource(source, path, {
    ...(options.model !== undefined ? { model: options.model } : {}),
    dims: { batch: options.batch ?? 1 },
  });
  if (!front.graph || front.diagnostics.length) failWith(front.diagnostics, source);
  return { graph: front.graph, front };
}
