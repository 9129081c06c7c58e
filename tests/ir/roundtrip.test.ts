// Textual IR round trip: print ∘ parse ∘ print is the identity on random and hand-written graphs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { parseGraph } from '../../compiler/ir/parse.js';
import { formatFloat, printGraph } from '../../compiler/ir/print.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { arbGraph } from '../helpers/random-graph.js';

function parseOk(text: string): Graph {
  const r = parseGraph(text, 'test.ir');
  expect(r.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([]);
  expect(r.graph).not.toBeNull();
  return r.graph!;
}

const FASHION = `graph @FashionCNN(%image: f32[64,1,28,28]) -> (logits: f32[64,10]) {
  param %conv2d_1.w: f32[32,1,3,3] = glorot_uniform {fan_in = 9, fan_out = 288}
  param %conv2d_1.b: f32[32] = zeros
  state %bn_1.mean: f32[32] = zeros
  param %dense.w: f32[21632,10] = he_normal {fan_in = 21632}
  %0 = conv2d(%image, %conv2d_1.w) {stride = [1, 1], padding = [0, 0, 0, 0], dilation = [1, 1], groups = 1} : f32[64,32,26,26] loc("examples/fashion_cnn.sinter":5:8)
  %1 = broadcast(%conv2d_1.b) {shape = [64, 32, 26, 26], dims = [1]} : f32[64,32,26,26]
  %2 = add(%0, %1) : f32[64,32,26,26]
  %3 = relu(%2) : f32[64,32,26,26]
  %4 = reshape(%3) {shape = [64, 21632]} : f32[64,21632]
  %5 = matmul(%4, %dense.w) {transpose_a = false, transpose_b = false} : f32[64,10]
  return %5
}
`;

describe('textual IR round trip', () => {
  it('prints random graphs to text that parses back to the same text and a valid graph (300 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        expect(verifyGraph(g)).toEqual([]);
        const text = printGraph(g);
        const parsed = parseOk(text);
        expect(printGraph(parsed)).toBe(text);
        expect(verifyGraph(parsed)).toEqual([]);
        expect(parsed.nodes.map((n) => n.op)).toEqual(g.nodes.map((n) => n.op));
        expect(parsed.params.map((p) => [p.name, p.init, p.trainable])).toEqual(g.params.map((p) => [p.name, p.init, p.trainable]));
        expect(parsed.nodes.map((n) => n.loc)).toEqual(g.nodes.map((n) => n.loc));
        expect(parsed.outputs.map((o) => [o.name, o.aliases])).toEqual(g.outputs.map((o) => [o.name, o.aliases]));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('prints and reads back declared aliasing in the header', () => {
    const text = `graph @Step(%x: f32[3]) -> (loss: f32[], next.w: f32[3] aliases %w, next.m: f32[3] aliases %m) {
  param %w: f32[3] = zeros
  state %m: f32[3] = zeros
  %0 = mul(%x, %w) : f32[3]
  %1 = sum(%0) {axes = [0], keepdims = false} : f32[]
  %2 = sub(%w, %x) : f32[3]
  return %1, %2, %m
}
`;
    const g = parseOk(text);
    expect(g.outputs.map((o) => o.aliases)).toEqual([undefined, 'w', 'm']);
    expect(verifyGraph(g)).toEqual([]);
    expect(printGraph(g)).toBe(text);
  });

  it('reads the design example and prints it back byte for byte', () => {
    expect(printGraph(parseOk(FASHION))).toBe(FASHION);
  });

  it('ignores comments and layout, and renumbers freely named results canonically', () => {
    const text = `// a tiny graph
graph @T(%x: f32[2]) -> (y: f32[2], x_again: f32[2]) {   // header
  %h = relu(%x) : f32[2]
  %17 = neg(%h)
     : f32[2]
  return %17, %x
}`;
    expect(printGraph(parseOk(text))).toBe(`graph @T(%x: f32[2]) -> (y: f32[2], x_again: f32[2]) {
  %0 = relu(%x) : f32[2]
  %1 = neg(%0) : f32[2]
  return %1, %x
}
`);
  });

  it('prints equal graphs identically whatever their internal value ids', () => {
    const a = new GraphBuilder('G');
    const x = a.input('x', { dtype: 'f32', shape: [3] });
    const w = a.param('w', { dtype: 'f32', shape: [3] }, { kind: 'normal', args: { std: 0.5, mean: 0 } });
    a.output('y', a.op('mul', [a.op('exp', [x]), w]));
    const g = a.build();
    const shift = (id: number): number => 1000 - 7 * id;
    const renamed: Graph = {
      ...g,
      inputs: g.inputs.map((i) => ({ ...i, id: shift(i.id) })),
      params: g.params.map((p) => ({ ...p, id: shift(p.id) })),
      nodes: g.nodes.map((n) => ({ ...n, id: shift(n.id), inputs: n.inputs.map(shift) })),
      outputs: g.outputs.map((o) => ({ ...o, value: shift(o.value) })),
    };
    expect(verifyGraph(renamed)).toEqual([]);
    expect(printGraph(renamed)).toBe(printGraph(g));
    expect(printGraph(g)).toContain('param %w: f32[3] = normal {mean = 0, std = 0.5}');
  });

  it('prints a graph with no outputs and no inputs', () => {
    const b = new GraphBuilder('Empty');
    b.op('constant', [], { value: 2, dtype: 'i32', shape: [] });
    const text = printGraph(b.build());
    expect(text).toBe('graph @Empty() -> () {\n  %0 = constant() {value = 2.0, dtype = i32, shape = []} : i32[]\n  return\n}\n');
    expect(printGraph(parseOk(text))).toBe(text);
  });
});

describe('float attributes', () => {
  // A constant node carries one float attribute; its text must give back the identical double.
  function roundTripValue(value: number): { text: string; back: number } {
    const b = new GraphBuilder('F');
    b.output('c', b.op('constant', [], { value, dtype: 'f32', shape: [] }));
    const text = printGraph(b.build());
    return { text, back: parseOk(text).nodes[0]!.attrs['value'] as number };
  }

  it('print as floats that parse back to the identical double (2,000 doubles)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const { text, back } = roundTripValue(x);
        expect(Object.is(back, x)).toBe(true);
        expect(formatFloat(x)).toMatch(/[.e]/);
        expect(text).toContain(`value = ${formatFloat(x)},`);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('use the forms of the spec for the edge cases', () => {
    expect([1, 0.5, 1e-7, -0, 0, 1e21, -2, 5e-324].map(formatFloat)).toEqual(['1.0', '0.5', '1e-7', '-0.0', '0.0', '1e+21', '-2.0', '5e-324']);
    expect(Object.is(roundTripValue(-0).back, -0)).toBe(true);
    expect(roundTripValue(Number.MAX_VALUE).back).toBe(Number.MAX_VALUE);
  });
});
