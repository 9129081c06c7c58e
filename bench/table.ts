// The results as one Markdown table (case × implementation, figure, threads, Sinter/peer ratios) and its notes.

import { caseById, caseTitle, isSinter, PEERS } from './cases.js';
import type { BenchFile, CaseResult } from './results.js';
import { checkMismatches, speedup } from './results.js';

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

function ratioCell(sinter: CaseResult | undefined, peer: CaseResult): string {
  if (isSinter(peer.impl)) return '';
  if (!sinter || sinter.status === 'not-available') return 'n/a';
  const s = speedup(sinter, peer);
  return s === null ? '—' : `${formatNumber(s)}×`;
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
    return [caseCell(r), r.impl, r.threads === null ? (r.status === 'ok' ? '?' : '') : String(r.threads), figureCell(r), ...sinters.map((s) => ratioCell(same(s), r))];
  });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
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
  const implNotes = new Map<string, Set<string>>();
  for (const r of results) if (r.note) (implNotes.get(r.impl) ?? implNotes.set(r.impl, new Set()).get(r.impl)!).add(r.note);
  for (const [impl, ns] of implNotes) for (const n of ns) notes.push(`${impl}: ${n}`);
  if (results.some((r) => r.impl === 'sinter-ref')) notes.push('sinter-ref is the reference interpreter: the semantics, not a fast path (slow by design; its runs are kept short)');
  const bad = checkMismatches(results);
  if (bad.length === 0) notes.push('checks agree: every implementation of a case computed the same first output / second-step loss (relative tolerance 1e-3)');
  for (const b of bad) notes.push(`CHECK MISMATCH ${b.case} × ${b.impl}: ${b.check} but ${b.against} gave ${b.expected}; its figure does not compare`);
  const h = file.host;
  notes.push(`${h.cpuModel}, ${h.cpus} CPUs, Node ${h.node}; load average at start ${h.loadavg.map((x) => x.toFixed(2)).join(' / ')}${file.options.quick ? '; --quick (small sizes, few runs: a smoke test, not figures)' : ''}`);
  return notes;
}

export function formatReport(file: BenchFile): string {
  return [formatTable(file), '', ...formatNotes(file).map((n) => `- ${n}`)].join('\n');
}
