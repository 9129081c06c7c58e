// The reference interpreter on a hand-built graph: results against a hand computation, feed checks, liveness.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret, lastUses } from '../../compiler/ir/interpret.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { expectAllClose, toleranceFor } from '../helpers/allclose.js';

const ZEROS = { kind: 'zeros', args: {} } as const;

/**
 * A dense layer with relu and a row sum:
 *   h = x @ w; y = relu(h + broadcast(b)); s = sum(y, axis 1); dead = neg(x) (never used).
 */
function denseGraph() {
  const g = new GraphBuilder('Dense');
  const x = g.input('x', { dtype: 'f32', shape: [2, 3] });
  const w = g.param('w', { dtype: 'f32', shape: [3, 2] }, ZEROS);
  const b = g.param('b', { dtype: 'f32', shape: [2] }, ZEROS);
  const h = g.op('matmul', [x, w], { transpose_a: false, transpose_b: false });
  const bb = g.op('broadcast', [b], { shape: [2, 2], dims: [1] });
  const pre = g.op('add', [h, bb]);
  const y = g.op('relu', [pre]);
  const s = g.op('sum', [y], { axes: [1], keepdims: false });
  const dead = g.op('neg', [x]);
  g.output('y', y);
  g.output('s', s);
  return { graph: g.build(), ids: { x, w, b, h, bb, pre, y, s, dead } };
}

const X = tensorFrom('f32', [2, 3], [1, 2, 3, -1, 0, 1]);
const W = tensorFrom('f32', [3, 2], [1, 0, 0, 1, 1, -1]);
const B = tensorFrom('f32', [2], [0.5, -0.5]);

function feeds(overrides: { x?: Tensor; params?: Map<string, Tensor> } = {}) {
  return {
    inputs: new Map([['x', overrides.x ?? X]]),
    params: overrides.params ?? new Map([['w', W], ['b', B]]),
  };
}

describe('interpret', () => {
  // x @ w: row 0 = [1·1 + 3·1, 2·1 + 3·(−1)] = [4, −1]; row 1 = [−1 + 1, 0 − 1] = [0, −1].
  // + b = [[4.5, −1.5], [0.5, −1.5]]; relu = [[4.5, 0], [0.5, 0]]; row sums [4.5, 0.5].
  it('computes a dense layer as by hand', () => {
    const { graph } = denseGraph();
    const { outputs, values } = interpret(graph, feeds());
    expect(values).toBeUndefined();
    expect([...outputs.keys()]).toEqual(['y', 's']);
    expectAllClose(outputs.get('y')!, tensorFrom('f32', [2, 2], [4.5, 0, 0.5, 0]), toleranceFor('exact'));
    expectAllClose(outputs.get('s')!, tensorFrom('f32', [2], [4.5, 0.5]), toleranceFor('exact'));
  });

  it('keeps every value with keepAll', () => {
    const { graph, ids } = denseGraph();
    const { values } = interpret(graph, feeds(), { keepAll: true });
    expect(values).toBeDefined();
    expect([...values!.keys()].sort((a, b) => a - b)).toEqual(Object.values(ids).sort((a, b) => a - b));
    expectAllClose(values!.get(ids.h)!, tensorFrom('f32', [2, 2], [4, -1, 0, -1]), toleranceFor('exact'));
    expect(values!.get(ids.x)).toBe(X);
  });

  it('returns an input that is itself an output', () => {
    const g = new GraphBuilder('Id');
    const x = g.input('x', { dtype: 'i32', shape: [2] });
    g.output('same', x);
    const t = tensorFrom('i32', [2], [3, 4]);
    expect(interpret(g.build(), { inputs: new Map([['x', t]]), params: new Map() }).outputs.get('same')).toBe(t);
  });

  it('ignores params the graph does not declare', () => {
    const params = new Map([['w', W], ['b', B], ['adam.m.w', W]]);
    expect(() => interpret(denseGraph().graph, feeds({ params }))).not.toThrow();
  });
});

describe('interpret rejects feeds that do not match the graph', () => {
  const { graph } = denseGraph();

  it('names the input and both types on a shape mismatch', () => {
    const bad = tensorFrom('f32', [3, 2], [1, 2, 3, 4, 5, 6]);
    expect(() => interpret(graph, feeds({ x: bad }))).toThrow("graph @Dense: input 'x' expects f32[2,3], got f32[3,2]");
  });

  it('names the parameter on a dtype mismatch', () => {
    const params = new Map([['w', W], ['b', tensorFrom('i32', [2], [1, 2])]]);
    expect(() => interpret(graph, feeds({ params }))).toThrow("parameter 'b' expects f32[2], got i32[2]");
  });

  it('reports a missing input or parameter with its type', () => {
    expect(() => interpret(graph, { inputs: new Map(), params: feeds().params })).toThrow("no value given for input 'x' (f32[2,3])");
    expect(() => interpret(graph, feeds({ params: new Map([['w', W]]) }))).toThrow("no value given for parameter 'b' (f32[2])");
  });

  it('rejects an input name the graph does not have', () => {
    const f = feeds();
    const inputs = new Map([...f.inputs, ['image', X]]);
    expect(() => interpret(graph, { inputs, params: f.params })).toThrow("has no input named 'image'");
  });

  it('rejects a tensor whose data does not fit its type', () => {
    const lying: Tensor = { type: X.type, data: new Int32Array(6) };
    expect(() => interpret(graph, feeds({ x: lying }))).toThrow(/Int32Array/);
  });
});

describe('lastUses', () => {
  it('gives each value the index of its last reader, outputs Infinity, unread values -1', () => {
    const { graph, ids } = denseGraph();
    const last = lastUses(graph);
    // Nodes in order: 0 matmul, 1 broadcast, 2 add, 3 relu, 4 sum, 5 neg.
    expect(last.get(ids.x)).toBe(5);
    expect(last.get(ids.w)).toBe(0);
    expect(last.get(ids.b)).toBe(1);
    expect(last.get(ids.h)).toBe(2);
    expect(last.get(ids.pre)).toBe(3);
    expect(last.get(ids.y)).toBe(Infinity);
    expect(last.get(ids.s)).toBe(Infinity);
    expect(last.get(ids.dead)).toBe(-1);
  });

  it('covers every value of the graph', () => {
    const { graph } = denseGraph();
    const all = (g: Graph) => [...g.inputs, ...g.params, ...g.nodes].map((v) => v.id);
    expect([...lastUses(graph).keys()].sort((a, b) => a - b)).toEqual(all(graph).sort((a, b) => a - b));
  });
});
