// `sinter ir`: prints a model's graph IR (text, mermaid, dot or json).

import type { Command } from 'commander';
import { graphToDot } from '../../compiler/ir/formats/dot.js';
import { graphToJson } from '../../compiler/ir/formats/json.js';
import { graphToMermaid } from '../../compiler/ir/formats/mermaid.js';
import { printGraph } from '../../compiler/ir/print.js';
import { debugOptions, parseDumpAfter, runWithDumps, STAGE_NAMES } from '../../compiler/pipeline.js';
import { floatType, positiveInt, UsageError } from '../io.js';
import { loadModel } from '../load.js';
import { loadTrainingModel } from '../training.js';

const FORMATS = {
  text: printGraph,
  mermaid: graphToMermaid,
  dot: graphToDot,
  json: graphToJson,
} as const;

export function registerIr(program: Command): void {
  program
    .command('ir')
    .description('print the graph IR of a .sinter model or a .ir file')
    .argument('<file>', 'a .sinter source or a textual .ir file')
    .option('--batch <n>', 'value of the batch dimension', '1')
    .option('--model <name>', 'which model of the file (default: the trained one, else the last)')
    .option('--format <format>', 'text | mermaid | dot | json', 'text')
    .option('--train', 'print the train step: forward, loss, backward and optimizer update')
    .option('--dump-after <passes>', `run the pass pipeline and print the IR after the named passes (comma-separated: ${STAGE_NAMES.join(', ')}) or 'all'`)
    .option('--storage <s>', "with --dump-after: plan f32 temporaries as f32, or as f16 in a half arena (WebGPU's --storage f16)", 'f32')
    .action(async (file: string, opts: { batch: string; model?: string; format: string; train?: boolean; dumpAfter?: string; storage: string }) => {
      const format = FORMATS[opts.format as keyof typeof FORMATS];
      if (!format) throw new UsageError(`--format must be one of ${Object.keys(FORMATS).join(', ')}, got '${opts.format}'`);
      const batch = positiveInt(opts.batch, '--batch');
      const storage = floatType(opts.storage, '--storage');
      if (storage === 'f16' && opts.dumpAfter === undefined) throw new UsageError('--storage applies with --dump-after (it changes the memory plan)');
      const graph = opts.train ? (await loadTrainingModel(file, opts.model)).graphs.train(batch) : loadModel(file, { batch, ...(opts.model ? { model: opts.model } : {}) }).graph;
      if (opts.dumpAfter === undefined) {
        process.stdout.write(format(graph));
        return;
      }
      const spec = parseDumpAfter(opts.dumpAfter);
      if ('unknown' in spec) throw new UsageError(`--dump-after: unknown pass ${spec.unknown.map((s) => `'${s}'`).join(', ')} (passes: ${STAGE_NAMES.join(', ')}, or all)`);
      const debug = debugOptions(process.env, (line) => process.stderr.write(`${line}\n`));
      runWithDumps(graph, spec.stages, (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`), { ...debug, storage });
    });
}
