// simplify: same values as the reference on random graphs, a fixed point, CSE and DCE complete, rules one by one.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { printGraph } from '../../compiler/ir/print.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { nodeKey } from '../../compiler/passes/rewrite.js';
import { simplify } from '../../compiler/passes/simplify.js';
import { RULES } from '../../compiler/passes/simplify-rules.js';
import { arbGraph } from '../helpers/random-graph.js';
import { identicalOutputs, randomFeeds } from './support.js';

describe('simplify on random graphs', () => {
  it('keeps the reference values bit for bit (up to the sign of zero), verifies, and is a fixed point (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const s = simplify(g);
        expect(verifyGraph(s)).toEqual([]);
        expect(s.outputs.map((o) => [o.name, o.aliases])).toEqual(g.outputs.map((o) => [o.name, o.aliases]));
        const feeds = randomFeeds(g);
        expect(identicalOutputs(interpret(s, feeds).outputs, interpret(g, feeds).outputs)).toBe(true);
        expect(printGraph(simplify(s))).toBe(printGraph(s));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('leaves no duplicate node, no dead node, and no node a rule applies to (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const s = simplify(g);
        const keys = s.nodes.map((n) => nodeKey(n.op, n.inputs, n.attrs));
        expect(new Set(keys).size).toBe(keys.length);
        const used = new Set([...s.nodes.flatMap((n) => n.inputs), ...s.outputs.map((o) => o.value)]);
        expect(s.nodes.filter((n) => !used.has(n.id)).map((n) => n.op)).toEqual([]);
        expect(s.nodes.length).toBeLessThanOrEqual(g.nodes.length);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});

/** maxpool(relu(x + b)) over 2×2 windows: x f32[1,3,4,4], b per channel. */
function pooledRelu(): Graph {
  const b = new GraphBuilder('Pool');
  const x = b.input('x', { dtype: 'f32', shape: [1, 3, 4, 4] });
  const bias = b.input('b', { dtype: 'f32', shape: [3] });
  const z = b.op('add', [x, b.op('broadcast', [bias], { shape: [1, 3, 4, 4], dims: [1] })]);
  b.output('y', b.op('maxpool2d', [b.op('relu', [z])], { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }));
  return b.build();
}

/** x: f32[2,3]; `body` builds nodes from x and returns the output. */
function graphOf(body: (b: GraphBuilder, x: number) => number): Graph {
  const b = new GraphBuilder('T');
  const x = b.input('x', { dtype: 'f32', shape: [2, 3] });
  b.output('y', body(b, x));
  return b.build();
}

describe('simplify rules', () => {
  it('every rule in the table fires on some hand-made graph and reports its hits', () => {
    const k = (b: GraphBuilder, v: number, shape: number[] = [2, 3]): number => b.op('constant', [], { value: v, dtype: 'f32', shape });
    const cases: Graph[] = [
      graphOf((b) => b.op('exp', [k(b, 0)])),
      graphOf((b) => b.op('gather', [k(b, 2), b.op('constant', [], { value: 1, dtype: 'i32', shape: [4] })], { axis: 0 })),
      graphOf((b, x) => b.op('mul', [x, k(b, 1)])),
      graphOf((b, x) => b.op('add', [k(b, 0), x])),
      graphOf((b, x) => b.op('div', [x, k(b, 1)])),
      graphOf((b, x) => b.op('neg', [b.op('neg', [x])])),
      graphOf((b, x) => b.op('relu', [b.op('relu', [x])])),
      graphOf((b, x) => b.op('maximum', [x, x])),
      graphOf((b, x) => b.op('select', [b.op('constant', [], { value: 1, dtype: 'bool', shape: [2, 3] }), x, k(b, 3)])),
      graphOf((b, x) => b.op('cast', [x], { to: 'f32' })),
      graphOf((b, x) => b.op('reshape', [x], { shape: [2, 3] })),
      graphOf((b, x) => b.op('transpose', [b.op('transpose', [x], { perm: [1, 0] })], { perm: [1, 0] })),
      graphOf((b, x) => b.op('reshape', [b.op('reshape', [x], { shape: [6] })], { shape: [3, 2] })),
      graphOf((b, x) => b.op('broadcast', [b.op('broadcast', [x], { shape: [4, 2, 3], dims: [1, 2] })], { shape: [5, 4, 2, 3], dims: [1, 2, 3] })),
      graphOf((b, x) => b.op('matmul', [b.op('transpose', [x], { perm: [1, 0] }), x], { transpose_a: false, transpose_b: false })),
      pooledRelu(),
    ];
    const hits = new Set<string>();
    for (const g of cases) {
      const s = simplify(g, { onHit: (rule) => hits.add(rule) });
      expect(verifyGraph(s)).toEqual([]);
      const feeds = randomFeeds(g);
      expect(identicalOutputs(interpret(s, feeds).outputs, interpret(g, feeds).outputs)).toBe(true);
    }
    expect(RULES.map((r) => r.name).filter((n) => !hits.has(n))).toEqual([]);
  });

  it('moves a ReLU and a per-channel bias after max pooling, NaN and ties included', () => {
    const g = pooledRelu();
    const s = simplify(g);
    expect(s.nodes.map((n) => n.op).filter((op) => op !== 'constant')).toEqual(['maxpool2d', 'broadcast', 'add', 'relu']);
    // Channel 0 (bias 0), rows of 4: windows 0 | 1 on rows 0–1, 2 | 3 on rows 2–3. NaN in
    // window 0, window 1 all negative with a −0, equal maxima in window 2: the same outputs.
    const feeds = randomFeeds(g);
    feeds.inputs.get('b')!.data[0] = 0;
    feeds.inputs.get('x')!.data.set([Number.NaN, 1, -3, -1, -5, 2, -2, -0, 0.5, 0.5, 7, 8, 0.25, 0.5, 9, 6], 0);
    expect(identicalOutputs(interpret(s, feeds).outputs, interpret(g, feeds).outputs)).toBe(true);
    const y = interpret(s, feeds).outputs.get('y')!.data;
    expect(Number.isNaN(y[0]!)).toBe(true);
  });

  it('leaves max pooling with padding, and a bias that varies inside the window, in place', () => {
    const b = new GraphBuilder('P');
    const x = b.input('x', { dtype: 'f32', shape: [1, 2, 4, 4] });
    const r = b.input('r', { dtype: 'f32', shape: [4] });
    const shifted = b.op('add', [x, b.op('broadcast', [r], { shape: [1, 2, 4, 4], dims: [3] })]);
    b.output('a', b.op('maxpool2d', [b.op('relu', [x])], { kernel: [2, 2], stride: [2, 2], padding: [1, 1, 1, 1] }));
    b.output('b', b.op('maxpool2d', [shifted], { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }));
    const hits: string[] = [];
    simplify(b.build(), { onHit: (rule) => hits.push(rule) });
    expect(hits.filter((h) => h.startsWith('maxpool'))).toEqual([]);
  });

  it('gives a node a rule builds the location of the node it replaces', () => {
    const b = new GraphBuilder('L');
    const x = b.input('x', { dtype: 'f32', shape: [2, 3] });
    const loc = { file: 'm.sinter', line: 4, col: 2 };
    b.output('y', b.op('reshape', [b.op('reshape', [x], { shape: [6] })], { shape: [3, 2] }, loc));
    const s = simplify(b.build());
    expect(s.nodes.map((n) => [n.op, n.inputs, n.loc])).toEqual([['reshape', [x], loc]]);
  });

  it('does not fold what is not one finite value or not uniform', () => {
    const g = graphOf((b) => b.op('div', [b.op('constant', [], { value: 1, dtype: 'f32', shape: [2, 3] }), b.op('constant', [], { value: 0, dtype: 'f32', shape: [2, 3] })]));
    expect(simplify(g).nodes.map((n) => n.op)).toEqual(['constant', 'constant', 'div']);
  });
});
