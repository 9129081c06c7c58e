// `sinter run`: initializes parameters, runs the model on given or random inputs, reports the outputs.

import type { Command } from 'commander';
import type { Graph } from '../../compiler/ir/graph.js';
import { initParams } from '../../compiler/ir/init.js';
import { rngFor } from '../../compiler/ir/random.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { allocData } from '../../compiler/ir/tensor.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { formatType, numel, typesEqual } from '../../compiler/ir/types.js';
import { decodeNpy, encodeNpy, NpyError } from '../../runtime/data/npy.js';
import { nonNegativeInt, parseAssignments, positiveInt, readBytes, UsageError, UserError, writeFileAtomic } from '../io.js';
import { backendFrom, backendOptions } from '../backend-option.js';
import { checkedFrom, checkOptions } from '../check-option.js';
import { loadModel } from '../load.js';
import { describeTensor } from '../tensor-report.js';

/** A seeded random input: f32 uniform in [0, 1), i32 integers in [0, 10), bool 0/1. */
function randomInput(name: string, type: TensorType, seed: number): Tensor {
  const rng = rngFor(seed, `input:${name}`);
  const data = allocData(type.dtype, numel(type.shape));
  for (let i = 0; i < data.length; i++) data[i] = type.dtype === 'f32' ? rng.nextFloat() : rng.nextInt(type.dtype === 'i32' ? 10 : 2);
  return { type, data };
}

function loadInput(name: string, path: string, want: TensorType): Tensor {
  let t: Tensor;
  try {
    t = decodeNpy(readBytes(path), path);
  } catch (e) {
    if (e instanceof NpyError) throw new UserError(e.message);
    throw e;
  }
  if (!typesEqual(t.type, want)) {
    throw new UserError(`input '${name}' must be ${formatType(want)}, but ${path} holds ${formatType(t.type)}`, 'match --batch to the file, or re-export the array with that shape and dtype');
  }
  return t;
}

function checkNames(kind: string, given: Iterable<string>, known: readonly string[]): void {
  for (const name of given) {
    if (!known.includes(name)) throw new UsageError(`${kind} '${name}' is not in the model (it has: ${known.join(', ') || 'none'})`);
  }
}

export function feedsFor(graph: Graph, files: ReadonlyMap<string, string>, seed: number): Map<string, Tensor> {
  checkNames('--input', files.keys(), graph.inputs.map((i) => i.name));
  return new Map(graph.inputs.map((i) => {
    const path = files.get(i.name);
    return [i.name, path ? loadInput(i.name, path, i.type) : randomInput(i.name, i.type, seed)];
  }));
}

export function registerRun(program: Command): void {
  const collect = (v: string, acc: string[]) => [...acc, v];
  const command = program
    .command('run')
    .description('run a model on a backend (the fastest this machine has) and print its outputs')
    .argument('<file>', 'a .sinter source or a textual .ir file')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--model <name>', 'which model of the file')
    .option('--seed <s>', 'seed for parameter initialization and random inputs', '0')
    .option('--input <name=file.npy>', 'an input tensor (repeatable); missing inputs are random', collect, [])
    .option('--output <name=file.npy>', 'write an output tensor (repeatable)', collect, []);
  checkOptions(backendOptions(command), false).action(async (file: string, opts: { batch: string; model?: string; seed: string; input: string[]; output: string[]; backend?: string; threads?: string; check?: boolean }) => {
    const backend = checkedFrom(await backendFrom(opts), opts);
    const seed = nonNegativeInt(opts.seed, '--seed');
    const { graph } = loadModel(file, { batch: positiveInt(opts.batch, '--batch'), ...(opts.model ? { model: opts.model } : {}) });
    const inputFiles = parseAssignments(opts.input, '--input');
    const outputFiles = parseAssignments(opts.output, '--output');
    checkNames('--output', outputFiles.keys(), graph.outputs.map((o) => o.name));
    const inputs = feedsFor(graph, inputFiles, seed);
    const session = backend.load(graph);
    session.setParams(initParams(graph, seed));
    const outputs = await session.run(inputs, graph.outputs.map((o) => o.name));
    for (const [name, t] of outputs) {
      process.stdout.write(`${describeTensor(name, t)}\n`);
      const path = outputFiles.get(name);
      if (path) {
        writeFileAtomic(path, encodeNpy(t));
        process.stdout.write(`  wrote ${path}\n`);
      }
    }
  });
}
