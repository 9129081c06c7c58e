// Round trip: parse(format(ast)) equals ast modulo spans, and every parsed span covers its node's text.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Expr, Span } from '../../dsl/ast.js';
import { formatProgram } from '../../dsl/format.js';
import { LineMap } from '../../dsl/lexer.js';
import { parseProgram } from '../../dsl/parse.js';
import { GEN_FILE, programArb, stripSpans } from './arb-ast.js';

interface Spanned {
  readonly span: Span;
  readonly [k: string]: unknown;
}

function isSpanned(v: unknown): v is Spanned {
  return typeof v === 'object' && v !== null && 'span' in v;
}

/** Every node with a span, with its parent's span (null at the top). */
function* spannedNodes(v: unknown, parent: Span | null = null): Generator<[Spanned, Span | null]> {
  if (Array.isArray(v)) {
    for (const x of v) yield* spannedNodes(x, parent);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const here = isSpanned(v) ? v.span : parent;
  if (isSpanned(v)) yield [v, parent];
  for (const [k, child] of Object.entries(v)) if (k !== 'span' && k !== 'opSpan') yield* spannedNodes(child, here);
}

/** Checks the invariants the parser promises about spans; returns a description of the first violation. */
function spanProblem(source: string, ast: unknown): string | null {
  const lines = new LineMap(GEN_FILE, source);
  for (const [node, parent] of spannedNodes(ast)) {
    const { start, end } = node.span;
    const again = lines.span(start.offset, end.offset);
    if (JSON.stringify(again) !== JSON.stringify(node.span)) return `line/col disagree with offsets: ${JSON.stringify(node.span)}`;
    if (parent !== null && (start.offset < parent.start.offset || end.offset > parent.end.offset)) {
      return `span ${start.offset}-${end.offset} escapes its parent ${parent.start.offset}-${parent.end.offset}`;
    }
    const text = source.slice(start.offset, end.offset);
    const kind = (node as { kind?: unknown }).kind;
    if (kind === 'name' && text !== (node as unknown as { name: string }).name) return `name span reads '${text}'`;
    if (kind === 'binary') {
      const e = node as unknown as Extract<Expr, { kind: 'binary' }>;
      if (source.slice(e.opSpan.start.offset, e.opSpan.end.offset) !== e.op) return `opSpan of '${e.op}' reads something else`;
    }
    if (kind === 'number' && Number(text) !== (node as unknown as { value: number }).value) return `number span reads '${text}'`;
    if (text.trim() !== text) return `span '${text}' starts or ends with whitespace`;
  }
  return null;
}

describe('format then parse', () => {
  it('gives back the same AST, modulo spans, with no diagnostics', () => {
    fc.assert(
      fc.property(programArb, (ast) => {
        const source = formatProgram(ast);
        const { program, diagnostics } = parseProgram(source, GEN_FILE);
        expect(diagnostics).toEqual([]);
        expect(stripSpans(program)).toEqual(stripSpans(ast));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('gives spans that agree with the source text', () => {
    fc.assert(
      fc.property(programArb, (ast) => {
        const source = formatProgram(ast);
        const { program } = parseProgram(source, GEN_FILE);
        expect(spanProblem(source, program)).toBeNull();
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('is a fixed point: formatting the parsed program gives the same text', () => {
    fc.assert(
      fc.property(programArb, (ast) => {
        const source = formatProgram(ast);
        expect(formatProgram(parseProgram(source, GEN_FILE).program)).toBe(source);
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});
