// One (case, implementation) measurement in a process of its own; prints one result line for bench/main.ts.
//
// Usage: node --import tsx bench/child.ts CASE IMPL [--quick]
// Own process per pair so no implementation inherits another's warmed caches, threads or heap.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseById, caseScale, caseWork, isSinter, sinterVariant, sizeLabel } from './cases.js';
import type { CaseData } from './data.js';
import { caseData } from './data.js';
import type { TfVariant } from './impls/tfjs.js';
import type { Prepared } from './measure.js';
import { FULL_PLAN, measure, NotAvailable, QUICK_PLAN, Unsupported } from './measure.js';
import type { CaseResult, Status } from './results.js';
import { median, RESULT_MARK } from './results.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function prepare(impl: string, data: CaseData): Promise<Prepared> {
  const variant = sinterVariant(impl);
  if (variant) return (await import('./impls/sinter.js')).prepareSinterVariant(variant, data);
  if (isSinter(impl)) return (await import('./impls/sinter.js')).prepareSinter(impl.slice('sinter-'.length), data);
  if (impl === 'tfjs-cpu' || impl === 'tfjs-wasm' || impl === 'tfjs-wasm-patched' || impl === 'tfjs-webgpu') return (await import('./impls/tfjs.js')).prepareTfjs(impl.slice('tfjs-'.length) as TfVariant, data);
  if (impl === 'ort-webgpu') return (await import('./impls/webgpu.js')).prepareOrt(data);
  if (impl === 'jax-wasm' || impl === 'jax-wasm-im2col') return (await import('./impls/jax.js')).prepareJax(data, impl === 'jax-wasm-im2col');
  throw new Error(`internal: no implementation '${impl}'`);
}

async function main(argv: readonly string[]): Promise<CaseResult> {
  const [caseId, impl] = argv.filter((a) => !a.startsWith('--'));
  const quick = argv.includes('--quick');
  const c = caseId === undefined ? undefined : caseById(caseId);
  if (!c || impl === undefined) throw new Error(`internal: child needs a known case and an implementation, got ${argv.join(' ')}`);
  const scale = caseScale(c, quick);
  const { unit, perStep } = caseWork(c, scale);
  const started = performance.now();
  const base = { case: c.id, impl, unit, size: sizeLabel(c, scale), stepsPerRun: 0, warmupSteps: 0, runs: [], figure: null, threads: null, check: null, note: null };
  const fail = (status: Status, reason: string): CaseResult => ({ ...base, status, reason, seconds: (performance.now() - started) / 1000 });
  try {
    const prepared = await prepare(impl, caseData(c, scale, ROOT));
    const t = await measure(prepared, quick ? QUICK_PLAN : FULL_PLAN);
    const runs = t.secondsPerStep.map((s) => perStep / s);
    return {
      ...base,
      status: 'ok',
      runs,
      figure: median(runs),
      stepsPerRun: t.stepsPerRun,
      warmupSteps: t.warmupSteps,
      threads: prepared.threads,
      check: Number.isFinite(t.check) ? t.check : null,
      note: prepared.note,
      adapter: prepared.adapter ?? null,
      reason: null,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (e) {
    if (e instanceof Unsupported) return fail('unsupported', e.message);
    if (e instanceof NotAvailable) return fail('not-available', e.message);
    return fail('error', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}

const result = await main(process.argv.slice(2));
process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
// Some peers keep worker threads or timers alive; the measurement is done.
process.exit(0);
