// The kernel interpreter: every lowering equals the reference bit for bit, the arena layout is real, outputs are copied out.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import { OP_NAMES } from '../../compiler/ir/ops/registry.js';
import { roundToHalf } from '../../compiler/kernel/half.js';
import { runKernelProgram } from '../../compiler/kernel/interpret.js';
import { GraphIndex, lowerKernel, reductionsOf } from '../../compiler/kernel/lower-kernel.js';
import { LOWERINGS } from '../../compiler/kernel/lower-ops.js';
import { printKernelProgram } from '../../compiler/kernel/print.js';
import type { Placement } from '../../compiler/kernel/program.js';
import { buildKernelProgram } from '../../compiler/kernel/program.js';
import { valueNames } from '../../compiler/ir/print.js';
import { eliminateDeadCode } from '../../compiler/passes/rewrite.js';
import { arbGraph } from '../helpers/random-graph.js';
import { identicalOutputs, randomFeeds } from '../passes/support.js';

describe('kernel interpreter, one kernel per node', () => {
  it('equals the reference bit for bit on random graphs, covering every op; reduction counts match the table (300 graphs)', () => {
    const seen = new Set<OpName>();
    fc.assert(
      fc.property(arbGraph(), (g0) => {
        const g = eliminateDeadCode(g0);
        const feeds = randomFeeds(g);
        const program = buildKernelProgram(g, g.nodes.map((n) => [n.id]));
        expect(identicalOutputs(runKernelProgram(program, feeds).outputs, interpret(g, feeds).outputs)).toBe(true);
        const ix = new GraphIndex(g);
        for (const n of g.nodes) {
          seen.add(n.op);
          // The table's reduction count, which fusion budgets with, bounds what the lowering makes
          // (pool gradients over non-overlapping windows need one reduction fewer).
          if (LOWERINGS[n.op]) {
            const made = reductionsOf(lowerKernel(ix, new Set([n.id]), [n.id])).length;
            const declared = LOWERINGS[n.op]!.reductions ?? 0;
            expect([n.op, made], 'more reductions than the table declares').toEqual([n.op, Math.min(made, declared)]);
            if (!n.op.endsWith('pool2d_backward')) expect([n.op, made]).toEqual([n.op, declared]);
          }
        }
      }),
      { seed: 42, numRuns: 300 },
    );
    expect(OP_NAMES.filter((op) => !seen.has(op))).toEqual([]);
  });

  it('runs ops without a lowering as op kernels', () => {
    expect(OP_NAMES.filter((op) => !LOWERINGS[op])).toEqual(['random_uniform']);
    const b = new GraphBuilder('R');
    const key = b.input('key', { dtype: 'i32', shape: [] });
    b.output('u', b.op('random_uniform', [key], { shape: [3, 4], salt: 5 }));
    const g = b.build();
    const p = buildKernelProgram(g, [[g.nodes[0]!.id]]);
    expect(p.kernels[0]!.kind).toBe('op');
    const feeds = { inputs: new Map([['key', { type: { dtype: 'i32' as const, shape: [] }, data: new Int32Array([9]) }]]), params: new Map() };
    expect(identicalOutputs(runKernelProgram(p, feeds).outputs, interpret(g, feeds).outputs)).toBe(true);
  });
});

/** a = exp(x), b = exp(y), c = a + b, as three kernels, with given arena offsets for a and b (in the half arena with `half`). */
function threeKernels(aAt: number, bAt: number, half = false) {
  const g = new GraphBuilder('Three');
  const x = g.input('x', { dtype: 'f32', shape: [64] });
  const y = g.input('y', { dtype: 'f32', shape: [64] });
  const a = g.op('exp', [x]);
  const b = g.op('exp', [y]);
  const c = g.op('add', [a, b]);
  g.output('c', c);
  const graph = g.build();
  const of = new Map<ValueId, Placement>([
    [a, { kind: half ? 'half-arena' : 'arena', offset: aAt }],
    [b, { kind: half ? 'half-arena' : 'arena', offset: bAt }],
    [c, { kind: 'arena', offset: 512 }],
  ]);
  return { graph, program: buildKernelProgram(graph, [[a], [b], [c]], { arenaBytes: 768, halfArenaBytes: half ? 512 : 0, of }) };
}

