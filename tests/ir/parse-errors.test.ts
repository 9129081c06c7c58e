// Parser diagnostics: each error class with its code and file:line:col, written as caret annotations in the IR.
//
// An annotation is a comment line `//   ^ E0707 did you mean 'add'`: the caret's column and the
// line above it give the expected position, then the code, then text the message or hint must
// contain. Comments are ignored by the parser, so annotations never disturb the case itself.

import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../dsl/diagnostics.js';
import { parseGraph } from '../../compiler/ir/parse.js';

interface Expected {
  readonly line: number;
  readonly col: number;
  readonly code: string;
  readonly text: string;
}

function annotations(text: string): Expected[] {
  const out: Expected[] = [];
  let target = 0;
  text.split('\n').forEach((line, i) => {
    const m = /^\/\/( *)\^ (E\d{4})(?: (.*))?$/.exec(line);
    if (!m) {
      target = i + 1;
      return;
    }
    out.push({ line: target, col: m[1]!.length + 3, code: m[2]!, text: m[3] ?? '' });
  });
  return out;
}

function got(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => `${d.span.file}:${d.span.start.line}:${d.span.start.col} ${d.code}`);
}

function check(text: string): void {
  const r = parseGraph(text, 'case.ir');
  const want = annotations(text);
  expect(want.length).toBeGreaterThan(0);
  expect(got(r.diagnostics)).toEqual(want.map((w) => `case.ir:${w.line}:${w.col} ${w.code}`));
  r.diagnostics.forEach((d, i) => expect(`${d.message} | ${d.hint ?? ''}`).toContain(want[i]!.text));
  expect(r.graph).toBeNull();
}

const HEAD = 'graph @G(%x: f32[2], %image: f32[2,3]) -> (y: f32[2]) {';

