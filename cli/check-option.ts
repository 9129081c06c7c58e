// `--check` (and `--check-every` on train): run the chosen steps kernel by kernel against the reference (see runtime/check).

import type { Command } from 'commander';
import { checkedBackend } from '../runtime/check/checked.js';
import type { AnyBackend } from '../runtime/session.js';
import { nonNegativeInt, UsageError, UserError } from './io.js';

export interface CheckFlags {
  check?: boolean;
  checkEvery?: string;
}

/** Adds `--check`, and on a training command `--check-every`. */
export function checkOptions(command: Command, training: boolean): Command {
  command.option('--check', "run every kernel of the first step also through the reference interpreter on the inputs it saw; stop at the first that differs beyond its op class's tolerance");
  if (training) command.option('--check-every <n>', 'with --check: check every Nth train step as well as the first');
  return command;
}

/** The backend to run on: as given, or wrapped to check its kernels. */
export function checkedFrom(backend: AnyBackend, flags: CheckFlags): AnyBackend {
  if (flags.checkEvery !== undefined && !flags.check) throw new UsageError('--check-every needs --check');
  if (!flags.check) return backend;
  if (backend.name === 'ref') throw new UsageError('--check compares a backend with the reference interpreter; the ref backend is the reference (pick --backend cpu or webgpu)');
  // Kernels computing in f16 differ from the float32 reference by more than its tolerances, by design (f16 storage is checked: runtime/check/kernels.ts).
  if ((backend as { precision?: string }).precision === 'f16') throw new UsageError("--check compares kernels with the float32 reference at float32's tolerances; drop --precision f16 to check them");
  return checkedBackend(backend, {
    every: flags.checkEvery === undefined ? 0 : nonNegativeInt(flags.checkEvery, '--check-every'),
    report: (line) => void process.stdout.write(`${line}\n`),
    unavailable: (name) => new UserError(`the ${name} backend cannot be checked kernel by kernel`, 'run with --backend cpu or --backend webgpu'),
  });
}
