// fusion: well-formed kernels within the target's limits, reasons for every edge, no duplicated heavy work.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { runKernelProgram } from '../../compiler/kernel/interpret.js';
import { GraphIndex, fusionClass, groupInputs, groupOutputs, lowerKernel, reductionsOf } from '../../compiler/kernel/lower-kernel.js';
import { buildKernelProgram } from '../../compiler/kernel/program.js';
import type { TargetLimits } from '../../compiler/kernel/target.js';
import { WEBGPU_DEFAULTS, WORKGROUP_BYTES } from '../../compiler/kernel/target.js';
import { checkFused, kernelIndex } from '../../compiler/passes/fused.js';
import { fusion } from '../../compiler/passes/fusion.js';
import { simplify } from '../../compiler/passes/simplify.js';
import { arbGraph } from '../helpers/random-graph.js';
import { identicalOutputs, randomFeeds } from './support.js';

const heavy = (g: Graph): string[] => g.nodes.filter((n) => !['elementwise', 'view'].includes(fusionClass(n.op))).map((n) => n.op).sort();

function checkLimits(g: Graph, kernels: readonly (readonly number[])[], limits: TargetLimits): void {
  const ix = new GraphIndex(g);
  for (const members of kernels) {
    const set = new Set(members);
    expect(groupInputs(ix, set).size + groupOutputs(ix, set).length).toBeLessThanOrEqual(limits.maxStorageBindings);
    if (members.some((v) => fusionClass(ix.defs.get(v)!.op) === 'opaque')) continue;
    const contraction = members.some((v) => fusionClass(ix.defs.get(v)!.op) === 'contraction');
    const reductions = reductionsOf(lowerKernel(ix, set)).length - (contraction ? 1 : 0);
    expect((contraction ? WORKGROUP_BYTES.contractionTiles : 0) + reductions * WORKGROUP_BYTES.perReduction).toBeLessThanOrEqual(limits.maxWorkgroupBytes);
  }
}

describe('fusion on random graphs', () => {
  it('makes a valid fused program within the limits, with a reason for every edge and heavy ops computed once (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const s = simplify(g);
        const f = fusion(s);
        expect(checkFused(f)).toEqual([]);
        expect(verifyGraph(f.graph)).toEqual([]);
        checkLimits(f.graph, f.kernels, WEBGPU_DEFAULTS);
        // Only elementwise and movement ops are ever copied; reductions and contractions appear once.
        expect(heavy(f.graph)).toEqual(heavy(s));
        const where = kernelIndex(f);
        const edges = f.graph.nodes.flatMap((n) => [...new Set(n.inputs)].filter((p) => where.has(p)).map((p) => `${p}>${n.id}`));
        expect(f.decisions.map((d) => `${d.producer}>${d.consumer}`).sort()).toEqual(edges.sort());
        for (const d of f.decisions) {
          expect(d.fused).toBe(where.get(d.producer) === where.get(d.consumer));
          expect(d.reason.length).toBeGreaterThan(3);
        }
        const feeds = randomFeeds(g);
        const got = runKernelProgram(buildKernelProgram(f.graph, f.kernels), feeds).outputs;
        expect(identicalOutputs(got, interpret(g, feeds).outputs)).toBe(true);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('splits instead of exceeding a tighter binding and workgroup limit (150 graphs)', () => {
    // Room for one contraction's tiles (a single op must fit) and two reductions.
    const tight: TargetLimits = { maxStorageBindings: 4, maxWorkgroupBytes: WORKGROUP_BYTES.contractionTiles + 2 * WORKGROUP_BYTES.perReduction, offsetAlignment: 256 };
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const f = fusion(simplify(g), { limits: tight });
        expect(checkFused(f)).toEqual([]);
        checkLimits(f.graph, f.kernels, tight);
      }),
      { seed: 5, numRuns: 150 },
    );
  });
});

