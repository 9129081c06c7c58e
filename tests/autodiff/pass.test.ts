// The autodiff pass's guarantees (graph shape, locs, paths, accumulation, zeros, errors) and the float64 interpreter mode.

import { describe, expect, it } from 'vitest';
import type { Graph, Loc, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { RefTensor } from '../../compiler/ir/ops/op.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { GradientError, differentiate } from '../../compiler/passes/autodiff.js';
import { addWeightedLoss, checkGradients, f64Tensor } from './gradcheck.js';

const loc = (line: number): Loc => ({ file: 'model.sinter', line, col: 5 });
const f32 = (...shape: number[]) => ({ dtype: 'f32' as const, shape });
const ZEROS = { kind: 'zeros' as const, args: {} };

/** x [2,3] @ w [3,2] → tanh → loss = Σ · weights, each node on its own line; plus an output off the loss path. */
function dense(): { graph: Graph; feeds: { inputs: Map<string, RefTensor>; params: Map<string, RefTensor> } } {
  const b = new GraphBuilder('dense');
  const x = b.input('x', f32(2, 3));
  const w = b.param('w', f32(3, 2), ZEROS);
  const unused = b.param('unused', f32(4), ZEROS, false);
  const h = b.op('matmul', [x, w], { transpose_a: false, transpose_b: false }, loc(1));
  const y = b.op('tanh', [h], {}, loc(2));
  b.output('side', b.op('exp', [w], {}, loc(3)));
  b.output('unused_out', unused);
  addWeightedLoss(b, y);
  const inputs = new Map([
    ['x', f64Tensor(f32(2, 3), [0.1, -0.2, 0.3, 0.4, 0.5, -0.6])],
    ['loss_weights', f64Tensor(f32(2, 2), [1, -2, 0.5, 3])],
  ]);
  const params = new Map([
    ['w', f64Tensor(f32(3, 2), [0.2, -0.1, 0.05, 0.3, -0.25, 0.15])],
    ['unused', f64Tensor(f32(4), [1, 2, 3, 4])],
  ]);
  return { graph: b.build(), feeds: { inputs, params } };
}

const nodeOf = (g: Graph, v: ValueId) => g.nodes.find((n) => n.id === v)!;

describe('differentiate', () => {
  it('keeps inputs, params, forward nodes and outputs, and appends one grad.<name> output per wrt name', () => {
    const { graph } = dense();
    const { graph: dg, grads } = differentiate(graph, 'loss', ['w', 'x', 'unused']);
    expect(verifyGraph(dg)).toEqual([]);
    expect(dg.name).toBe(graph.name);
    // Ids are renumbered (the builder numbers inputs and params first); names and declarations stay.
    const strip = <T extends { id: ValueId }>({ id: _id, ...rest }: T) => rest;
    expect(dg.inputs.map(strip)).toEqual(graph.inputs.map(strip));
    expect(dg.params.map(strip)).toEqual(graph.params.map(strip));
    expect(dg.nodes.slice(0, graph.nodes.length).map(({ op, attrs, loc: l }) => ({ op, attrs, loc: l }))).toEqual(graph.nodes.map(({ op, attrs, loc: l }) => ({ op, attrs, loc: l })));
    expect(dg.outputs.map((o) => o.name)).toEqual([...graph.outputs.map((o) => o.name), 'grad.w', 'grad.x', 'grad.unused']);
    expect([...grads]).toEqual([
      ['w', 'grad.w'],
      ['x', 'grad.x'],
      ['unused', 'grad.unused'],
    ]);
  });

  it('gives correct gradients, and zeros for a value the loss does not depend on', () => {
    const { graph, feeds } = dense();
    const g = checkGradients(graph, feeds, ['w', 'x', 'unused']);
    expect(Array.from(g.get('unused')!.data)).toEqual([0, 0, 0, 0]);
  });

  it('gives each backward node the loc of the forward node it differentiates, and none to nodes off the loss path', () => {
    const { graph } = dense();
    const { graph: dg } = differentiate(graph, 'loss', ['w']);
    const backward = dg.nodes.slice(graph.nodes.length);
    // matmul's VJP for w alone is one matmul (x is not differentiated), at the forward matmul's line.
    const matmuls = backward.filter((n) => n.op === 'matmul');
    expect(matmuls.map((n) => n.loc)).toEqual([loc(1)]);
    expect(backward.filter((n) => n.loc?.line === 2).map((n) => n.op)).toContain('mul');
    // exp(w) feeds an output but not the loss: nothing is emitted for it.
    expect(backward.some((n) => n.loc?.line === 3)).toBe(false);
  });

  it('sums the cotangents of a value read twice with add', () => {
    const b = new GraphBuilder('square');
    const x = b.param('x', f32(3), ZEROS);
    addWeightedLoss(b, b.op('mul', [x, x], {}, loc(7)));
    const graph = b.build();
    const feeds = { inputs: new Map([['loss_weights', f64Tensor(f32(3), [1, 1, 1])]]), params: new Map([['x', f64Tensor(f32(3), [1, -2, 0.5])]]) };
    const g = checkGradients(graph, feeds, ['x']);
    expect(Array.from(g.get('x')!.data)).toEqual([2, -4, 1]);
    const { graph: dg } = differentiate(graph, 'loss', ['x']);
    const gradX = nodeOf(dg, dg.outputs.find((o) => o.name === 'grad.x')!.value);
    expect(gradX.op).toBe('add');
  });

  it('passes no gradient through integer values: a loss reached only through argmax has zero gradient', () => {
    const b = new GraphBuilder('argmax');
    const x = b.param('x', f32(2, 3), ZEROS);
    const k = b.op('cast', [b.op('argmax', [x], { axis: 1, keepdims: false })], { to: 'f32' });
    addWeightedLoss(b, b.op('add', [k, b.op('sum', [x], { axes: [1], keepdims: false })]));
    const { graph: dg, grads } = differentiate(b.build(), 'loss', ['x']);
    const out = interpret(
      dg,
      { inputs: new Map([['loss_weights', f64Tensor(f32(2), [3, 5])]]), params: new Map([['x', f64Tensor(f32(2, 3), [1, 9, 2, 8, 3, 4])]]) },
      { float64: true },
    ).outputs;
    // Only the sum contributes: each row's elements get that row's weight.
    expect(Array.from(out.get(grads.get('x')!)!.data)).toEqual([3, 3, 3, 5, 5, 5]);
  });

  it('differentiates the loss with respect to itself when the loss is an input', () => {
    const b = new GraphBuilder('identity');
    b.output('loss', b.input('l', f32()));
    const { graph: dg } = differentiate(b.build(), 'loss', ['l']);
    const out = interpret(dg, { inputs: new Map([['l', f64Tensor(f32(), [4])]]), params: new Map() }, { float64: true }).outputs;
    expect(Array.from(out.get('grad.l')!.data)).toEqual([1]);
  });

  it("throws GradientError naming the op and file:line:col for an op whose VJP is 'none' on the path, and not off it", () => {
    const b = new GraphBuilder('pool');
    const x = b.param('x', f32(1, 1, 2, 2), ZEROS);
    const dy = b.param('dy', f32(1, 1, 1, 1), ZEROS);
    const attrs = { kernel: [2, 2], stride: [1, 1], padding: [0, 0, 0, 0] };
    const routed = b.op('maxpool2d_backward', [x, dy], attrs, loc(12));
    b.output('loss', b.op('sum', [routed], { axes: [0, 1, 2, 3], keepdims: false }));
    b.output('other', b.op('sum', [x], { axes: [0, 1, 2, 3], keepdims: false }));
    const g = b.build();
    expect(() => differentiate(g, 'loss', ['dy'])).toThrow(GradientError);
    expect(() => differentiate(g, 'loss', ['dy'])).toThrow(/'maxpool2d_backward' at model\.sinter:12:5/);
    try {
      differentiate(g, 'loss', ['dy']);
    } catch (e) {
      expect(e).toBeInstanceOf(GradientError);
      expect((e as GradientError).op).toBe('maxpool2d_backward');
      expect((e as GradientError).loc).toEqual(loc(12));
    }
    expect(verifyGraph(differentiate(g, 'other', ['x', 'dy']).graph)).toEqual([]);
  });

  it('reports a bad request as an internal error naming the problem', () => {
    const { graph } = dense();
    expect(() => differentiate(graph, 'nope', ['w'])).toThrow(/internal: .*no output 'nope'/);
    expect(() => differentiate(graph, 'side', ['w'])).toThrow(/internal: .*must be f32\[\], got f32\[3,2\]/);
    expect(() => differentiate(graph, 'loss', ['v'])).toThrow(/internal: .*no input or param 'v'/);
    expect(() => differentiate(graph, 'loss', ['w', 'w'])).toThrow(/internal: .*repeat/);
    const b = new GraphBuilder('ints');
    const i = b.input('i', { dtype: 'i32', shape: [] });
    b.output('loss', b.op('cast', [i], { to: 'f32' }));
    expect(() => differentiate(b.build(), 'loss', ['i'])).toThrow(/internal: .*only f32 values have gradients/);
  });

  it('differentiates its own output again: second derivatives of tanh match the closed form', () => {
    const b = new GraphBuilder('second');
    const x = b.param('x', f32(3), ZEROS);
    b.output('loss', b.op('sum', [b.op('tanh', [x], {}, loc(1))], { axes: [0], keepdims: false }));
    const first = differentiate(b.build(), 'loss', ['x']).graph;
    // loss2 = Σ d loss / dx = Σ (1 − tanh² x); its gradient is −2 tanh x (1 − tanh² x).
    const b2 = new GraphBuilder('second');
    const ids = new Map<ValueId, ValueId>();
    for (const p of first.params) ids.set(p.id, b2.param(p.name, p.type, p.init));
    for (const n of first.nodes) ids.set(n.id, b2.op(n.op, n.inputs.map((v) => ids.get(v)!), n.attrs, n.loc));
    const gx = ids.get(first.outputs.find((o) => o.name === 'grad.x')!.value)!;
    b2.output('loss', b2.op('sum', [gx], { axes: [0], keepdims: false }));
    const xs = [-0.7, 0.1, 1.3];
    const out = interpret(differentiate(b2.build(), 'loss', ['x']).graph, { inputs: new Map(), params: new Map([['x', f64Tensor(f32(3), xs)]]) }, { float64: true }).outputs;
    const want = xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    Array.from(out.get('grad.x')!.data).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });
});

describe('interpret with float64', () => {
  const b = new GraphBuilder('mixed');
  const x = b.input('x', f32(2));
  const k = b.input('k', { dtype: 'i32', shape: [2] });
  b.output('third', b.op('div', [x, b.op('constant', [], { value: 3, dtype: 'f32', shape: [2] })]));
  b.output('index', b.op('add', [k, k]));
  const g = b.build();
  const inputs = { x: tensorFrom('f32', [2], [1, 2]), k: tensorFrom('i32', [2], [4, -5]) };

  it('holds f32 values in Float64Array without rounding, and leaves i32 values in Int32Array', () => {
    const out = interpret(g, { inputs: new Map(Object.entries(inputs)), params: new Map() }, { float64: true }).outputs;
    expect(out.get('third')!.data).toBeInstanceOf(Float64Array);
    expect(Array.from(out.get('third')!.data)).toEqual([1 / 3, 2 / 3]);
    expect(out.get('index')!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(out.get('index')!.data)).toEqual([8, -10]);
  });

  it('leaves the default path in float32', () => {
    const out = interpret(g, { inputs: new Map(Object.entries(inputs)), params: new Map() }).outputs;
    expect(out.get('third')!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.get('third')!.data)).toEqual([Math.fround(1 / 3), Math.fround(2 / 3)]);
  });

  it('accepts f32 feeds as Float64Array only in float64 mode, and never for i32 values', () => {
    const wide = { x: f64Tensor(f32(2), [0.1, 0.2]), k: inputs.k };
    const out = interpret(g, { inputs: new Map<string, RefTensor>(Object.entries(wide)), params: new Map() }, { float64: true }).outputs;
    expect(out.get('third')!.data[0]).toBe(0.1 / 3);
    const badInt = { x: inputs.x, k: { type: inputs.k.type, data: new Float64Array([1, 2]) } };
    expect(() => interpret(g, { inputs: new Map<string, RefTensor>(Object.entries(badInt)), params: new Map() }, { float64: true })).toThrow(/input 'k' \(i32\[2\]\) holds 2 elements in a Float64Array/);
  });
});
