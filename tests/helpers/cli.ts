// Running the `sinter` CLI in tests: in-process (fast, output captured) or as a real process.

import { spawnSync } from 'node:child_process';
import { main } from '../../cli/main.js';

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI's `main` in this process, capturing what it writes to stdout and stderr.
 * Calls are serialized by the caller (tests in one file run one at a time).
 */
export async function runCli(...args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const capture = (sink: string[]) => ((chunk: string | Uint8Array) => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const status = await main(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

/** Runs `node cli/sinter.js …` as a separate process: for what only a real process shows (exit codes, launcher). */
export function spawnCli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, ['cli/sinter.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
