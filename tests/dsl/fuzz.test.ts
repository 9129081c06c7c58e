// Fuzzing the front end: parseProgram and compileSource never throw, and every diagnostic is well-formed,
// whatever the input (2,600 inputs per run).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Pos } from '../../dsl/ast.js';
import { renderDiagnostic, type Diagnostic } from '../../dsl/diagnostics.js';
import { formatProgram } from '../../dsl/format.js';
import { MESSAGES } from '../../dsl/messages.js';
import { parseProgram } from '../../dsl/parse.js';
import { compileSource } from '../../dsl/frontend.js';
import { readdirSync, readFileSync } from 'node:fs';
import { programArb, stripSpans } from './arb-ast.js';

const FILE = 'fuzz.sinter';

/** Line and column of an offset, counted directly from the text (independently of the lexer's LineMap). */
function position(source: string, offset: number): Omit<Pos, 'offset'> {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** What is wrong with a diagnostic for this source, or null. */
function problem(source: string, d: Diagnostic): string | null {
  if (!(d.code in MESSAGES)) return `unknown code ${d.code}`;
  if (d.span.file !== FILE) return `span names file ${d.span.file}`;
  const { start, end } = d.span;
  if (start.line < 1 || start.col < 1) return `position ${start.line}:${start.col} is not 1-based`;
  if (start.offset < 0 || end.offset < start.offset || end.offset > source.length) return `offsets ${start.offset}-${end.offset} out of range`;
  for (const p of [start, end]) {
    const want = position(source, p.offset);
    if (want.line !== p.line || want.col !== p.col) return `offset ${p.offset} is ${want.line}:${want.col}, not ${p.line}:${p.col}`;
  }
  const lineText = source.split('\n')[start.line - 1];
  if (lineText === undefined || start.col > lineText.length + 1) return `${start.line}:${start.col} is past the end of its line`;
  const rendered = renderDiagnostic(d, source);
  if (!rendered.startsWith(`${FILE}:${start.line}:${start.col}`)) return `renders as '${rendered.split('\n')[0]}'`;
  if (d.message.length === 0) return 'empty message';
  return null;
}

/**
 * Parses, checks every diagnostic, and checks that no kept item has a diagnostic inside it;
 * then runs the whole front end (names, elaboration, train blocks) and checks its diagnostics.
 */
function checkInput(source: string): ReturnType<typeof parseProgram> {
  const result = parseProgram(source, FILE);
  const problems = result.diagnostics.map((d) => problem(source, d)).filter((p) => p !== null);
  const front = compileSource(source, FILE, { dims: { batch: 2 } });
  problems.push(...front.diagnostics.map((d) => problem(source, d)).filter((p) => p !== null));
  if ((front.graph === null) === (front.diagnostics.length === 0) && front.model !== null) problems.push('a graph comes back exactly when there are no diagnostics');
  for (const item of result.program.items) {
    const inside = result.diagnostics.filter((d) => d.span.start.offset > item.span.start.offset && d.span.start.offset < item.span.end.offset);
    if (inside.length > 0) problems.push(`item at ${item.span.start.line}:${item.span.start.col} was kept despite ${inside[0]!.code}`);
  }
  expect(problems).toEqual([]);
  return result;
}

// Pieces of source text, roughly tokens: mutations work on these and on single characters.
const PIECE = /[A-Za-z_0-9.]+|\s+|\|>|->|\.\.|"(?:[^"\\\n]|\\.)*"?|[^]/gu;
const SPARE_PIECES = ['(', ')', '[', ']', '{', '}', '|>', '->', '..', ',', ':', ';', '=', '-', '@', '\n', '"', '\\', '#', 'layer', 'model', 'train', 'param', 'for', 'in', 'return', 'é', '\u0000', '1e999', '0.5', 'x'];

type Mutation = { kind: 'delete' | 'duplicate' | 'insert'; at: number; piece: number } | { kind: 'swap'; at: number; other: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const, 'insert' as const), at: fc.nat(), piece: fc.nat(SPARE_PIECES.length - 1) }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
);