describe('the arena', () => {
  it('holds temporaries at their planned offsets: two live values at one offset give wrong results', () => {
    const good = threeKernels(0, 256);
    const feeds = randomFeeds(good.graph);
    const want = interpret(good.graph, feeds).outputs;
    expect(identicalOutputs(runKernelProgram(good.program, feeds).outputs, want)).toBe(true);
    const clash = threeKernels(0, 0);
    expect(identicalOutputs(runKernelProgram(clash.program, feeds).outputs, want)).toBe(false);
  });

  it('stores half-arena values rounded to f16, and two live ones at one offset clash there too', () => {
    const good = threeKernels(0, 256, true);
    const feeds = randomFeeds(good.graph);
    const x = feeds.inputs.get('x')!.data;
    const y = feeds.inputs.get('y')!.data;
    const want = Array.from(x, (xi, i) => Math.fround(roundToHalf(Math.fround(Math.exp(xi))) + roundToHalf(Math.fround(Math.exp(y[i]!)))));
    expect(Array.from(runKernelProgram(good.program, feeds).outputs.get('c')!.data)).toEqual(want);
    const clash = threeKernels(0, 0, true);
    expect(Array.from(runKernelProgram(clash.program, feeds).outputs.get('c')!.data)).not.toEqual(want);
  });

  it('lets an output overwrite an input read at the same position in the same kernel', () => {
    const g = new GraphBuilder('InPlace');
    const x = g.input('x', { dtype: 'f32', shape: [8, 8] });
    const a = g.op('exp', [x]);
    const t = g.op('tanh', [a]);
    const c = g.op('mul', [t, a]);
    g.output('c', c);
    const graph = g.build();
    const of = new Map<ValueId, Placement>([
      [a, { kind: 'arena', offset: 0 }],
      [c, { kind: 'arena', offset: 0 }],
    ]);
    const program = buildKernelProgram(graph, [[a], [t, c]], { arenaBytes: 256, halfArenaBytes: 0, of });
    const feeds = randomFeeds(graph);
    expect(identicalOutputs(runKernelProgram(program, feeds).outputs, interpret(graph, feeds).outputs)).toBe(true);
  });

  it('rejects a feed of the wrong type, naming it', () => {
    const { graph, program } = threeKernels(0, 256);
    const feeds = randomFeeds(graph);
    const bad = { ...feeds, inputs: new Map([...feeds.inputs, ['x', { type: { dtype: 'f32' as const, shape: [3] }, data: new Float32Array(3) }]]) };
    expect(() => runKernelProgram(program, bad)).toThrow(/input 'x' expects f32\[64\], got f32\[3\]/);
  });
});

describe('printKernelProgram', () => {
  it('lists buffers with placements and each kernel with its loads, reductions and outputs', () => {
    const b = new GraphBuilder('Row');
    const x = b.input('x', { dtype: 'f32', shape: [2, 5] });
    b.output('p', b.op('softmax', [x], { axis: 1 }));
    const g = b.build();
    const text = printKernelProgram(buildKernelProgram(g, [[g.nodes[0]!.id]]), valueNames(g));
    expect(text).toContain('buffer 0 %x: f32[2,5] (input)');
    expect(text).toContain('buffer 1 %0: f32[2,5] (arena @0)');
    expect(text).toMatch(/kernel k0 reduction over \[2,5\] \(10 points; v0, v1\) \(in0 = %x\) -> \(%0\)/);
    expect(text).toMatch(/t\d+ = max\.f32\[v\d+<5\]\(in0\[/);
    expect(text).toMatch(/t\d+ = sum\.f64\[v\d+<5\]\(exp\(/);
  });
});
