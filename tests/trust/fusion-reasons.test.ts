// Fusion's reasons, as `sinter stats` explains them: every edge left between kernels has a kind from the fixed list, with its ops' DSL lines.

import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { fusion, UNFUSED_REASONS } from '../../compiler/passes/fusion.js';
import { runPipeline } from '../../compiler/pipeline.js';
import { unfusedEdges } from '../../cli/commands/stats.js';
import type { UnfusedEdge } from '../../cli/commands/stats.js';
import { loadModel } from '../../cli/load.js';
import { loadTrainingModel } from '../../cli/training.js';
import { runCli } from '../helpers/cli.js';

const KINDS = new Set<string>(UNFUSED_REASONS.map((r) => r.kind));
const examples = readdirSync('examples').filter((f) => f.endsWith('.sinter')).map((f) => join('examples', f));
const dir = mkdtempSync(join(tmpdir(), 'sinter-reasons-'));

const f32 = (...shape: number[]): TensorType => ({ dtype: 'f32', shape });
const mm = { transpose_a: false, transpose_b: false };

function expectClassified(edges: readonly UnfusedEdge[]): void {
  for (const e of edges) {
    expect(e.kinds.length, e.reason).toBeGreaterThan(0);
    for (const k of e.kinds) expect(KINDS.has(k), `'${e.reason}' has no kind`).toBe(true);
  }
}

/** The first kind of the one unfused edge from the op `from` to the op `to`. */
function kindOf(b: GraphBuilder, from: string, to: string): string {
  const f = fusion(b.build());
  const edges = unfusedEdges(f).filter((e) => e.producer.op === from && e.consumer.op === to);
  expect(edges, `one unfused ${from} → ${to} edge`).toHaveLength(1);
  return edges[0]!.kinds[0]!;
}

describe('fusion reasons on the examples', () => {
  it.each(examples)('%s: every edge left between kernels (forward and train step) has kinds from the fixed list and its ops have DSL lines', async (file) => {
    const train = (await loadTrainingModel(file, undefined)).graphs.train(2);
    for (const g of [loadModel(file, { batch: 2 }).graph, train]) {
      const { state } = runPipeline(g, { passes: ['simplify', 'fusion'] });
      const fused = state.fused!;
      const edges = unfusedEdges(fused);
      expect(edges.length).toBe(fused.decisions.filter((d) => !d.fused).length);
      expectClassified(edges);
      for (const e of edges) expect(e.producer.kernel).not.toBe(e.consumer.kernel);
      // The forward graph's nodes all come from the source.
      if (g !== train) for (const e of edges) expect(e.producer.loc).toMatch(new RegExp(`^${file}:\\d+$`));
    }
  });
});

describe('planted graphs hit their reason', () => {
  it('a contraction feeding a contraction', () => {
    const b = new GraphBuilder('Mm');
    const h = b.op('relu', [b.op('matmul', [b.input('x', f32(4, 8)), b.input('w1', f32(8, 8))], mm)]);
    b.output('y', b.op('matmul', [h, b.input('w2', f32(8, 2))], mm));
    expect(kindOf(b, 'matmul', 'relu')).toBe('contraction-feeds-contraction');
  });

  it('bindings that would exceed 8', () => {
    const b = new GraphBuilder('Wide');
    const xs = Array.from({ length: 9 }, (_, i) => b.input(`x${i}`, f32(16)));
    // A reduction roots its own kernel; its consumer chain would then bind ten buffers.
    let acc: ValueId = b.op('exp', [xs[0]!]);
    for (const x of xs.slice(1)) acc = b.op('add', [acc, x]);
    const s = b.op('sum', [acc], { axes: [0], keepdims: false });
    b.output('y', s);
    const f = fusion(b.build());
    const edges = unfusedEdges(f);
    expectClassified(edges);
    expect(edges.some((e) => e.kinds[0] === 'bindings')).toBe(true);
  });

  it("a transcendental op in a contraction's operand", () => {
    const b = new GraphBuilder('Op');
    const e = b.op('exp', [b.input('x', f32(4, 8))]);
    b.output('y', b.op('matmul', [e, b.input('w', f32(8, 3))], mm));
    b.output('s', b.op('sum', [e], { axes: [1], keepdims: false }));
    expect(kindOf(b, 'exp', 'matmul')).toBe('operand-recompute');
  });

  it('a reduction feeding a broadcast into a contraction epilogue', () => {
    const b = new GraphBuilder('Rb');
    const x = b.input('x', f32(4, 8));
    const s = b.op('sum', [x], { axes: [1], keepdims: false });
    const m = b.op('matmul', [x, b.input('w', f32(8, 3))], mm);
    b.output('y', b.op('mul', [m, b.op('broadcast', [s], { shape: [4, 3], dims: [0] })]));
    expect(kindOf(b, 'sum', 'broadcast')).toBe('reduction-with-contraction');
  });

  it('a value named by a graph output', () => {
    const b = new GraphBuilder('Out');
    const m = b.op('matmul', [b.input('x', f32(4, 8)), b.input('w', f32(8, 3))], mm);
    b.output('m', m);
    b.output('y', b.op('softmax', [m], { axis: 1 }));
    expect(kindOf(b, 'matmul', 'softmax')).toBe('graph-output');
  });
});

describe('sinter stats explains fusion', () => {
  const src = join(dir, 'two.sinter');
  writeFileSync(src, ['model Two(x: f32[batch, 8]) -> y: f32[batch, 2] {', '  x', '    |> dense(8, act: relu)', '    |> dense(2)', '}', ''].join('\n'));

  it('lists the edge with both ops, their kernels and lines, its kind and the reason, in text and --json', async () => {
    const r = await runCli('stats', src, '--batch', '4');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/fusion +\d+ edges between ops: \d+ fused, 1 left between kernels/);
    expect(r.stdout).toMatch(new RegExp(`k0 %\\d+ matmul \\(${src}:3\\) → k1 %\\d+ add \\(${src}:3\\)\\n +\\[contraction-feeds-contraction`));
    const j = JSON.parse((await runCli('stats', src, '--batch', '4', '--json')).stdout) as { unfused: UnfusedEdge[]; unfused_by_reason: Record<string, number>; edges: number; edges_fused: number };
    expect(j.unfused).toHaveLength(1);
    expect(j.unfused[0]).toMatchObject({ producer: { op: 'matmul', kernel: 'k0', loc: `${src}:3` }, consumer: { op: 'add', kernel: 'k1', loc: `${src}:3` } });
    expect(j.unfused_by_reason).toEqual({ 'contraction-feeds-contraction': 1 });
    expect(j.edges - j.edges_fused).toBe(1);
  });

  it('lists the first 30 edges of a big graph, all of them with --unfused', async () => {
    const r = await runCli('stats', 'examples/transformer.sinter', '--batch', '2');
    const n = Number(/(\d+) left between kernels/.exec(r.stdout)![1]);
    expect(n).toBeGreaterThan(30);
    expect(r.stdout.match(/^ {6}\[/gm)).toHaveLength(30);
    expect(r.stdout).toContain(`and ${n - 30} more (--unfused lists them all)`);
    const all = await runCli('stats', 'examples/transformer.sinter', '--batch', '2', '--unfused');
    expect(all.stdout.match(/^ {6}\[/gm)).toHaveLength(n);
  });
});
