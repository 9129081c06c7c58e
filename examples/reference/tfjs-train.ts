// `npm run reference`: trains an example's network with TensorFlow.js instead of Sinter, from the same start.
//
// Same initial weights (Sinter's initializers for the seed, converted to TF.js's layout), same
// epoch shuffles and batches (runtime/data), same Adam settings (the example's train block),
// same evaluation after every epoch. It writes a log in `sinter train --log`'s format, so
// `npm run results` and `sinter plot` read it, and the two runs can be compared line by line:
// where Sinter's and TF.js's accuracy differ, the difference is not the recipe.
//
//   npm run reference -- --data fashion-mnist --log examples/results/reference/fashion_cnn.tfjs.jsonl
//
// Only the layer lists the benchmark knows (bench/cases.ts: the Fashion CNN and the MLP); the
// backend is TF.js-wasm with the filter-gradient kernel the benchmark registers (stock TF.js-wasm
// cannot train a conv net), one thread under Node.

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs-core';
import { FASHION_CNN, MLP } from '../../bench/cases.js';
import type { ModelSpec } from '../../bench/cases.js';
import { layerWeights } from '../../bench/data.js';
import { buildModel, loadTf, tfBatch } from '../../bench/impls/tfjs.js';
import { nonNegativeInt, positiveInt } from '../../cli/io.js';
import { loadData } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import { compileSource } from '../../dsl/frontend.js';
import { batchAt, batchCount, datasetSize, epochOrder } from '../../runtime/data/dataset.js';
import type { Dataset } from '../../runtime/data/dataset.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODELS: Readonly<Record<string, ModelSpec>> = { fashion_cnn: FASHION_CNN, mlp: MLP };

interface Options {
  example: string;
  data: string | undefined;
  seed: number;
  epochs: number | undefined;
  log: string | undefined;
  logEvery: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { example: 'fashion_cnn', data: undefined, seed: 0, epochs: undefined, log: undefined, logEvery: 50 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--example') o.example = value;
    else if (flag === '--data') o.data = value;
    else if (flag === '--seed') o.seed = nonNegativeInt(value, '--seed');
    else if (flag === '--epochs') o.epochs = positiveInt(value, '--epochs');
    else if (flag === '--log') o.log = value;
    else if (flag === '--log-every') o.logEvery = positiveInt(value, '--log-every');
    else throw new Error(`unknown option ${flag} (options: --example ${Object.keys(MODELS).join('|')}, --data, --seed, --epochs, --log, --log-every)`);
  }
  if (!(o.example in MODELS)) throw new Error(`--example ${o.example}: the reference knows ${Object.keys(MODELS).join(', ')}`);
  return o;
}

