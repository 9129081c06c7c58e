// The command line of `npm run bench`: which cases, which implementations, how long.

import type { BenchCase } from './cases.js';
import { CASES, knownImpl, PEERS, sinterImpls } from './cases.js';

/** A bad command line: reported as a message and the usage, never a stack trace. */
export class UsageError extends Error {}

export interface Options {
  readonly cases: readonly BenchCase[];
  readonly impls: readonly string[];
  readonly quick: boolean;
  readonly includeSlow: boolean;
  readonly out: string | null;
}

export const USAGE = `usage: npm run bench -- [--cases ${CASES.map((c) => c.id).join(',')}] [--impl sinter-ref,tfjs-wasm,…] [--quick] [--include-slow] [--out FILE]`;

/** Parses the options; `registered` are the Sinter backends that exist (cli/training.ts BACKENDS). */
export function parseArgs(argv: readonly string[], registered: readonly string[]): Options {
  let cases: readonly BenchCase[] = CASES;
  let impls: readonly string[] = [...sinterImpls(registered), ...PEERS.map((p) => p.id)];
  let quick = false;
  let includeSlow = false;
  let out: string | null = null;
  const list = (i: number, flag: string): string[] => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a comma-separated list`);
    return v.split(',').filter((s) => s !== '');
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--include-slow') includeSlow = true;
    else if (a === '--cases') {
      const ids = list(++i, a);
      const bad = ids.find((id) => !CASES.some((c) => c.id === id));
      if (bad !== undefined) throw new UsageError(`unknown case '${bad}'; cases: ${CASES.map((c) => c.id).join(', ')}`);
      cases = CASES.filter((c) => ids.includes(c.id));
    } else if (a === '--impl') {
      const ids = list(++i, a);
      const bad = ids.find((id) => !knownImpl(id, registered));
      if (bad !== undefined) throw new UsageError(`unknown implementation '${bad}'; implementations: ${[...sinterImpls(registered), ...PEERS.map((p) => p.id)].join(', ')}`);
      impls = impls.filter((id) => ids.includes(id));
    } else if (a === '--out') {
      out = argv[++i] ?? null;
      if (out === null) throw new UsageError('--out needs a file name');
    } else if (a === '--help' || a === '-h') {
      throw new UsageError('');
    } else throw new UsageError(`unknown option '${a}'`);
  }
  return { cases, impls, quick, includeSlow, out };
}
