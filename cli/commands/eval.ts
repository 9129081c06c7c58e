// `sinter eval`: test loss and accuracy of a checkpoint.

import type { Command } from 'commander';
import { evaluate } from '../../runtime/train/loop.js';
import { positiveInt } from '../io.js';
import { backendFrom, backendOptions } from '../backend-option.js';
import { loadCheckpoint, loadData, loadTrainingModel } from '../training.js';

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description("print a checkpoint's loss and accuracy on the test set")
    .argument('<file>', 'the .sinter file the checkpoint was trained from')
    .requiredOption('--load <ckpt>', 'a checkpoint written by sinter train --save')
    .option('--data <dir>', "'fashion-mnist' or a directory of MNIST-format IDX files; default: the bundled subset")
    .option('--batch <n>', 'batch size for evaluation (default: the train block)')
    .option('--model <name>', 'which model of the file');
  backendOptions(command).action(async (file: string, flags: { load: string; data?: string; batch?: string; backend?: string; threads?: string; model?: string }) => {
    const backend = await backendFrom(flags);
    const model = await loadTrainingModel(file, flags.model);
    const batch = flags.batch !== undefined ? positiveInt(flags.batch, '--batch') : model.config.batch;
    // The checkpoint also holds optimizer state (opt.*), which evaluation does not need.
    const ckpt = loadCheckpoint(flags.load, model.graphs.eval(batch), model.modelHash, (name) => name.startsWith('opt.'));
    const data = await loadData(flags.data);
    const m = await evaluate(backend, model.graphs, model.names, ckpt.params, data.test, batch);
    const acc = m.accuracy === null ? '' : `  test accuracy ${m.accuracy.toFixed(4)}`;
    process.stdout.write(`test loss ${m.loss.toFixed(4)}${acc}  (${data.test.labels.data.length} examples, step ${ckpt.step})\n`);
  });
}