const CASES: Record<string, string> = {
  'unexpected character (E0701)': `${HEAD}
  %0 = relu(%x) $ : f32[2]
//              ^ E0701 '$'
  return %0
}`,
  'unterminated string (E0702)': `${HEAD}
  %0 = relu(%x) : f32[2] loc("a.sinter:1:1)
//                           ^ E0702 unterminated
  return %0
}`,
  'bad escape in a string (E0702)': `${HEAD}
  %0 = relu(%x) : f32[2] loc("a\\q.sinter":1:1)
//                           ^ E0702 escape
  return %0
}`,
  'non-finite float and out-of-range integer (E0705)': `${HEAD}
  %0 = pad(%x) {low = [0], high = [0], value = 1e999} : f32[2]
//                                             ^ E0705 not a finite
  %1 = concat(%x, %x) {axis = 99999999999999999999} : f32[4]
//                            ^ E0705 out of range
  return %0
}`,
  'syntax errors, with recovery at the next statement (E0706)': `${HEAD}
  %0 = relu(%x) f32[2]
//              ^ E0706 expected ':', got 'f32'
  %1 = relu(%x) : f32[2
  %2 = relu(%1) : f32[2]
//^ E0706 expected ',' or ']'
  %3 = neg(%x) : f32[2]
  junk
//^ E0706 a statement
  return %3
}
  trailing
//^ E0706 end of input`,
  'unknown op with a suggestion (E0707)': `${HEAD}
  %0 = ad(%x, %x) : f32[2]
//     ^ E0707 did you mean 'add'
  return %0
}`,
  'undefined values, with a suggestion for names (E0708)': `${HEAD}
  %0 = relu(%imge) : f32[2,3]
//          ^ E0708 did you mean '%image'
  %1 = relu(%7) : f32[2]
//          ^ E0708 defined before they are used
  return %1
}`,
  'redefined values (E0709)': `${HEAD}
  %0 = relu(%x) : f32[2]
  %0 = neg(%x) : f32[2]
//^ E0709 first definition is at case.ir:2:3
  param %x: f32[2] = zeros
//      ^ E0709 case.ir:1:10
  return %0
}`,
  'an output declared twice (E0710)': `graph @G(%x: f32[2]) -> (y: f32[2], y: f32[2]) {
//                                  ^ E0710 case.ir:1:26
  return %x, %x
}`,
  'unknown dtype (E0711)': `${HEAD}
  %0 = cast(%x) {to = i32} : int32[2]
//                           ^ E0711 f32, i32 and bool
  return %x
}`,
  'invalid types (E0712)': `${HEAD}
  param %a: f32[1,1,1,1,1,1,1,1,1] = zeros
//          ^ E0712 rank 9
  param %b: f32[65536,65536] = zeros
//          ^ E0712 more than 268435456 elements
  param %c: f32[-1] = zeros
//              ^ E0712 dimension -1
  return %x
}`,
  'unknown initializer and repeated argument (E0713, E0714)': `${HEAD}
  param %w: f32[2] = glorot_unifrom {fan_in = 2, fan_out = 2}
//                   ^ E0713 did you mean 'glorot_uniform'
  param %v: f32[2] = normal {std = 1, std = 2}
//                                    ^ E0714 'std'
  return %x
}`,
  'attribute errors (E0715-E0718)': `${HEAD}
  %0 = reshape(%x) {shap = [2]} : f32[2]
//                  ^ E0715 did you mean 'shape'
//     ^ E0716 missing attribute 'shape'
  %1 = reshape(%x) {shape = [2], shape = [2]} : f32[2]
//                               ^ E0717 'shape' is given twice
  %2 = concat(%x) {axis = 0.0} : f32[2]
//                        ^ E0718 must be an integer, got the number 0.0
  %3 = cast(%x) {to = f64} : f32[2]
//                    ^ E0718 one of f32, i32, bool
  %4 = matmul(%image, %image) {transpose_a = 1, transpose_b = true} : f32[3,3]
//                                           ^ E0718 true or false
  return %x
}`,
  'type rule, annotation and arity errors (E0719-E0721)': `${HEAD}
  %0 = add(%x, %image) : f32[2]
//     ^ E0719 add: operands need the same shape
  %1 = exp(%x) : f32[3]
//               ^ E0720 '%1' is declared f32[3] but exp gives f32[2]
  %2 = neg(%x, %x) : f32[2]
//     ^ E0721 neg takes 1 input, got 2
  return %x
}`,
  'return errors (E0722, E0723)': `graph @G(%x: f32[2]) -> (y: f32[3], z: f32[2]) {
  return %x
//^ E0722 return gives 1 value but 2 outputs are declared
//       ^ E0723 output 'y' is declared f32[3] but '%x' has type f32[2]
}`,
  'missing return (E0724)': `${HEAD}
  %0 = relu(%x) : f32[2]
  }
//^ E0724 no return`,
  'bad locations (E0726)': `${HEAD}
  %0 = relu(%x) : f32[2] loc("m.sinter":0:4)
//                                      ^ E0726 line must be a positive integer, got 0
  %1 = relu(%x) : f32[2] loc("":3:4)
//                           ^ E0726 file name is empty
  return %0
}`,
  'bad output aliases (E0708, E0727, E0723)': `graph @G(%x: f32[2]) -> (a: f32[2] aliases %x, b: f32[2] aliases %v, c: f32[2] aliases %w3, d: f32[2] aliases %w, e: f32[2] aliases %w, f: f32[2] aliases %wx) {
//                                         ^ E0727 an output may alias only a parameter
//                                                               ^ E0727 an output may alias only a parameter
//                                                                                     ^ E0723 output 'c' is declared f32[2] but '%w3' has type f32[3]
//                                                                                                                                  ^ E0727 output 'd' already aliases
//                                                                                                                                                        ^ E0708 did you mean '%w'
  param %w: f32[2] = zeros
  param %w3: f32[3] = zeros
  %v = relu(%x) : f32[2]
  return %v, %v, %v, %v, %v, %v
}`,
  'kernel blocks (E0706, E0727)': `graph @G(%x: f32[2]) -> (y: f32[2]) {
  kernel @k0 {
    %a = exp(%x) : f32[2]
    kernel @k1 {
//  ^ E0706 a node statement or '}' to close kernel @k0
  }
  kernel @k0 {
//       ^ E0727 a kernel of this name is already defined
    %b = neg(%a) : f32[2]
  }
  %c = relu(%b) : f32[2]
//^ E0727 every node statement belongs to a kernel
  return %c
}`,
  'memory table (E0706, E0705, E0708, E0727)': `graph @G(%x: f32[2]) -> (y: f32[2]) {
  param %w: f32[2] = zeros
  kernel @k0 {
    %a = exp(%x) : f32[2]
  }
  return %a
}
memory {
  %a: 8 bytes at -1, live 0 to 0
//               ^ E0705 a byte offset must be a non-negative integer
  %b: 8 bytes at 0, live 0 to 0
//^ E0708 is not defined
  %x: 8 bytes at 0, live 0 to 0
//^ E0727 the memory table lists node values only
  %a: 8 bytes in %x, live 0 to 0
//               ^ E0727 a value stored in place must name a parameter
  %a: 8 bytes near 0
//            ^ E0706 'at'
}`,
  'alias syntax (E0706)': `graph @G(%x: f32[2]) -> (a: f32[2] aliases w) {
//                                         ^ E0706 the parameter the output replaces
  return %x
}`,
  'invalid names (E0727)': `graph @G(%0: f32[2]) -> (y: f32[2]) {
//       ^ E0727 input names start with a letter
  %1x = relu(%0) : f32[2]
//^ E0727 value names
  return %1x
}`,
};

