// `init:` on dense and conv2d: the weight's initializer by name, with its fans and default arguments; clear errors for bad names.

import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { printGraph } from '../../compiler/ir/print.js';
import { compileSource } from '../../dsl/frontend.js';

const MODEL = (conv: string, dense: string): string => `model M(x: f32[batch, 2, 8, 8]) -> y: f32[batch, 3] {
  x |> conv2d(4, kernel: 3${conv}) |> flatten |> dense(3${dense})
}`;

function compile(source: string): Graph {
  const r = compileSource(source, 'init.sinter', { dims: { batch: 1 } });
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.graph!;
}

const initOf = (g: Graph, name: string) => g.params.find((p) => p.name === name)!.init;

describe('init: on built-in layers', () => {
  it('defaults to glorot_uniform with the weight’s fans (conv: channels × window)', () => {
    const g = compile(MODEL('', ''));
    expect(initOf(g, 'conv2d_1.w')).toEqual({ kind: 'glorot_uniform', args: { fan_in: 18, fan_out: 36 } });
    expect(initOf(g, 'dense_1.w')).toEqual({ kind: 'glorot_uniform', args: { fan_in: 144, fan_out: 3 } });
    expect(initOf(g, 'conv2d_1.b')).toEqual({ kind: 'zeros', args: {} });
  });

  it('takes a named initializer, filling its fans or default arguments', () => {
    const g = compile(MODEL(', init: "he_uniform"', ', init: "normal"'));
    expect(initOf(g, 'conv2d_1.w')).toEqual({ kind: 'he_uniform', args: { fan_in: 18 } });
    expect(initOf(g, 'dense_1.w')).toEqual({ kind: 'normal', args: { std: 0.05, mean: 0 } });
    expect(printGraph(g)).toContain('= he_uniform {fan_in = 18}');
  });

  it('draws He-uniform weights within √(6/fan_in), wider than Glorot’s bound', () => {
    const he = initParams(compile(MODEL(', init: "he_uniform"', '')), 3).get('conv2d_1.w')!.data;
    const glorot = initParams(compile(MODEL('', '')), 3).get('conv2d_1.w')!.data;
    const maxAbs = (d: ArrayLike<number>) => Math.max(...Array.from(d, Math.abs));
    expect(maxAbs(he)).toBeLessThanOrEqual(Math.sqrt(6 / 18));
    expect(maxAbs(glorot)).toBeLessThanOrEqual(Math.sqrt(6 / (18 + 36)));
    // 72 draws: all inside Glorot's bound would have probability (√(6/54) / √(6/18))^72 ≈ 1e-17.
    expect(maxAbs(he)).toBeGreaterThan(Math.sqrt(6 / (18 + 36)));
  });

  it('rejects an unknown name with the closest one as a hint, and names needing arguments', () => {
    const r = compileSource(MODEL(', init: "he_unifrom"', ''), 'init.sinter', { dims: { batch: 1 } });
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d.code).toBe('E0306');
    expect(d.message).toContain('"he_unifrom" is not one of');
    expect(d.hint).toBe('did you mean "he_uniform"?');
    expect(d.span.start.line).toBe(2);
    const c = compileSource(MODEL('', ', init: "constant"'), 'init.sinter', { dims: { batch: 1 } });
    expect(c.diagnostics.map((x) => x.code)).toEqual(['E0306']);
  });
});
