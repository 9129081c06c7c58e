// The `sinter` command line: subcommands, and the mapping from error kinds to exit codes.

import { Command, CommanderError } from 'commander';
import { registerCompile } from './commands/compile.js';
import { registerEval } from './commands/eval.js';
import { registerIr } from './commands/ir.js';
import { registerOpt } from './commands/opt.js';
import { registerPlot } from './commands/plot.js';
import { registerRun } from './commands/run.js';
import { registerStats } from './commands/stats.js';
import { registerSummary } from './commands/summary.js';
import { registerTrain } from './commands/train.js';
import { WgslLimitError } from '../compiler/lower/wgsl/limits.js';
import { DeviceLost, NonFiniteOutput, OutOfGpuMemory, ShaderF16Unavailable } from '../runtime/webgpu/errors.js';
import { UsageError, UserError } from './io.js';
import { DiagnosticsFailure } from './load.js';

/** Exit codes: 0 success, 1 user error (diagnostics, bad files), 2 usage error, 70 compiler bug. */
export const EXIT = { ok: 0, user: 1, usage: 2, internal: 70 } as const;

export function buildProgram(): Command {
  const program = new Command('sinter')
    .description('Sinter: compile and run neural networks written in the Sinter DSL')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  registerIr(program);
  registerRun(program);
  registerTrain(program);
  registerEval(program);
  registerOpt(program);
  registerStats(program);
  registerCompile(program);
  registerSummary(program);
  registerPlot(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof DiagnosticsFailure) {
      process.stderr.write(`${e.rendered}\n`);
      return EXIT.user;
    }
    if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `  = hint: ${e.hint}\n` : ''}`);
      return EXIT.user;
    }
    // The WebGPU backend's named failures: each message already says what to do.
    if (e instanceof WgslLimitError || e instanceof DeviceLost || e instanceof OutOfGpuMemory || e instanceof NonFiniteOutput || e instanceof ShaderF16Unavailable) {
      const hint = e instanceof WgslLimitError ? `  = hint: ${e.hint}\n` : '';
      process.stderr.write(`error: ${e.message}\n${hint}`);
      return EXIT.user;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n(run with --help for usage)\n`);
      return EXIT.usage;
    }
    const err = e as Error;
    const msg = err.message?.startsWith('internal:') ? err.message : `internal: ${err.message}`;
    process.stderr.write(`${msg}\nThis is a bug in Sinter; please report it with the input that caused it.\n${process.env['SINTER_DEBUG'] ? `${err.stack}\n` : ''}`);
    return EXIT.internal;
  }
}