/** The example's train settings and Sinter's initial weights for the seed, layer by layer. */
function sinterStart(spec: ModelSpec, seed: number) {
  const file = join(ROOT, spec.file);
  const r = compileSource(readFileSync(file, 'utf8'), file, { dims: { batch: 1 } });
  if (!r.graph || !r.train) throw new Error(`${spec.file} does not compile with a train block`);
  const opt = r.train.optimizer;
  if (opt.kind !== 'adam') throw new Error(`${spec.file} trains with ${opt.kind}; the reference does Adam only`);
  const params = r.graph.params.filter((p) => p.trainable);
  const weights = layerWeights(r.graph, spec, initParams(r.graph, seed));
  return { weights, adam: opt.args, batch: r.train.batch, epochs: r.train.epochs, parameters: params.reduce((s, p) => s + p.type.shape.reduce((a, d) => a * d, 1), 0), model: r.graph.name };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const spec = MODELS[o.example]!;
  const start = sinterStart(spec, o.seed);
  const epochs = o.epochs ?? start.epochs;
  const { tf, threads } = await loadTf('wasm-patched');
  const model = buildModel(tf, { model: spec, weights: start.weights });
  const optimizer = tf.train.adam(start.adam['lr'], start.adam['beta1'], start.adam['beta2'], start.adam['eps']);
  const data = await loadData(o.data);
  const opened = performance.now();
  const log = (record: Record<string, unknown>) => {
    if (o.log) appendFileSync(o.log, `${JSON.stringify({ ...record, time: +((performance.now() - opened) / 1000).toFixed(3) })}\n`);
  };
  if (o.log) writeFileSync(o.log, '');
  const tensors = (b: Dataset) => tfBatch(tf, spec, b.inputs.data as Float32Array, b.labels.data as Int32Array);
  /** Mean loss and accuracy over a dataset, batch by batch in order (as the training loop evaluates). */
  const evaluate = (ds: Dataset): { loss: number; accuracy: number } => {
    const n = datasetSize(ds);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    let loss = 0;
    let correct = 0;
    for (let k = 0; k < batchCount(n, start.batch); k++) {
      const b = batchAt(ds, order, start.batch, k);
      const { x, y } = tensors(b);
      const [l, hits] = tf.tidy(() => {
        const logits = model.forward(x);
        return [tf.mul(tf.losses.softmaxCrossEntropy(y, logits), datasetSize(b)), tf.sum(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)))];
      });
      loss += l!.dataSync()[0]!;
      correct += hits!.dataSync()[0]!;
      tf.dispose([x, y, l!, hits!]);
    }
    return { loss: loss / n, accuracy: correct / n };
  };
  const n = datasetSize(data.train);
  const perEpoch = batchCount(n, start.batch);
  log({
    kind: 'start',
    model: start.model,
    file: spec.file,
    backend: 'tfjs-wasm',
    threads,
    parameters: start.parameters,
    epochs,
    batch: start.batch,
    lr: start.adam['lr'],
    seed: o.seed,
    data: data.source.startsWith(ROOT) ? relative(ROOT, data.source) : data.source,
    train_examples: n,
    test_examples: datasetSize(data.test),
    start_step: 0,
    command: `npm run reference -- ${process.argv.slice(2).join(' ')}`,
  });
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder(n, o.seed, epoch);
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let intervalStart = t0;
    let intervalSamples = 0;
    for (let k = 0; k < perEpoch; k++) {
      const b = batchAt(data.train, order, start.batch, k);
      const size = datasetSize(b);
      const { x, y } = tensors(b);
      let hits: TF.Scalar | null = null;
      const cost = optimizer.minimize(() => {
        const logits = model.forward(x);
        hits = tf.keep(tf.sum(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)))) as TF.Scalar;
        return tf.losses.softmaxCrossEntropy(y, logits) as TF.Scalar;
      }, true, model.variables)!;
      const loss = cost.dataSync()[0]!;
      if (!Number.isFinite(loss)) throw new Error(`the loss is ${loss} at epoch ${epoch + 1}, batch ${k + 1}`);
      lossSum += loss * size;
      correct += (hits as TF.Scalar | null)!.dataSync()[0]!;
      tf.dispose([x, y, cost, hits!]);
      intervalSamples += size;
      const step = epoch * perEpoch + k + 1;
      if (step % o.logEvery === 0) {
        const now = performance.now();
        log({ kind: 'step', step, epoch: epoch + 1, loss, lr: start.adam['lr'], samples_per_s: +(intervalSamples / ((now - intervalStart) / 1000)).toFixed(1) });
        intervalStart = now;
        intervalSamples = 0;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const test = evaluate(data.test);
    const record = {
      kind: 'epoch',
      step: (epoch + 1) * perEpoch,
      epoch: epoch + 1,
      train_loss: lossSum / n,
      train_accuracy: correct / n,
      test_loss: test.loss,
      test_accuracy: test.accuracy,
      seconds,
      samples_per_s: +(n / seconds).toFixed(1),
    };
    log(record);
    process.stdout.write(`epoch ${epoch + 1}/${epochs}: train loss ${record.train_loss.toFixed(4)} accuracy ${record.train_accuracy.toFixed(4)}, test loss ${test.loss.toFixed(4)} accuracy ${test.accuracy.toFixed(4)} (${seconds.toFixed(1)} s)\n`);
    if (epoch === epochs - 1) log({ kind: 'end', seconds: (performance.now() - opened) / 1000, test_loss: test.loss, test_accuracy: test.accuracy });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`reference: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
