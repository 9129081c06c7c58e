// `sinter opt`, `sinter stats` and the --dump-after helper, driven through commander as the CLI will register them.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseDumpAfter, printState, runWithDumps, STAGE_NAMES, stateFromText } from '../../compiler/pipeline.js';
import { registerOpt } from '../../cli/commands/opt.js';
import { registerStats } from '../../cli/commands/stats.js';
import { UsageError, UserError } from '../../cli/io.js';
import { parseIr } from './support.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');

/** Runs one subcommand and returns what it wrote to stdout. */
async function run(...argv: string[]): Promise<string> {
  const program = new Command('sinter').exitOverride();
  registerOpt(program);
  registerStats(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

function irFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sinter-opt-'));
  const path = join(dir, 'g.ir');
  writeFileSync(path, text);
  return path;
}

const SMALL = `graph @G(%x: f32[4,8], %w: f32[8,3]) -> (y: f32[4,3]) {
  %h = matmul(%x, %w) {transpose_a = false, transpose_b = false} : f32[4,3]
  %r = relu(%h) : f32[4,3]
  %one = constant() {value = 1.0, dtype = f32, shape = [4, 3]} : f32[4,3]
  %y = mul(%r, %one) : f32[4,3]
  return %y
}
`;

afterEach(() => vi.restoreAllMocks());

describe('sinter opt', () => {
  it('runs the named passes and prints IR that the next pass can read', async () => {
    const fused = await run('opt', irFile(SMALL), '--passes', 'simplify,fusion');
    expect(fused).toContain('kernel @k0 {  // contraction matmul; stores %1');
    expect(fused).not.toMatch(/\bmul\(/);
    const planned = await run('opt', irFile(fused), '--passes', 'schedule,memory-plan');
    expect(planned).toContain('memory {\n  %1: 48 bytes at 0, live 0 to 0\n}');
    const { graph, layout } = parseIr(planned);
    expect(layout.kernels).toHaveLength(1);
    expect(graph.nodes.map((n) => n.op)).toEqual(['matmul', 'relu']);
  });

  it('prints the kernel program listing when lower comes last', async () => {
    expect(await run('opt', irFile(SMALL), '--passes', 'simplify,fusion,schedule,memory-plan,lower')).toMatch(/kernel k0 contraction over \[4,3\]/);
  });

  it('rejects unknown passes as a usage error and a malformed fused program as a user error', async () => {
    await expect(run('opt', irFile(SMALL), '--passes', 'fuse')).rejects.toThrow(UsageError);
    const broken = `graph @B(%x: f32[2]) -> (y: f32[2]) {
  kernel @k0 {
    %a = exp(%x) : f32[2]
  }
  kernel @k1 {
    %b = exp(%x) : f32[2]
  }
  return %a
}
`;
    await expect(run('opt', irFile(broken), '--passes', 'schedule')).rejects.toThrow(UserError);
    await expect(run('opt', irFile(broken), '--passes', 'schedule')).rejects.toThrow(/computes nothing that is used/);
  });
});

describe('sinter stats', () => {
  it('prints the figures as one JSON object with the documented keys, and consistent ones', async () => {
    const s = JSON.parse(await run('stats', join(EXAMPLES, 'mlp.sinter'), '--batch', '8', '--json')) as Record<string, number>;
    for (const key of ['graph_ops', 'kernels', 'flops', 'bytes_unfused', 'bytes_fused', 'peak_bytes', 'naive_bytes', 'lower_bound_bytes', 'compile_ms']) {
      expect(typeof s[key], key).toBe('number');
    }
    expect(s['kernels']!).toBeLessThan(s['graph_ops']!);
    expect(s['bytes_fused']!).toBeLessThan(s['bytes_unfused']!);
    expect(s['peak_bytes']!).toBeGreaterThanOrEqual(s['lower_bound_bytes']!);
    expect(s['flops']!).toBeGreaterThan(0);
  });

  it('measures the train step, which has more ops than the forward graph', async () => {
    const forward = JSON.parse(await run('stats', join(EXAMPLES, 'mlp.sinter'), '--batch', '4', '--json')) as { graph_ops: number };
    const text = await run('stats', join(EXAMPLES, 'mlp.sinter'), '--batch', '4', '--train');
    expect(text).toMatch(/at batch 4 \(train step\)/);
    const ops = Number(/graph ops\s+(\d+)/.exec(text)![1]);
    expect(ops).toBeGreaterThan(forward.graph_ops);
    expect(text).toMatch(/compile\s+[\d.]+ ms: front end [\d.]+, simplify [\d.]+, fusion [\d.]+, schedule [\d.]+, memory-plan [\d.]+, lower [\d.]+/);
  });
});

describe('--dump-after', () => {
  it('writes only the stages asked for', () => {
    const dumps: string[] = [];
    runWithDumps(parseIr(SMALL).graph, new Set(['fusion']), (text) => dumps.push(text));
    expect(dumps).toHaveLength(1);
    expect(dumps[0]).toMatch(/^\/\/ ---- after fusion \([\d.]+ ms\) ----\ngraph @G/);
  });

  it('names stages or all, and reports unknown names', () => {
    expect(parseDumpAfter('all')).toEqual({ stages: new Set(STAGE_NAMES) });
    expect(parseDumpAfter('fusion, memory-plan')).toEqual({ stages: new Set(['fusion', 'memory-plan']) });
    expect(parseDumpAfter('fusion,plan')).toEqual({ unknown: ['plan'] });
  });

  it('dumps every stage, and every IR dump parses back to the same text', () => {
    const dumps: string[] = [];
    runWithDumps(parseIr(SMALL).graph, new Set(STAGE_NAMES), (text) => dumps.push(text));
    expect(dumps.map((d) => /^\/\/ ---- after ([a-z-]+) /.exec(d)![1])).toEqual(STAGE_NAMES);
    expect(dumps[3]).toMatch(/\/\/ peak \d+ bytes, lower bound \d+, naive \d+/);
    expect(dumps[4]).toContain('program @G: 1 kernels');
    for (const d of dumps.slice(0, 4)) {
      const text = d.split('\n').filter((l) => !l.startsWith('// ')).join('\n');
      const { graph, layout } = parseIr(text);
      const back = stateFromText(graph, layout);
      if ('problems' in back) expect.fail(back.problems.join('; '));
      expect(printState(back.state)).toBe(text);
    }
  });
});
