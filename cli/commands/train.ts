// `sinter train`: trains a model from its train block (flags override), with progress, logs and checkpoints.

import type { Command } from 'commander';
import { initParams } from '../../compiler/ir/init.js';
import type { TrainConfig } from '../../dsl/train-block.js';
import { splitValidation } from '../../runtime/data/dataset.js';
import type { EpochEvent } from '../../runtime/train/loop.js';
import { train, TrainingDiverged } from '../../runtime/train/loop.js';
import { nonNegativeInt, positiveInt, UsageError, UserError, writeFileAtomic } from '../io.js';
import { JsonlLog, Progress } from '../progress.js';
import { backendFrom, backendOptions } from '../backend-option.js';
import { checkedFrom, checkOptions } from '../check-option.js';
import { loadCheckpoint, loadData, loadTrainingModel, saveCheckpoint, sha256Hex } from '../training.js';
import type { EpochRecord } from './plot.js';
import { curvesSvg, epochRecord } from './plot.js';

interface TrainFlags {
  data?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  seed?: string;
  save?: string;
  resume?: string;
  backend?: string;
  threads?: string;
  model?: string;
  log?: string;
  logEvery: string;
  readEvery?: string;
  plot?: string;
  check?: boolean;
  checkEvery?: string;
}

/** Steps between loss read-backs on an asynchronous device (the epoch's last step is always read). */
const DEVICE_READ_EVERY = 10;

