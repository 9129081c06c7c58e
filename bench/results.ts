// The benchmark's records: one result per (case, implementation), the results file, its schema check, the table.
//
// Pure code only (no timing, no processes): the harness test checks it without running a case.

import { caseById, caseTitle, implDevice, isSinter, PEERS, SINTER_VARIANTS, sinterVariant } from './cases.js';

export const RESULTS_SCHEMA = 'sinter-bench/1';

/** Marks the line of a child's stdout that carries its result, apart from whatever the libraries print. */
export const RESULT_MARK = '@@sinter-bench-result ';

/**
 * What became of one (case, implementation) pair:
 *   ok             measured; `figure` is the median of `runs`
 *   unsupported    the implementation cannot do this case (e.g. a missing kernel); `reason` says why
 *   not-available  the implementation is not installed or not built yet (a Sinter backend still to come)
 *   skipped        left out by policy (a slow reference run without --include-slow); `reason` says so
 *   error          the case failed; `reason` holds the error
 */
export const STATUSES = ['ok', 'unsupported', 'not-available', 'skipped', 'error'] as const;
export type Status = (typeof STATUSES)[number];

export const UNITS = ['GFLOP/s', 'samples/s'] as const;
export type Unit = (typeof UNITS)[number];

/** A WebGPU adapter as `GPUAdapter.info` describes it. */
export interface AdapterRecord {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A software adapter (Mesa lavapipe, SwiftShader): shaders run on the CPU. */
  readonly fallback: boolean;
  /** The GPU's fp32 peak in GFLOP/s where the benchmark knows it (bench/impls/webgpu.ts). */
  readonly peakGflops: number | null;
}

export interface CaseResult {
  readonly case: string;
  readonly impl: string;
  readonly status: Status;
  readonly unit: Unit;
  /** What was run: `1024×1024` or `batch 64`. */
  readonly size: string;
  /** Median of `runs`; null unless status is ok. */
  readonly figure: number | null;
  /** The figure of each timed run (each run times `stepsPerRun` steps back to back). */
  readonly runs: readonly number[];
  readonly stepsPerRun: number;
  readonly warmupSteps: number;
  /** Threads the implementation computed on; null when it does not say. */
  readonly threads: number | null;
  /**
   * A number every implementation of the case must agree on: the second step's loss (train:
   * the loss after one Adam update from the shared weights), or the first output element
   * (matmul, inference). Null when not measured.
   */
  readonly check: number | null;
  readonly note: string | null;
  /** The WebGPU adapter of a WebGPU implementation; absent or null on the CPU (and in files before WebGPU). */
  readonly adapter?: AdapterRecord | null;
  readonly reason: string | null;
  /** Wall time of the child process, seconds. */
  readonly seconds: number;
}

export interface HostInfo {
  /** The file-name tag of the machine: platform, arch, CPU count. */
  readonly kind: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly node: string;
  /** Load averages (1, 5, 15 min) when the run started: other work on the machine skews figures. */
  readonly loadavg: readonly number[];
}

export interface BenchFile {
  readonly schema: typeof RESULTS_SCHEMA;
  /** ISO timestamp of the start of the run. */
  readonly date: string;
  readonly command: string;
  readonly host: HostInfo;
  readonly options: { readonly quick: boolean; readonly includeSlow: boolean };
  readonly results: readonly CaseResult[];
}

/** The middle value (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('internal: median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** How many times faster `sinter` is than `peer` on the same case; null unless both were measured. */
export function speedup(sinter: CaseResult | undefined, peer: CaseResult | undefined): number | null {
  if (!sinter || !peer || sinter.figure === null || peer.figure === null || peer.figure <= 0) return null;
  return sinter.figure / peer.figure;
}

/**
 * Implementations of a case whose check value differs from the case's first measured one by
 * more than `rtol` relative (they did not compute the same thing, so their figures don't compare).
 */
