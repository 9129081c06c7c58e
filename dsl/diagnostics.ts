// User diagnostics: a stable code, a span, a message from the one table, a hint; rendered with a caret.

import type { Span } from './ast.js';
import type { Code, MessageArgs, MessageEntry } from './messages.js';
import { MESSAGES } from './messages.js';

export interface Diagnostic {
  readonly code: Code;
  readonly message: string;
  readonly span: Span;
  readonly hint?: string;
}

/** Builds a diagnostic from the message table; `hint` overrides the table's default hint. */
export function diag(code: Code, span: Span, args: MessageArgs = {}, hint?: string): Diagnostic {
  const entry: MessageEntry = MESSAGES[code];
  const h = hint ?? entry.hint?.(args);
  const d: Diagnostic = { code, message: entry.text(args), span };
  return h ? { ...d, hint: h } : d;
}

/** Thrown inside the front end to abort with diagnostics; caught at its entry points, never shown as a stack. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => `${d.span.file}:${d.span.start.line}:${d.span.start.col}: ${d.message}`).join('\n'));
    this.name = 'DiagnosticError';
  }
}

/** `file:line:col` of a span's start. */
export function formatLocation(span: Span): string {
  return `${span.file}:${span.start.line}:${span.start.col}`;
}

/**
 * Renders one diagnostic for people:
 *
 *   bad.sinter:5:8: error[E0202]: unknown layer 'Dnse'
 *     |
 *   5 |     |> Dnse(64)
 *     |        ^^^^
 *     = hint: did you mean 'Dense'?
 */
export function renderDiagnostic(d: Diagnostic, source: string | null): string {
  const out = [`${formatLocation(d.span)}: error[${d.code}]: ${d.message}`];
  const lines = source === null ? null : source.split(/\r?\n/);
  const lineNo = d.span.start.line;
  const text = lines?.[lineNo - 1];
  const gutter = ' '.repeat(String(lineNo).length);
  if (text !== undefined) {
    const shown = sanitizeLine(text);
    const startCol = Math.max(1, Math.min(d.span.start.col, shown.length + 1));
    const endCol = d.span.end.line === lineNo ? Math.max(d.span.end.col, startCol + 1) : shown.length + 1;
    const width = Math.max(1, Math.min(endCol, shown.length + 1) - startCol);
    out.push(`${gutter} |`);
    out.push(`${lineNo} | ${shown}`);
    out.push(`${gutter} | ${' '.repeat(startCol - 1)}${'^'.repeat(width)}`);
  }
  if (d.hint) out.push(`${gutter} = hint: ${d.hint}`);
  return out.join('\n');
}

/** Renders several diagnostics, then a count line. */
export function renderDiagnostics(ds: readonly Diagnostic[], source: string | null): string {
  const body = ds.map((d) => renderDiagnostic(d, source)).join('\n\n');
  return `${body}\n\n${ds.length} error${ds.length === 1 ? '' : 's'}`;
}

/** Tabs become one space and control characters '?', so carets line up and terminals stay sane. */
function sanitizeLine(text: string): string {
  const clipped = text.length > 300 ? text.slice(0, 300) : text;
  return clipped.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag0 = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag0 + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag0 = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance, or null. */
export function closest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    // Case differences count as nothing: `Dnse` is one edit from `dense`.
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}