function positiveNumber(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option} expects a positive number, got '${v}'`);
  return n;
}

/** The train block's settings with command-line overrides applied. */
function settings(cfg: TrainConfig, f: TrainFlags) {
  return {
    epochs: f.epochs !== undefined ? positiveInt(f.epochs, '--epochs') : cfg.epochs,
    batch: f.batch !== undefined ? positiveInt(f.batch, '--batch') : cfg.batch,
    lr: f.lr !== undefined ? positiveNumber(f.lr, '--lr') : cfg.optimizer.args['lr']!,
    seed: f.seed !== undefined ? nonNegativeInt(f.seed, '--seed') : cfg.seed,
  };
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train a model on Fashion-MNIST-format data (the bundled subset by default)')
    .argument('<file>', 'a .sinter file with a train block')
    .option('--data <dir>', "'fashion-mnist' (the Debian package's files) or a directory of MNIST-format IDX files; default: the bundled subset")
    .option('--epochs <n>', 'epochs to train (default: the train block)')
    .option('--batch <n>', 'batch size (default: the train block)')
    .option('--lr <x>', 'learning rate (default: the optimizer in the train block)')
    .option('--seed <s>', 'seed for initialization and shuffling (default: the train block, else 0)')
    .option('--save <ckpt>', 'write a checkpoint (safetensors) after every epoch')
    .option('--resume <ckpt>', 'continue from a checkpoint saved by --save')
    .option('--model <name>', 'which model of the file')
    .option('--log <file.jsonl>', 'append one JSON line per logging interval and per epoch')
    .option('--log-every <n>', 'steps per --log line', '10')
    .option('--read-every <n>', `read the loss back every n steps (default: 1, or ${DEVICE_READ_EVERY} on webgpu, which then need not wait for the GPU in between)`)
    .option('--plot <file.svg>', 'draw the per-epoch loss and accuracy as an SVG chart (rewritten after every epoch)');
  checkOptions(backendOptions(command), true).action(async (file: string, flags: TrainFlags) => {
    const backend = await backendFrom(flags);
    const runOn = checkedFrom(backend, flags);
    const logEvery = positiveInt(flags.logEvery, '--log-every');
    // A device that runs asynchronously is waited on only when the loss is read back.
    const readEvery = flags.readEvery !== undefined ? positiveInt(flags.readEvery, '--read-every') : 'async' in backend ? DEVICE_READ_EVERY : 1;
    const model = await loadTrainingModel(file, flags.model);
    const s = settings(model.config, flags);
    const data = await loadData(flags.data);
    const { train: trainSet, validation } = splitValidation(data.train, model.config.validation_split, s.seed);
    const dataHash = await sha256Hex(new Uint8Array(trainSet.inputs.data.buffer, trainSet.inputs.data.byteOffset, trainSet.inputs.data.byteLength));
    const trainGraph = model.graphs.train(s.batch);
    let params = initParams(trainGraph, s.seed);
    let startStep = 0;
    if (flags.resume) {
      const ckpt = loadCheckpoint(flags.resume, trainGraph, model.modelHash);
      for (const [key, want] of [['batch', s.batch], ['seed', s.seed]] as const) {
        if (ckpt.meta[key] !== String(want)) throw new UserError(`${flags.resume}: saved with ${key} ${ckpt.meta[key]}, but this run uses ${want}`, `pass --${key} ${ckpt.meta[key]} to continue it`);
      }
      if (ckpt.meta['data_sha256'] !== dataHash) throw new UserError(`${flags.resume}: saved while training on other data`, 'resume with the same --data');
      params = ckpt.params;
      startStep = ckpt.step;
    }
    const progress = new Progress(s.epochs);
    const log = flags.log ? new JsonlLog(flags.log, logEvery) : null;
    log?.start({
      model: trainGraph.name.replace(/\.train$/, ''),
      file,
      backend: backend.name,
      threads: 'threads' in backend ? (backend.threads ?? null) : null,
      parameters: model.graphs.eval(1).params.filter((p) => p.trainable).reduce((n, p) => n + p.type.shape.reduce((a, b) => a * b, 1), 0),
      epochs: s.epochs,
      batch: s.batch,
      lr: s.lr,
      seed: s.seed,
      data: data.source,
      train_examples: trainSet.labels.data.length,
      test_examples: data.test.labels.data.length,
      start_step: startStep,
      command: ['sinter', 'train', ...process.argv.slice(3)].join(' '),
    });
    process.stderr.write(`training ${trainGraph.name.replace(/\.train$/, '')} on ${data.source}: ${trainSet.labels.data.length} examples${validation ? ` (+${validation.labels.data.length} validation)` : ''}, batch ${s.batch}, ${s.epochs} epoch${s.epochs === 1 ? '' : 's'}, backend ${backend.name}\n`);
    const started = performance.now();
    let last: EpochEvent | null = null;
    const curves: EpochRecord[] = [];
    try {
      await train({
        backend: runOn,
        graphs: model.graphs,
        names: model.names,
        train: trainSet,
        validation,
        test: data.test,
        batch: s.batch,
        epochs: s.epochs,
        seed: s.seed,
        lr: s.lr,
        schedule: model.config.schedule,
        params,
        startStep,
        readEvery,
        onStep: (e) => {
          progress.step(e);
          log?.step(e);
        },
        onEpoch: (e, state) => {
          progress.epoch(e);
          log?.epoch(e);
          last = e;
          if (flags.plot) {
            curves.push(epochRecord(e));
            writeFileAtomic(flags.plot, curvesSvg({ model: trainGraph.name.replace(/\.train$/, ''), backend: backend.name }, curves));
          }
          if (flags.save) {
            saveCheckpoint(flags.save, state, { model_sha256: model.modelHash, data_sha256: dataHash, step: String(e.step), epoch: String(e.epoch + 1), batch: String(s.batch), seed: String(s.seed) });
          }
        },
      });
    } catch (e) {
      if (e instanceof TrainingDiverged) throw new UserError(e.message, 'lower the learning rate (--lr) or add clip_norm to the train block');
      throw e;
    }
    const seconds = (performance.now() - started) / 1000;
    const end = last as EpochEvent | null;
    log?.end({ seconds, test_loss: end?.test?.loss ?? null, test_accuracy: end?.test?.accuracy ?? null });
    if (end?.test) {
      const acc = end.test.accuracy === null ? '' : `  test accuracy ${end.test.accuracy.toFixed(4)}`;
      process.stdout.write(`test loss ${end.test.loss.toFixed(4)}${acc}  (${seconds.toFixed(1)}s)\n`);
    }
    if (flags.save) process.stdout.write(`saved ${flags.save}\n`);
    if (flags.plot) process.stdout.write(`wrote ${flags.plot}\n`);
  });
}