/** Applies mutations to a list of pieces (tokens or characters); positions wrap around the list. */
function mutate(pieces: string[], mutations: readonly Mutation[]): string {
  const out = [...pieces];
  for (const m of mutations) {
    if (out.length === 0) out.push(SPARE_PIECES[0]!);
    const i = m.at % out.length;
    if (m.kind === 'swap') {
      const j = m.other % out.length;
      [out[i], out[j]] = [out[j]!, out[i]!];
    } else if (m.kind === 'delete') out.splice(i, 1);
    else if (m.kind === 'duplicate') out.splice(i, 0, out[i]!);
    else out.splice(i, 0, SPARE_PIECES[m.piece]!);
  }
  return out.join('');
}

const sinterishChar = fc.constantFrom(...'()[]{}|>-.:,;=+*/@#"\\\n\t abcxyz019eE_', 'layer ', 'model ', 'for ', 'in ', 'return ', 'param ', 'é', '\r', '\u0007');

const NESTING_PATTERNS: readonly ((n: number) => string)[] = [
  (n) => '('.repeat(n),
  (n) => '['.repeat(n) + ']'.repeat(n),
  (n) => `model M(x: [n]) -> y: [n] {\n${'{'.repeat(n)}`,
  (n) => `model M(x: [n]) -> y: [n] {\n  y = ${'f('.repeat(n)}x${')'.repeat(n)}\n}`,
  (n) => `model M(x: [n]) -> y: [n] {\n  y = ${'-'.repeat(n)}x\n}`,
  (n) => `model M(x: [n]) -> y: [n] {\n  y = x${' |> f'.repeat(n)}\n}`,
  (n) => `model M(x: [n]) -> y: [n] {\n  y = x${'[0]'.repeat(n)}\n}`,
  (n) => `model M(x: [n]) -> y: [n] {\n${'for i in 0..2 {\n'.repeat(n)}`,
  (n) => '([{'.repeat(n) + '}])'.repeat(n),
  (n) => `train T {\n  a = ${'[1, '.repeat(n)}\n}`,
];

// Mostly around the caps (128 brackets, 1,000 AST levels), sometimes all the way to 10,000.
const depthArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 1_200 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 10_000 }), weight: 1 },
  { arbitrary: fc.constant(10_000), weight: 1 },
);

describe('parseProgram on hostile input', () => {
  it('accepts every formatted random program without diagnostics (300 inputs)', () => {
    fc.assert(
      fc.property(programArb, (ast) => {
        expect(checkInput(formatProgram(ast)).diagnostics).toEqual([]);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('survives mutated programs, and what still parses round-trips (700 inputs)', () => {
    const byPieces = fc.boolean();
    fc.assert(
      fc.property(programArb, byPieces, fc.array(mutationArb, { minLength: 1, maxLength: 5 }), (ast, pieces, mutations) => {
        const source = formatProgram(ast);
        const mutated = mutate(pieces ? (source.match(PIECE) ?? []) : [...source], mutations);
        const { program, diagnostics } = checkInput(mutated);
        if (diagnostics.length === 0) {
          expect(stripSpans(parseProgram(formatProgram(program), FILE).program)).toEqual(stripSpans(program));
        }
      }),
      { seed: 42, numRuns: 700 },
    );
  });

  it('survives mutated example models through elaboration (500 inputs)', () => {
    const examples = readdirSync('examples').filter((f) => f.endsWith('.sinter')).map((f) => readFileSync(`examples/${f}`, 'utf8'));
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.boolean(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (source, pieces, mutations) => {
        checkInput(mutate(pieces ? (source.match(PIECE) ?? []) : [...source], mutations));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('survives random strings: any code units, Sinter-like characters, bytes as UTF-8 and Latin-1 (900 inputs)', () => {
    const run = (arb: fc.Arbitrary<string>, numRuns: number) =>
      fc.assert(
        fc.property(arb, (s) => {
          checkInput(s);
        }),
        { seed: 42, numRuns },
      );
    run(fc.string({ unit: 'binary', maxLength: 200 }), 300);
    run(fc.array(sinterishChar, { maxLength: 300 }).map((cs) => cs.join('')), 400);
    run(fc.uint8Array({ maxLength: 300 }).map((b) => new TextDecoder().decode(b)), 100);
    run(fc.uint8Array({ maxLength: 300 }).map((b) => String.fromCharCode(...b)), 100);
  });

  it('survives deep nesting and long chains up to 10,000 levels (200 inputs)', () => {
    fc.assert(
      fc.property(fc.nat(NESTING_PATTERNS.length - 1), depthArb, (pattern, depth) => {
        checkInput(NESTING_PATTERNS[pattern]!(depth));
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
