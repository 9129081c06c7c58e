// Verifier: accepts valid graphs, rejects each kind of broken graph with a message naming the culprit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, GraphParam, Node } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { printGraph } from '../../compiler/ir/print.js';
import { assertVerified, verifyGraph } from '../../compiler/ir/verify.js';
import { arbGraph } from '../helpers/random-graph.js';

/**
 * x: f32[2,3] input, w: f32[3,4] param; %0 = matmul(x, w) : f32[2,4]; %1 = relu(%0); %2 = sum(%1) over axis 1.
 * Ids: x 0, w 1, %0 2, %1 3, %2 4.
 */
function base(): Graph {
  const b = new GraphBuilder('Base');
  const x = b.input('x', { dtype: 'f32', shape: [2, 3] });
  const w = b.param('w', { dtype: 'f32', shape: [3, 4] }, { kind: 'glorot_uniform', args: { fan_in: 3, fan_out: 4 } });
  const h = b.op('matmul', [x, w], { transpose_a: false, transpose_b: false }, { file: 'm.sinter', line: 3, col: 5 });
  const r = b.op('relu', [h]);
  b.output('y', b.op('sum', [r], { axes: [1], keepdims: false }));
  return b.build();
}

function withNode(g: Graph, k: number, change: (n: Node) => Partial<Node>): Graph {
  return { ...g, nodes: g.nodes.map((n, i) => (i === k ? ({ ...n, ...change(n) } as Node) : n)) };
}

function withParam(g: Graph, change: (p: GraphParam) => Partial<GraphParam>): Graph {
  return { ...g, params: g.params.map((p) => ({ ...p, ...change(p) }) as GraphParam) };
}

/** The verifier's problems for g; exactly one is expected, and it must contain every fragment. */
function expectOneProblem(g: Graph, ...fragments: string[]): void {
  const problems = verifyGraph(g);
  expect(problems).toHaveLength(1);
  for (const f of fragments) expect(problems[0]).toContain(f);
}