export function checkMismatches(results: readonly CaseResult[], rtol = 1e-3): { case: string; impl: string; check: number; expected: number; against: string }[] {
  const out: { case: string; impl: string; check: number; expected: number; against: string }[] = [];
  const first = new Map<string, CaseResult>();
  // A variant (f16 storage) is held to its own tolerance, and is never the result others are held to.
  for (const r of [...results.filter((x) => !sinterVariant(x.impl)), ...results.filter((x) => sinterVariant(x.impl))]) {
    if (r.check === null) continue;
    const f = first.get(r.case);
    if (!f) {
      first.set(r.case, r);
      continue;
    }
    const expected = f.check!;
    const tol = sinterVariant(r.impl)?.checkRtol ?? rtol;
    if (Math.abs(r.check - expected) > tol * Math.max(Math.abs(expected), 1e-6)) out.push({ case: r.case, impl: r.impl, check: r.check, expected, against: f.impl });
  }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumOrNull = (x: unknown) => x === null || isNum(x);
const isStrOrNull = (x: unknown) => x === null || typeof x === 'string';

function adapterProblems(a: unknown): string | null {
  if (a === undefined || a === null) return null;
  if (!isObject(a)) return 'an object or null';
  const strings = ['vendor', 'architecture', 'device', 'description'].every((k) => typeof a[k] === 'string');
  const ok = strings && typeof a['fallback'] === 'boolean' && (a['peakGflops'] === null || (isNum(a['peakGflops']) && a['peakGflops'] > 0));
  return ok ? null : 'vendor, architecture, device, description strings, a fallback boolean and a positive peakGflops or null';
}

function resultProblems(r: unknown, where: string): string[] {
  if (!isObject(r)) return [`${where}: not an object`];
  const p: string[] = [];
  const need = (ok: boolean, field: string, what: string) => {
    if (!ok) p.push(`${where}.${field}: ${what}`);
  };
  need(typeof r['case'] === 'string', 'case', 'a string');
  need(typeof r['impl'] === 'string', 'impl', 'a string');
  need((STATUSES as readonly unknown[]).includes(r['status']), 'status', `one of ${STATUSES.join(', ')}`);
  need((UNITS as readonly unknown[]).includes(r['unit']), 'unit', `one of ${UNITS.join(', ')}`);
  need(typeof r['size'] === 'string', 'size', 'a string');
  need(isNumOrNull(r['figure']), 'figure', 'a number or null');
  need(Array.isArray(r['runs']) && r['runs'].every(isNum), 'runs', 'an array of numbers');
  need(Number.isInteger(r['stepsPerRun']) && (r['stepsPerRun'] as number) >= 0, 'stepsPerRun', 'a non-negative integer');
  need(Number.isInteger(r['warmupSteps']) && (r['warmupSteps'] as number) >= 0, 'warmupSteps', 'a non-negative integer');
  need(r['threads'] === null || (Number.isInteger(r['threads']) && (r['threads'] as number) > 0), 'threads', 'a positive integer or null');
  need(isNumOrNull(r['check']), 'check', 'a number or null');
  need(isStrOrNull(r['note']), 'note', 'a string or null');
  need(isStrOrNull(r['reason']), 'reason', 'a string or null');
  need(isNum(r['seconds']) && (r['seconds'] as number) >= 0, 'seconds', 'a non-negative number');
  const adapter = adapterProblems(r['adapter']);
  need(adapter === null, 'adapter', adapter ?? '');
  if (p.length) return p;
  const runs = r['runs'] as number[];
  if (r['status'] === 'ok') {
    need(runs.length >= 1, 'runs', 'at least one timed run when ok');
    need(r['figure'] !== null && runs.length >= 1 && Math.abs((r['figure'] as number) - median(runs)) <= 1e-9 * Math.abs(r['figure'] as number), 'figure', 'the median of runs');
  } else {
    need(r['figure'] === null, 'figure', 'null unless ok');
    need(typeof r['reason'] === 'string' && r['reason'] !== '', 'reason', 'a reason unless ok');
  }
  return p;
}

/** Every way `x` fails to be a results file; empty when it is one. */
export function validateBenchFile(x: unknown): string[] {
  if (!isObject(x)) return ['file: not an object'];
  const p: string[] = [];
  if (x['schema'] !== RESULTS_SCHEMA) p.push(`schema: expected ${RESULTS_SCHEMA}`);
  if (typeof x['date'] !== 'string' || Number.isNaN(Date.parse(x['date']))) p.push('date: an ISO date');
  if (typeof x['command'] !== 'string') p.push('command: a string');
  const h = x['host'];
  if (!isObject(h)) p.push('host: an object');
  else {
    if (typeof h['kind'] !== 'string' || typeof h['cpuModel'] !== 'string' || typeof h['node'] !== 'string') p.push('host: kind, cpuModel and node strings');
    if (!Number.isInteger(h['cpus'])) p.push('host.cpus: an integer');
    if (!Array.isArray(h['loadavg']) || !h['loadavg'].every(isNum)) p.push('host.loadavg: numbers');
  }
  const o = x['options'];
  if (!isObject(o) || typeof o['quick'] !== 'boolean' || typeof o['includeSlow'] !== 'boolean') p.push('options: quick and includeSlow booleans');
  const rs = x['results'];
  if (!Array.isArray(rs)) p.push('results: an array');
  else {
    rs.forEach((r, i) => p.push(...resultProblems(r, `results[${i}]`)));
    const seen = new Set<string>();
    for (const r of rs) {
      if (!isObject(r)) continue;
      const key = `${String(r['case'])} × ${String(r['impl'])}`;
      if (seen.has(key)) p.push(`results: ${key} appears twice`);
      seen.add(key);
    }
  }
  return p;
}

// The table: case × implementation, figure, threads, Sinter/peer ratios; then its notes.

/** Three significant digits, thousands separated: 0.00851, 0.85, 29.1, 245, 6,500. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

function figureCell(r: CaseResult): string {
  if (r.status === 'ok') return `${formatNumber(r.figure!)} ${r.unit}`;
  return r.status === 'not-available' ? 'not available' : r.status;
}

function ratioCell(impl: string, sinter: CaseResult | undefined, peer: CaseResult): string {
  // A ratio across devices would compare the devices, not the compilers.
  if (isSinter(peer.impl) || implDevice(impl) !== implDevice(peer.impl)) return '';
  if (!sinter || sinter.status === 'not-available') return 'n/a';
  const s = speedup(sinter, peer);
  return s === null ? '—' : `${formatNumber(s)}×`;
}

function threadsCell(r: CaseResult): string {
  if (r.adapter) return r.adapter.fallback ? 'gpu (software)' : 'gpu';
  return r.threads === null ? (r.status === 'ok' ? '?' : '') : String(r.threads);
}

function caseCell(r: CaseResult): string {
  const c = caseById(r.case);
  return `${c ? caseTitle(c) : r.case}, ${r.size}`;
}

/** The Sinter implementations that appear in the results, in order of appearance. */
function sinterColumns(results: readonly CaseResult[]): string[] {
  return [...new Set(results.filter((r) => isSinter(r.impl)).map((r) => r.impl))];
}

export function formatTable(file: BenchFile): string {
  const { results } = file;
  const sinters = sinterColumns(results);
  const header = ['case', 'implementation', 'threads', 'median', ...sinters.map((s) => `${s} ÷ peer`)];
  const rows = results.map((r) => {
    const same = (impl: string) => results.find((x) => x.case === r.case && x.impl === impl);
    return [caseCell(r), r.impl, threadsCell(r), figureCell(r), ...sinters.map((s) => ratioCell(s, same(s), r))];
  });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

/** The adapter line of each adapter the WebGPU results ran on, then matmul figures against the GPU's fp32 peak. */
export function adapterNotes(results: readonly CaseResult[]): string[] {
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    const a = r.adapter;
    if (!a) continue;
    const line = `WebGPU adapter: ${[a.vendor, a.architecture].filter((x) => x !== '').join(' / ') || 'unnamed'}, ${a.description || a.device || 'no description'}`;
    if (seen.has(line)) continue;
    seen.add(line);
    const what = a.fallback
      ? ' — a software adapter (Mesa lavapipe runs the shaders on the CPU): the WebGPU figures compare the compilers on one device, not GPU speed'
      : a.peakGflops !== null
        ? `; fp32 peak ${formatNumber(a.peakGflops)} GFLOP/s`
        : '';
    notes.push(`${line}${what}`);
  }
  for (const r of results) {
    const peak = r.adapter?.peakGflops ?? null;
    if (r.status !== 'ok' || r.unit !== 'GFLOP/s' || peak === null) continue;
    notes.push(`${r.case} × ${r.impl}: ${formatNumber(r.figure!)} GFLOP/s is ${formatNumber((100 * r.figure!) / peak)}% of the GPU's fp32 peak`);
  }
  return notes;
}

/** What a reader needs beside the table: why cells are empty, what columns mean, whether the checks agree. */
export function formatNotes(file: BenchFile): string[] {
  const notes: string[] = [];
  const { results } = file;
  const said = new Set<string>();
  for (const r of results) {
    if (r.status === 'ok' || r.reason === null) continue;
    // A backend that is not built yet says so once, not once per case.
    const key = r.status === 'not-available' ? `${r.impl}/${r.reason}` : `${r.case}/${r.impl}`;
    if (said.has(key)) continue;
    said.add(key);
    notes.push(r.status === 'not-available' ? `${r.impl}: not available: ${r.reason}` : `${r.case} × ${r.impl}: ${r.status}: ${r.reason}`);
  }
  for (const p of PEERS) if (p.note && results.some((r) => r.impl === p.id)) notes.push(`${p.id}: ${p.note}`);
  for (const v of SINTER_VARIANTS) if (results.some((r) => r.impl === v.id)) notes.push(`${v.id}: ${v.label}; its check is held to relative tolerance ${v.checkRtol}`);
  const implNotes = new Map<string, Set<string>>();
  for (const r of results) if (r.note) (implNotes.get(r.impl) ?? implNotes.set(r.impl, new Set()).get(r.impl)!).add(r.note);
  for (const [impl, ns] of implNotes) for (const n of ns) notes.push(`${impl}: ${n}`);
  if (results.some((r) => r.impl === 'sinter-ref')) notes.push('sinter-ref is the reference interpreter: the semantics, not a fast path (slow by design; its runs are kept short)');
  const bad = checkMismatches(results);
  if (bad.length === 0) notes.push('checks agree: every implementation of a case computed the same first output / second-step loss (relative tolerance 1e-3)');
  for (const b of bad) notes.push(`CHECK MISMATCH ${b.case} × ${b.impl}: ${b.check} but ${b.against} gave ${b.expected}; its figure does not compare`);
  notes.push(...adapterNotes(results));
  const h = file.host;
  notes.push(`${h.cpuModel}, ${h.cpus} CPUs, Node ${h.node}; load average at start ${h.loadavg.map((x) => x.toFixed(2)).join(' / ')}${file.options.quick ? '; --quick (small sizes, few runs: a smoke test, not figures)' : ''}`);
  return notes;
}

export function formatReport(file: BenchFile): string {
  return [formatTable(file), '', ...formatNotes(file).map((n) => `- ${n}`)].join('\n');
}
