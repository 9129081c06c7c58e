// `npm run bench`: every (case, implementation) in its own process, one table, one JSON file in bench/results/.
//
// Options: --cases a,b  --impl a,b  --quick (small sizes, few runs: a smoke test)
//          --include-slow (run the reference interpreter's CNN train step too)  --out FILE
// Pairs run one after another, never side by side: they would share the two cores.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from '../cli/training.js';
import type { BenchCase } from './cases.js';
import { applies, caseScale, caseWork, isSinter, parseArgs, sinterBackendOf, sizeLabel, skipReason, USAGE, UsageError } from './cases.js';
import type { BenchFile, CaseResult, HostInfo, Status } from './results.js';
import { formatNumber, formatReport, RESULT_MARK, RESULTS_SCHEMA, validateBenchFile } from './results.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Long enough for the slowest pair that runs by default (TF.js-cpu's CNN train step, ~30 s a step). */
const CHILD_TIMEOUT_MS = 20 * 60_000;

function hostInfo(): HostInfo {
  const cpu = cpus();
  return {
    kind: `${process.platform}-${process.arch}-${cpu.length}cpu`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpus: cpu.length,
    node: process.versions.node,
    loadavg: loadavg(),
  };
}

/** A result for a pair that was not run (left out by policy, or missing). */
function notRun(c: BenchCase, impl: string, quick: boolean, status: Status, reason: string): CaseResult {
  const scale = caseScale(c, quick);
  return { case: c.id, impl, status, reason, unit: caseWork(c, scale).unit, size: sizeLabel(c, scale), figure: null, runs: [], stepsPerRun: 0, warmupSteps: 0, threads: null, check: null, note: null, seconds: 0 };
}

/**
 * How to start a child: through tsx from the sources, or, bundled for a machine without
 * node_modules (bench/device/pack.sh builds the bundles, bench/device/run.sh sets
 * SINTER_BENCH_BUNDLED=1), the child bundle beside this one.
 */
function childCommand(): string[] {
  if (process.env['SINTER_BENCH_BUNDLED'] === '1') return [join(dirname(fileURLToPath(import.meta.url)), 'child.mjs')];
  return ['--import', 'tsx', join(ROOT, 'bench', 'child.ts')];
}

function runChild(c: BenchCase, impl: string, quick: boolean): Promise<CaseResult> {
  const args = [...childCommand(), c.id, impl, ...(quick ? ['--quick'] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (line) return resolve(JSON.parse(line.slice(RESULT_MARK.length)) as CaseResult);
      const why = signal === 'SIGKILL' ? `killed after ${CHILD_TIMEOUT_MS / 60_000} minutes` : `exited with ${code ?? signal}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      resolve(notRun(c, impl, quick, 'error', `the child process ${why}${tail ? `: ${tail}` : ''}`));
    });
  });
}

function progressLine(r: CaseResult): string {
  const what = r.status === 'ok' ? `${formatNumber(r.figure!)} ${r.unit}` : `${r.status}${r.reason ? `: ${r.reason}` : ''}`;
  return `${what} (${r.seconds.toFixed(1)} s)`;
}

function defaultOut(date: Date, host: HostInfo, quick: boolean): string {
  return join(ROOT, 'bench', 'results', `${date.toISOString().slice(0, 10)}-${host.kind}${quick ? '-quick' : ''}.json`);
}

async function main(argv: readonly string[]): Promise<void> {
  const registered = Object.keys(BACKENDS);
  const opts = parseArgs(argv, registered);
  const started = new Date();
  const host = hostInfo();
  const pairs = opts.cases.flatMap((c) => opts.impls.filter((impl) => applies(impl, c.id)).map((impl) => ({ c, impl })));
  const results: CaseResult[] = [];
  for (const [i, { c, impl }] of pairs.entries()) {
    const backend = sinterBackendOf(impl);
    const skip = skipReason(impl, c, opts.includeSlow);
    let r: CaseResult;
    if (isSinter(impl) && !registered.includes(backend)) r = notRun(c, impl, opts.quick, 'not-available', `Sinter has no '${backend}' backend yet`);
    else if (skip !== null) r = notRun(c, impl, opts.quick, 'skipped', skip);
    else {
      process.stderr.write(`[${i + 1}/${pairs.length}] ${c.id} × ${impl} … `);
      r = await runChild(c, impl, opts.quick);
      process.stderr.write(`${progressLine(r)}\n`);
    }
    results.push(r);
  }
  const file: BenchFile = {
    schema: RESULTS_SCHEMA,
    date: started.toISOString(),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    host,
    options: { quick: opts.quick, includeSlow: opts.includeSlow },
    results,
  };
  const problems = validateBenchFile(JSON.parse(JSON.stringify(file)));
  if (problems.length) throw new Error(`internal: the results break their schema: ${problems.join('; ')}`);
  const out = opts.out ?? defaultOut(started, host, opts.quick);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  process.stdout.write(`${formatReport(file)}\n\nwritten to ${relative(process.cwd(), out)}\n`);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message ? `bench: ${e.message}\n` : ''}${USAGE}\n`);
  process.exitCode = e.message ? 2 : 0;
}