describe('verifyGraph', () => {
  it('accepts a valid graph', () => {
    expect(verifyGraph(base())).toEqual([]);
  });

  it('rejects a use before the definition (nodes out of order)', () => {
    const g = base();
    const swapped = { ...g, nodes: [g.nodes[1]!, g.nodes[0]!, g.nodes[2]!] };
    expectOneProblem(swapped, 'node %0 (relu, id 3)', 'input 0 (id 2) is used before its definition');
  });

  it('rejects a use of an id defined nowhere', () => {
    expectOneProblem(withNode(base(), 1, () => ({ inputs: [99] })), 'node %1 (relu', 'id 99', 'is not defined');
  });

  it('rejects a type that disagrees with the type rule', () => {
    const g = withNode(base(), 1, () => ({ type: { dtype: 'f32', shape: [4, 2] } }));
    // The bad relu type also flows into the sum, whose own type then disagrees with its rule.
    const problems = verifyGraph(g);
    expect(problems[0]).toContain('node %1 (relu, id 3): type is f32[4,2] but the type rule gives f32[2,4]');
    expect(problems).toHaveLength(2);
  });

  it('rejects a type rule violation in the inputs', () => {
    expectOneProblem(withNode(base(), 2, () => ({ attrs: { axes: [2], keepdims: false } })), 'node %2 (sum', 'axis 2 is out of range');
  });

  it('rejects attributes that do not match the schema', () => {
    const g = base();
    expectOneProblem(withNode(g, 0, () => ({ attrs: { transpose_a: 1, transpose_b: false } })), 'node %0 (matmul', "'transpose_a' must be true or false");
    expectOneProblem(withNode(g, 0, () => ({ attrs: { transpose_a: false } })), 'node %0 (matmul', "missing attribute 'transpose_b'");
    expectOneProblem(withNode(g, 1, () => ({ attrs: { alpha: 0.1 } })), 'node %1 (relu', "unknown attribute 'alpha'");
    // An inherited property name must not pass for a schema key.
    expectOneProblem(withNode(g, 1, () => ({ attrs: { constructor: 1 } })), 'node %1 (relu', "unknown attribute 'constructor'");
    expectOneProblem(withNode(g, 2, () => ({ attrs: { axes: [1.5], keepdims: false } })), 'node %2 (sum', "'axes' must be a list of integers");
  });

  it('rejects an unknown op and a wrong arity', () => {
    expectOneProblem(withNode(base(), 1, () => ({ op: 'relux' as OpName })), 'node %1 (relux', "unknown op 'relux'");
    expectOneProblem(withNode(base(), 1, (n) => ({ inputs: [n.inputs[0]!, n.inputs[0]!] })), 'node %1 (relu', 'takes 1 input(s), got 2');
  });

  it('rejects duplicate ids and duplicate or malformed names', () => {
    const g = base();
    expectOneProblem({ ...withNode(g, 2, () => ({ id: 1 })), outputs: [{ name: 'y', value: 1 }] }, 'node %2 (sum', 'id 1 is already used by param %w');
    expectOneProblem(withParam(g, () => ({ name: 'x' })), "param %x: name 'x' is already used by input %x");
    expectOneProblem(withParam(g, () => ({ name: 'w"; drop' })), 'param %w"; drop: name', 'is not a valid name');
    expectOneProblem({ ...g, inputs: [{ ...g.inputs[0]!, name: '0' }] }, 'input %0: name "0" is not a valid name');
    expectOneProblem({ ...g, name: 'Bad Name' }, 'graph name "Bad Name" is not a valid name');
  });

  it('rejects bad outputs', () => {
    const g = base();
    expectOneProblem({ ...g, outputs: [...g.outputs, { name: 'y', value: 0 }] }, "output 1 'y': the name is used by an earlier output");
    expectOneProblem({ ...g, outputs: [{ name: 'y', value: 42 }] }, "output 0 'y': value id 42 is not defined");
    expectOneProblem({ ...g, outputs: [{ name: 'two words', value: 0 }] }, 'output 0: name "two words" is not a valid name');
  });

  it('checks output aliases: a param of the same type, never aliased twice', () => {
    const g = base();
    const b = GraphBuilder.extend(g);
    const w2 = b.op('mul', [1, 1]);
    b.output('next.w', w2, 'w');
    const ok = b.build();
    expect(verifyGraph(ok)).toEqual([]);
    const next = ok.outputs[1]!;
    expectOneProblem({ ...ok, outputs: [ok.outputs[0]!, { ...next, aliases: 'x' }] }, "output 1 'next.w'", 'aliases "x", which is not a parameter');
    expectOneProblem({ ...ok, outputs: [ok.outputs[0]!, { ...next, value: 2 }] }, "output 1 'next.w': has type f32[2,4] but aliases param %w of type f32[3,4]");
    expectOneProblem({ ...ok, outputs: [...ok.outputs, { ...next, name: 'again' }] }, "output 2 'again': param %w is already aliased by output 'next.w'");
  });

  it('rejects bad initializers', () => {
    expectOneProblem(withParam(base(), () => ({ init: { kind: 'xavier' as 'zeros', args: {} } })), "param %w: unknown initializer 'xavier'");
    expectOneProblem(withParam(base(), () => ({ init: { kind: 'normal', args: { std: Number.NaN } } })), "param %w: initializer argument 'std' is NaN");
    expectOneProblem(withParam(base(), () => ({ init: { kind: 'normal', args: { 'a b': 1 } } })), 'param %w: initializer argument name "a b"');
  });

  it('rejects malformed types and locations', () => {
    const g = base();
    expectOneProblem({ ...g, inputs: [{ ...g.inputs[0]!, type: { dtype: 'f64' as 'f32', shape: [2, 3] } }] }, "input %x has unknown dtype 'f64'");
    expectOneProblem(withParam(g, () => ({ type: { dtype: 'f32', shape: [3, -4] } })), 'param %w has invalid shape [3, -4]');
    expectOneProblem(withParam(g, () => ({ type: { dtype: 'f32', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] } })), 'param %w has rank 9');
    expectOneProblem(withParam(g, () => ({ type: { dtype: 'f32', shape: [1 << 20, 1 << 20] } })), 'param %w has too many elements');
    expectOneProblem(withNode(g, 0, () => ({ loc: { file: 'm.sinter', line: 0, col: 5 } })), 'node %0 (matmul', 'loc line 0');
    expectOneProblem(withNode(g, 0, () => ({ loc: { file: '', line: 1, col: 5 } })), 'node %0 (matmul', 'empty file name');
  });

  it('finds the broken node in random graphs whose node type was changed (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), fc.nat(), (g, pick) => {
        const k = pick % g.nodes.length;
        const broken = withNode(g, k, (n) => ({ type: { ...n.type, shape: [...n.type.shape, 2] } }));
        expect(verifyGraph(broken)[0]).toContain(`node %${k} (${g.nodes[k]!.op}`);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('assertVerified', () => {
  it('passes a valid graph silently', () => {
    expect(() => assertVerified(base(), 'simplify')).not.toThrow();
  });

  it('throws an internal error naming the pass and the problem, followed by the printed IR', () => {
    const g = withNode(base(), 1, () => ({ inputs: [99] }));
    let message = '';
    try {
      assertVerified(g, 'simplify');
    } catch (e) {
      message = (e as Error).message;
    }
    const [first, ...rest] = message.split('\n');
    expect(first).toMatch(/^internal: verifier failed after simplify: node %1 \(relu, id 3\): input 0 \(id 99\) is not defined$/);
    expect(`${rest.join('\n')}`).toBe(printGraph(g));
    expect(message).toContain('%1 = relu(%?99) : f32[2,4]');
  });
});
