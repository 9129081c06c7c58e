// `--backend` and `--threads`, shared by run, train and eval: which backend runs the model, and the default.
//
// The default is the fastest backend the machine has: `webgpu` when Dawn finds a hardware
// adapter, else `cpu`. A software adapter (Mesa's lavapipe, SwiftShader: WebGPU's "fallback
// adapter") runs WGSL on the CPU far slower than the cpu backend's own kernels, so it is used
// only when asked for by name. `ref` (the reference interpreter) is always available by name.

import type { Command } from 'commander';
import { createNodeCpuBackend } from '../runtime/cpu/node.js';
import type { AnyBackend } from '../runtime/session.js';
import { createNodeWebgpuBackend, hasHardwareAdapter } from '../runtime/webgpu/node.js';
import { floatType, positiveInt, UsageError, UserError } from './io.js';
import { BACKENDS, backendNamed } from './training.js';

export interface BackendFlags {
  backend?: string;
  threads?: string;
  precision?: string;
  storage?: string;
}

/** Adds the options to a command. */
export function backendOptions(command: Command): Command {
  return command
    .option('--backend <name>', `where to run: ${Object.keys(BACKENDS).join(', ')} (default: webgpu on a GPU, else cpu)`)
    .option('--threads <n>', 'CPU threads for the cpu backend (default: every core)')
    .option('--precision <p>', "webgpu arithmetic: f32, or f16 (needs the adapter's shader-f16; sums stay f32)", 'f32')
    .option('--storage <s>', "webgpu temporaries between kernels: f32, or f16 (half the memory and traffic; needs shader-f16; params, optimizer state and outputs stay f32)", 'f32');
}

/** The backend the flags ask for. */
export async function backendFrom(flags: BackendFlags): Promise<AnyBackend> {
  const precision = floatType(flags.precision ?? 'f32', '--precision');
  const storage = floatType(flags.storage ?? 'f32', '--storage');
  const name = flags.backend ?? (flags.threads === undefined && (await hasHardwareAdapter()) ? 'webgpu' : 'cpu');
  if (precision === 'f16' || storage === 'f16') {
    const flag = precision === 'f16' ? '--precision' : '--storage';
    if (name !== 'webgpu') throw new UsageError(`${flag} f16 applies to the webgpu backend, not '${name}'`);
    const made = await createNodeWebgpuBackend({ precision, storage });
    if (!made) throw new UserError('no webgpu device: Dawn found no WebGPU adapter on this machine', 'run with --backend cpu');
    return made;
  }
  if (flags.threads !== undefined) {
    const threads = positiveInt(flags.threads, '--threads');
    if (name !== 'cpu') throw new UsageError(`--threads applies to the cpu backend, not '${name}'`);
    return createNodeCpuBackend({ threads });
  }
  return backendNamed(name);
}