describe('fusion decisions', () => {
  it('stores a reduction needed by two kernels and says why; copies a cheap op into both instead', () => {
    const b = new GraphBuilder('Two');
    const x = b.input('x', { dtype: 'f32', shape: [4, 8] });
    const w = b.input('w', { dtype: 'f32', shape: [8, 3] });
    const e = b.op('exp', [x]);
    const s = b.op('sum', [e], { axes: [1], keepdims: false });
    const m1 = b.op('matmul', [e, w], { transpose_a: false, transpose_b: false });
    const sb = b.op('broadcast', [s], { shape: [4, 3], dims: [0] });
    b.output('y', b.op('mul', [m1, sb]));
    b.output('t', b.op('tanh', [s]));
    const f = fusion(b.build());
    expect(checkFused(f)).toEqual([]);
    const byPair = new Map(f.decisions.map((d) => [`${f.graph.nodes.find((n) => n.id === d.producer)!.op}>${f.graph.nodes.find((n) => n.id === d.consumer)!.op}`, d]));
    // exp is read by the sum and by the matmul's operand loads: copied (cheap); the transcendental
    // copy would be recomputed inside the matmul, so that one edge is refused with its reason.
    expect(byPair.get('exp>matmul')).toMatchObject({ fused: false, reason: expect.stringContaining('transcendental exp would be recomputed') });
    expect(byPair.get('sum>broadcast')).toMatchObject({ fused: false, reason: expect.stringContaining('a contraction kernel takes only elementwise epilogues, not sum') });
    expect(byPair.get('sum>tanh')).toMatchObject({ fused: true, reason: expect.stringContaining('kernels merged') });
    expect(f.kernels.length).toBe(3);
  });

  it('stores a computed node once when a convolution would recompute it per tap', () => {
    // g = relu-style mask of a pooled gradient, read by a 3×3 convolution's operand loads and
    // by a sum: inlined, the conv would evaluate it 9 times per element; stored, the pooling
    // it reads fuses into the kernel that stores it. Behind a 1×1 convolution it is inlined
    // and copied into both kernels.
    const build = (k: number): Graph => {
      const b = new GraphBuilder('Masked');
      const z = b.input('z', { dtype: 'f32', shape: [2, 3, 8, 8] });
      const w = b.input('w', { dtype: 'f32', shape: [4, 3, k, k] });
      const pooled = b.op('avgpool2d', [z], { kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0] });
      const zero = b.op('constant', [], { value: 0, dtype: 'f32', shape: [2, 3, 8, 8] });
      const g = b.op('select', [b.op('greater', [z, zero]), pooled, zero]);
      b.output('y', b.op('conv2d', [g, w], { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 }));
      b.output('s', b.op('sum', [g], { axes: [0, 2, 3], keepdims: false }));
      return b.build();
    };
    const op = (f: ReturnType<typeof fusion>, v: number): string => f.graph.nodes.find((n) => n.id === v)!.op;
    const windowed = fusion(build(3));
    expect(checkFused(windowed)).toEqual([]);
    const refused = windowed.decisions.filter((d) => !d.fused && op(windowed, d.producer) === 'select');
    expect(refused.map((d) => op(windowed, d.consumer)).sort()).toEqual(['conv2d', 'sum']);
    expect(refused[0]!.reason).toContain('recomputed for every tap of a convolution window');
    expect(windowed.graph.nodes.filter((n) => n.op === 'select')).toHaveLength(1);
    const holder = windowed.kernels.find((k) => k.some((v) => op(windowed, v) === 'select'))!;
    expect(holder.map((v) => op(windowed, v))).toContain('avgpool2d');
    const pointwise = fusion(build(1));
    expect(checkFused(pointwise)).toEqual([]);
    expect(pointwise.graph.nodes.filter((n) => n.op === 'select').length).toBeGreaterThan(1);
  });

  it('stores a cheap node read by several kernels once the cheap ops it brings along pass the copy limit', () => {
    // t = x·1.5 + x·1.5 + … (n terms), read by a sum and a max: two reduction kernels. A short
    // chain is copied into both; a long one is stored and read by both.
    const build = (terms: number): Graph => {
      const b = new GraphBuilder('Chain');
      const x = b.input('x', { dtype: 'f32', shape: [4, 8] });
      const k = b.op('constant', [], { value: 1.5, dtype: 'f32', shape: [4, 8] });
      let t = b.op('mul', [x, k]);
      for (let i = 1; i < terms; i++) t = b.op('add', [t, b.op('mul', [b.op('neg', [t]), k])]);
      b.output('s', b.op('sum', [t], { axes: [1], keepdims: false }));
      b.output('m', b.op('max', [t], { axes: [0], keepdims: false }));
      return b.build();
    };
    const short = fusion(build(2));
    expect(checkFused(short)).toEqual([]);
    expect(short.decisions.some((d) => d.reason.includes('cheap ops it reads would be recomputed'))).toBe(false);
    const long = fusion(build(12));
    expect(checkFused(long)).toEqual([]);
    const stored = long.decisions.filter((d) => !d.fused && d.reason.includes('cheap ops it reads would be recomputed in each of 2 kernels'));
    expect(stored.map((d) => long.graph.nodes.find((n) => n.id === d.consumer)!.op).sort()).toEqual(['max', 'sum']);
    expect(long.kernels.length).toBe(3);
  });

  it('fuses a contraction only under elementwise epilogues, and keeps one contraction per kernel', () => {
    const b = new GraphBuilder('Mm');
    const x = b.input('x', { dtype: 'f32', shape: [4, 8] });
    const w1 = b.input('w1', { dtype: 'f32', shape: [8, 8] });
    const w2 = b.input('w2', { dtype: 'f32', shape: [8, 2] });
    const h = b.op('relu', [b.op('matmul', [x, w1], { transpose_a: false, transpose_b: false })]);
    b.output('y', b.op('matmul', [h, w2], { transpose_a: false, transpose_b: false }));
    const f = fusion(b.build());
    expect(f.kernels.length).toBe(2);
    const refused = f.decisions.find((d) => !d.fused)!;
    expect(refused.reason).toContain('kernel already holds the contraction matmul; one per kernel');
  });
});
