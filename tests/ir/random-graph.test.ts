// The random-graph arbitrary keeps its documented promises, which later pass-equivalence tests rely on.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OP_NAMES } from '../../compiler/ir/ops/registry.js';
import { numel } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { arbGraph, buildRandomGraph } from '../helpers/random-graph.js';

function allTypes(g: Graph) {
  return [...g.inputs, ...g.params, ...g.nodes].map((v) => v.type);
}

describe('arbGraph', () => {
  it('draws valid graphs within the documented bounds, covering every op (300 graphs)', () => {
    const seen = new Set<OpName>();
    let withLoc = 0;
    let aliased = 0;
    fc.assert(
      fc.property(arbGraph(), (g) => {
        expect(verifyGraph(g)).toEqual([]);
        expect(g.nodes.length).toBeGreaterThanOrEqual(1);
        expect(g.nodes.length).toBeLessThanOrEqual(25);
        expect(g.inputs.length).toBeGreaterThanOrEqual(1);
        expect(g.inputs.length).toBeLessThanOrEqual(3);
        for (const i of g.inputs) {
          expect(i.type.dtype).toBe('f32');
          expect(i.type.shape.length).toBeGreaterThanOrEqual(1);
          expect(i.type.shape.length).toBeLessThanOrEqual(4);
          expect(i.type.shape.every((d) => d >= 1 && d <= 5)).toBe(true);
        }
        for (const t of allTypes(g)) {
          expect(numel(t.shape)).toBeLessThanOrEqual(4096);
          expect(t.shape.length).toBeLessThanOrEqual(5);
          expect(t.shape.every((d) => d >= 1)).toBe(true);
        }
        expect(g.outputs.length).toBeGreaterThanOrEqual(1);
        expect(g.outputs.length).toBeLessThanOrEqual(3);
        expect(g.outputs[0]!.value).toBe(g.nodes.at(-1)!.id);
        for (const n of g.nodes) seen.add(n.op);
        withLoc += g.nodes.filter((n) => n.loc).length;
        aliased += g.outputs.filter((o) => o.aliases !== undefined).length;
      }),
      { seed: 42, numRuns: 300 },
    );
    expect([...OP_NAMES].filter((op) => !seen.has(op))).toEqual([]);
    expect(withLoc).toBeGreaterThan(0);
    expect(aliased).toBeGreaterThan(10);
  });

  it('honours its options: op subset, node and element budgets, no locs (100 graphs)', () => {
    const helpers: readonly OpName[] = ['constant', 'cast', 'reshape', 'greater', 'less', 'equal', 'neg'];
    fc.assert(
      fc.property(arbGraph({ ops: ['matmul', 'conv2d'], minNodes: 3, maxNodes: 6, maxElements: 64, locs: false }), (g) => {
        expect(verifyGraph(g)).toEqual([]);
        expect(g.nodes.length).toBeGreaterThanOrEqual(3);
        expect(g.nodes.length).toBeLessThanOrEqual(6);
        expect(g.nodes.every((n) => ['matmul', 'conv2d', ...helpers].includes(n.op))).toBe(true);
        expect(g.nodes.every((n) => n.loc === undefined && numel(n.type.shape) <= 64)).toBe(true);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('is deterministic in its choices, and all-zero choices give the smallest graph', () => {
    const choices = Array.from({ length: 2048 }, (_, i) => (i * 7919) % 1000);
    expect(buildRandomGraph(choices)).toEqual(buildRandomGraph(choices));
    const g = buildRandomGraph([]);
    expect(verifyGraph(g)).toEqual([]);
    expect(g.nodes).toHaveLength(1);
    expect(g.outputs).toHaveLength(1);
  });
});
