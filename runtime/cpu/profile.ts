// Per-kernel timing for SINTER_DEBUG=2: where a step's time goes, with each kernel's GFLOP/s and GB/s.
//
// Timing wraps every kernel call in performance.now() only when profiling is on, so the
// normal path pays nothing. The table is logged after the 1st, 10th, 100th, … step of a
// session (mean times over all steps so far), so a long training run prints a handful of
// tables and the later ones average out the JIT's warm-up.

import type { CpuKernel, CpuProgram } from '../../compiler/lower/cpu/lower.js';

export class KernelProfile {
  private readonly ms: Float64Array;
  private steps = 0;

  constructor(
    private readonly program: CpuProgram,
    private readonly log: (line: string) => void,
  ) {
    this.ms = new Float64Array(program.kernels.length);
  }

  /** Runs a kernel, adding its time to its total. */
  time(i: number, run: () => void): void {
    const t0 = performance.now();
    run();
    this.ms[i]! += performance.now() - t0;
  }

  /** Counts a step; logs the table when the count is a power of ten. */
  endStep(): void {
    this.steps++;
    if (Math.log10(this.steps) % 1 === 0) this.log(this.table());
  }

  table(): string {
    const rows = this.program.kernels.map((k, i) => ({ k, ms: this.ms[i]! / Math.max(1, this.steps) }));
    const total = rows.reduce((s, r) => s + r.ms, 0);
    const lines = [`sinter: cpu profile of @${this.program.name}, mean of ${this.steps} step(s): ${total.toFixed(3)} ms per step`];
    lines.push(`  ${'kernel'.padEnd(8)}${'ms'.padStart(9)}${'share'.padStart(7)}${'GFLOP/s'.padStart(9)}${'GB/s'.padStart(8)}  form`);
    for (const { k, ms } of [...rows].sort((a, b) => b.ms - a.ms)) {
      const s = ms / 1000;
      const share = total > 0 ? (100 * ms) / total : 0;
      lines.push(`  ${k.name.padEnd(8)}${ms.toFixed(3).padStart(9)}${`${share.toFixed(1)}%`.padStart(7)}${rate(k.flops, s, 1e9).padStart(9)}${rate(k.bytes, s, 1e9).padStart(8)}  ${describe(k)}`);
    }
    return lines.join('\n');
  }
}

function rate(amount: number, seconds: number, unit: number): string {
  return seconds > 0 && amount > 0 ? (amount / seconds / unit).toFixed(2) : '-';
}

function describe(k: CpuKernel): string {
  const where = k.loc ? ` (${k.loc.file}:${k.loc.line})` : '';
  return `${k.kind === 'js' ? k.form : `op ${k.op}`}${where}`;
}
