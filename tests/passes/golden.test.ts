// Golden tests of single passes: each tests/passes/golden/*.ir file is input IR, the passes to run, and CHECK lines.
//
// A file starts with `// RUN: pass[,pass…]` (pipeline stage names) and carries FileCheck-style
// directives in comments, which the IR parser skips:
//   // CHECK: text        a later output line contains text
//   // CHECK-NEXT: text   the line right after the previous match contains text
//   // CHECK-NOT: text    no line between the previous match and the next match contains text
// Patterns are plain substrings. Every pass runs with the verifier, fused-program checks and
// the plan validator on, and the output must itself parse back to the same text.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printState, runPipeline, stateFromText } from '../../compiler/pipeline.js';
import { parseIr } from './support.js';

const DIR = join(import.meta.dirname, 'golden');

interface Directive {
  readonly kind: 'CHECK' | 'CHECK-NEXT' | 'CHECK-NOT';
  readonly text: string;
  readonly line: number;
}

function directives(source: string): { passes: string[]; checks: Directive[] } {
  let passes: string[] = [];
  const checks: Directive[] = [];
  source.split('\n').forEach((l, i) => {
    const run = /^\s*\/\/ RUN: (.+)$/.exec(l);
    if (run) passes = run[1]!.split(',').map((s) => s.trim());
    const m = /^\s*\/\/ (CHECK|CHECK-NEXT|CHECK-NOT): (.*)$/.exec(l);
    if (m) checks.push({ kind: m[1] as Directive['kind'], text: m[2]!, line: i + 1 });
  });
  return { passes, checks };
}

/** The first failed directive, described, or null when all hold. */
function fileCheck(output: string, checks: readonly Directive[]): string | null {
  const lines = output.split('\n');
  let at = 0;
  let pendingNot: Directive[] = [];
  for (const c of checks) {
    if (c.kind === 'CHECK-NOT') {
      pendingNot.push(c);
      continue;
    }
    const found = c.kind === 'CHECK-NEXT' ? (lines[at]?.includes(c.text) ? at : -1) : lines.findIndex((l, i) => i >= at && l.includes(c.text));
    if (found < 0) return `line ${c.line}: ${c.kind}: '${c.text}' not found${c.kind === 'CHECK-NEXT' ? ` on output line ${at + 1}` : ` after output line ${at}`}`;
    const bad = pendingNot.find((n) => lines.slice(at, found).some((l) => l.includes(n.text)));
    if (bad) return `line ${bad.line}: CHECK-NOT: '${bad.text}' appears before '${c.text}'`;
    pendingNot = [];
    at = found + 1;
  }
  const bad = pendingNot.find((n) => lines.slice(at).some((l) => l.includes(n.text)));
  return bad ? `line ${bad.line}: CHECK-NOT: '${bad.text}' appears after the last match` : null;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.ir')).sort();

describe('golden pass tests', () => {
  it('finds the golden files', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    it(file, () => {
      const source = readFileSync(join(DIR, file), 'utf8');
      const { passes, checks } = directives(source);
      expect(passes.length, 'a RUN line').toBeGreaterThan(0);
      expect(checks.length, 'CHECK lines').toBeGreaterThan(0);
      const { graph, layout } = parseIr(source);
      const start = stateFromText(graph, layout);
      if ('problems' in start) expect.fail(start.problems.join('; '));
      const out = printState(runPipeline(start.state, { passes, verify: true }).state);
      const failure = fileCheck(out, checks);
      if (failure) expect.fail(`${failure}\n--- output ---\n${out}`);
      const again = parseIr(out);
      const back = stateFromText(again.graph, again.layout);
      if ('problems' in back) expect.fail(back.problems.join('; '));
      expect(printState(back.state)).toBe(out);
    });
  }
});

describe('fileCheck', () => {
  const d = (kind: Directive['kind'], text: string): Directive => ({ kind, text, line: 1 });
  it('matches in order, next-line and negative directives, and reports the first failure', () => {
    const out = 'a\nb\nc\nd';
    expect(fileCheck(out, [d('CHECK', 'a'), d('CHECK-NEXT', 'b'), d('CHECK-NOT', 'x'), d('CHECK', 'd')])).toBeNull();
    expect(fileCheck(out, [d('CHECK', 'c'), d('CHECK', 'a')])).toContain("'a' not found");
    expect(fileCheck(out, [d('CHECK', 'a'), d('CHECK-NEXT', 'c')])).toContain('CHECK-NEXT');
    expect(fileCheck(out, [d('CHECK', 'a'), d('CHECK-NOT', 'c'), d('CHECK', 'd')])).toContain("'c' appears before 'd'");
    expect(fileCheck(out, [d('CHECK', 'b'), d('CHECK-NOT', 'd')])).toContain('after the last match');
  });
});
