// `sinter compile FILE --target wgsl -o DIR`: writes the WebGPU executable — a manifest (JSON) and one .wgsl file per kernel.
//
// The manifest is the WgslProgram without the shader sources: memory spaces, their sizes
// and element types (`u32` words; `f16` for the half arena of --storage f16), every
// buffer's role and place, each kernel's file, entry point, bindings (the
// memory space at each binding), workgroup size and dispatch, and the outputs with their
// aliasing — what a runtime needs to run the kernels without the compiler. Every file is
// written atomically, the manifest last, so a directory with a manifest is complete. A
// model too large for the target's limits is a user error naming the layer, the limit and
// the fix.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Graph } from '../../compiler/ir/graph.js';
import { WgslLimitError } from '../../compiler/lower/wgsl/limits.js';
import type { WgslOptions, WgslProgram } from '../../compiler/lower/wgsl/lower.js';
import { compileForWebgpu } from '../../runtime/webgpu/backend.js';
import { UsageError, UserError, floatType, positiveInt, writeFileAtomic } from '../io.js';
import { loadModel } from '../load.js';
import { loadTrainingModel } from '../training.js';

/** The manifest of a compiled program: everything but the sources, which lie in `<kernel>.wgsl` beside it. */
export function manifestOf(p: WgslProgram): object {
  return {
    format: 'sinter-wgsl-1',
    name: p.name,
    precision: p.precision,
    // What a device must have to run these shaders.
    requiredFeatures: p.features,
    limits: p.limits,
    spaces: p.spaceBytes.map((bytes, i) => ({ space: i, role: i === 0 ? 'arena' : p.spaceTypes[i] === 'f16' ? 'half arena' : 'state', element: p.spaceTypes[i], bytes })),
    buffers: p.buffers.map((b) => ({ id: b.id, type: b.type, placement: b.placement, space: b.space, byteOffset: b.word * (p.spaceTypes[b.space] === 'f16' ? 2 : 4) })),
    kernels: p.kernels.map((k) => ({
      name: k.name,
      file: `${k.name}.wgsl`,
      form: k.form,
      entryPoint: k.entryPoint,
      bindings: k.spaces,
      workgroupSize: k.workgroupSize,
      dispatch: k.dispatch,
      features: k.features,
      nodes: k.nodes,
      ...(k.loc ? { loc: k.loc } : {}),
      flops: k.flops,
      bytes: k.bytes,
    })),
    outputs: p.outputs,
  };
}

/** Writes a program into a directory: the .wgsl files, then manifest.json. */
export function writeProgram(p: WgslProgram, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create '${dir}': ${(e as Error).message}`);
  }
  for (const k of p.kernels) writeFileAtomic(join(dir, `${k.name}.wgsl`), `${k.source}\n`);
  writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifestOf(p), null, 2)}\n`);
}

function compileOrExplain(graph: Graph, options: WgslOptions): WgslProgram {
  try {
    return compileForWebgpu(graph, options);
  } catch (e) {
    if (e instanceof WgslLimitError) throw new UserError(e.message, e.hint);
    throw e;
  }
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile a model to GPU kernels: a manifest and one .wgsl file per kernel')
    .argument('<file>', 'a .sinter model or a textual .ir file')
    .requiredOption('-o, --out <dir>', 'directory to write into (created if missing)')
    .option('--target <target>', 'what to compile to (wgsl)', 'wgsl')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--train', 'compile the train step of the model\'s train block (forward, backward and optimizer update)')
    .option('--gemm <form>', "contraction kernels: 'tiled' (workgroup-memory tiles, for GPUs) or 'rows' (no workgroup memory, for software adapters such as lavapipe)", 'tiled')
    .option('--precision <p>', "arithmetic: f32, or f16 (the shaders then need the WebGPU feature shader-f16)", 'f32')
    .option('--storage <s>', "temporaries between kernels: f32, or f16 in a half arena (the shaders that touch it need shader-f16; params, state and outputs stay f32)", 'f32')
    .option('--subgroups', "use subgroup operations: long reductions sum within subgroups first, rows-form GEMMs broadcast their uniform operand (the shaders then need the WebGPU feature subgroups)")
    .action(async (file: string, opts: { out: string; target: string; batch: string; train?: boolean; gemm: string; precision: string; storage: string; subgroups?: boolean }) => {
      if (opts.target !== 'wgsl') throw new UsageError(`--target must be wgsl, got '${opts.target}'`);
      if (opts.gemm !== 'tiled' && opts.gemm !== 'rows') throw new UsageError(`--gemm must be tiled or rows, got '${opts.gemm}'`);
      const precision = floatType(opts.precision, '--precision');
      const storage = floatType(opts.storage, '--storage');
      const batch = positiveInt(opts.batch, '--batch');
      const graph = opts.train ? (await loadTrainingModel(file, undefined)).graphs.train(batch) : loadModel(file, { batch }).graph;
      const p = compileOrExplain(graph, { gemm: opts.gemm, precision, storage, subgroups: opts.subgroups === true });
      writeProgram(p, opts.out);
      process.stdout.write(`wrote ${p.kernels.length} kernels and manifest.json to ${opts.out}\n`);
    });
}