describe('parseGraph diagnostics', () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, () => check(text));
  }

  it('reports no cascade for uses of a value whose definition was broken', () => {
    const text = `${HEAD}
  %0 = relu(%x) : f32[2] oops
  %1 = relu(%0) : f32[2]
  return %1
}`;
    expect(got(parseGraph(text, 'case.ir').diagnostics)).toEqual(['case.ir:2:26 E0706']);
  });

  it('rejects text over the size cap before reading it (E0703)', () => {
    const big = `${HEAD}\n${' '.repeat(16 * 1024 * 1024)}`;
    const r = parseGraph(big, 'big.ir');
    expect(got(r.diagnostics)).toEqual(['big.ir:1:1 E0703']);
    expect(r.diagnostics[0]!.message).toContain(`${big.length} bytes; the limit is ${16 * 1024 * 1024}`);
    // Multi-byte characters count as their UTF-8 bytes: 4 × 'é' is 8 bytes.
    expect(got(parseGraph('éééé', 'small.ir', { maxBytes: 7 }).diagnostics)).toEqual(['small.ir:1:1 E0703']);
    expect(got(parseGraph('éééé', 'small.ir', { maxBytes: 8 }).diagnostics)).not.toContain('small.ir:1:1 E0703');
  });

  it('reports a token over the length cap (E0704)', () => {
    const long = 'a'.repeat(5000);
    const text = `graph @G(%${long}: f32[2]) -> (y: f32[2]) {\n  return %${long}\n}`;
    expect(got(parseGraph(text, 'case.ir').diagnostics)).toEqual(['case.ir:1:10 E0704', 'case.ir:2:10 E0704']);
  });

  it('stops at the node cap (E0725)', () => {
    const text = `${HEAD}\n  %0 = neg(%x) : f32[2]\n  %1 = neg(%0) : f32[2]\n  %2 = neg(%1) : f32[2]\n  return %2\n}`;
    expect(got(parseGraph(text, 'case.ir', { maxNodes: 2 }).diagnostics)).toEqual(['case.ir:4:3 E0725']);
    expect(parseGraph(text, 'case.ir', { maxNodes: 3 }).graph).not.toBeNull();
  });

  it('stops after 100 errors (E0728)', () => {
    const lines = Array.from({ length: 150 }, (_, k) => `  %${k} = bogus(%x) : f32[2]`);
    const r = parseGraph(`${HEAD}\n${lines.join('\n')}\n  return %x\n}`, 'case.ir');
    expect(r.diagnostics).toHaveLength(101);
    expect(r.diagnostics.slice(0, 100).every((d) => d.code === 'E0707')).toBe(true);
    expect(got(r.diagnostics.slice(100))).toEqual(['case.ir:101:9 E0728']);
  });

  it('reports the end of input inside the body where the input ends (E0706)', () => {
    const r = parseGraph(`${HEAD}\n  %0 = relu(%x) : f32[2]\n`, 'case.ir');
    expect(got(r.diagnostics)).toEqual(['case.ir:3:1 E0706']);
    expect(r.diagnostics[0]!.message).toBe("expected '}' to close the graph, got end of input");
  });

  it('reads a header error as fatal: nothing after it is reported', () => {
    expect(got(parseGraph('  graph G(%x: f32[2]) -> () {\n  %0 = bogus() : f32[]\n}', 'case.ir').diagnostics)).toEqual(['case.ir:1:9 E0706']);
    expect(got(parseGraph('', 'case.ir').diagnostics)).toEqual(['case.ir:1:1 E0706']);
  });
});
