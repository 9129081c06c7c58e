// The expected-error harness: each tests/dsl/errors/*.sinter states its diagnostics in `# expected-error@±N: CODE text` comments.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDiagnostic, type Diagnostic } from '../../dsl/diagnostics.js';
import { collectDiagnostics } from './collect.js';

const DIR = join(import.meta.dirname, 'errors');

interface Expectation {
  /** The line the diagnostic must start on. */
  readonly line: number;
  readonly code: string;
  /** A substring of the diagnostic's message (may be empty). */
  readonly text: string;
  /** The line of the annotation itself, for reports. */
  readonly at: number;
}

const ANNOTATION = /#\s*expected-error@(?:([+-]\d+)|0)\s*:\s*(E\d{4})\b\s*(.*?)\s*$/;

/** Reads the annotations of a source; `@+N` and `@-N` are relative to the annotation's line, `@0` is that line. */
function readExpectations(source: string): Expectation[] {
  return source.split('\n').flatMap((lineText, i) => {
    const m = ANNOTATION.exec(lineText);
    if (m === null) return [];
    return [{ line: i + 1 + (m[1] === undefined ? 0 : Number(m[1])), code: m[2]!, text: m[3]!, at: i + 1 }];
  });
}

function satisfies(d: Diagnostic, e: Expectation): boolean {
  return d.span.start.line === e.line && d.code === e.code && d.message.includes(e.text);
}

/**
 * Pairs expectations with diagnostics one to one (a bipartite matching, so the order of
 * annotations on one line does not matter); returns what is left unpaired on each side.
 */
function matchExpectations(expected: readonly Expectation[], actual: readonly Diagnostic[]): { missing: Expectation[]; extra: Diagnostic[] } {
  const owner = new Array<number>(actual.length).fill(-1);
  const tryAssign = (e: number, visited: Set<number>): boolean => {
    for (let d = 0; d < actual.length; d++) {
      if (visited.has(d) || !satisfies(actual[d]!, expected[e]!)) continue;
      visited.add(d);
      if (owner[d] === -1 || tryAssign(owner[d]!, visited)) {
        owner[d] = e;
        return true;
      }
    }
    return false;
  };
  const missing = expected.filter((_, e) => !tryAssign(e, new Set()));
  const extra = actual.filter((_, d) => owner[d] === -1);
  return { missing, extra };
}

function report(file: string, source: string, missing: readonly Expectation[], extra: readonly Diagnostic[]): string {
  const lines = [
    ...missing.map((e) => `missing: ${file}:${e.line}: ${e.code} '${e.text}' (expected by the annotation on line ${e.at})`),
    ...extra.map((d) => `unexpected:\n${renderDiagnostic(d, source)}`),
  ];
  return lines.join('\n');
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.sinter')).sort();

describe('expected errors', () => {
  it('has fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s', (name) => {
    const source = readFileSync(join(DIR, name), 'utf8');
    const expected = readExpectations(source);
    expect(expected.length, `${name} has no expected-error annotations`).toBeGreaterThan(0);
    const { missing, extra } = matchExpectations(expected, collectDiagnostics(source, name));
    expect(report(name, source, missing, extra)).toBe('');
  });
});

describe('the harness itself', () => {
  const at = (line: number, code: Diagnostic['code'], message: string): Diagnostic => ({
    code,
    message,
    span: { file: 'f', start: { offset: 0, line, col: 1 }, end: { offset: 0, line, col: 2 } },
  });

  it('reads relative, absolute-zero and negative offsets', () => {
    const src = 'a\n# expected-error@+2: E0101 found\nb\nc # expected-error@0: E0001\n# expected-error@-4: E0002 unterminated';
    expect(readExpectations(src).map((e) => [e.line, e.code, e.text])).toEqual([
      [4, 'E0101', 'found'],
      [4, 'E0001', ''],
      [1, 'E0002', 'unterminated'],
    ]);
  });

  it('reports a missing and an extra diagnostic, and pairs the rest whatever their order', () => {
    // The message-less expectation comes first and could take 'b'; the matching must move it to 'a'.
    const expected = readExpectations('x # expected-error@0: E0101\n# expected-error@-1: E0101 b\n# expected-error@+1: E0001');
    const { missing, extra } = matchExpectations(expected, [at(1, 'E0101', 'b'), at(1, 'E0101', 'a'), at(9, 'E0005', 'deep')]);
    expect(missing.map((e) => e.line)).toEqual([4]);
    expect(extra.map((d) => d.code)).toEqual(['E0005']);
  });
});
