// The inputs of a case, identical for every implementation: seeded matrices, Fashion-MNIST images and labels, and initial weights.
//
// Model cases read the first images of the bundled Fashion-MNIST training subset (the
// reference workload's data) rather than noise: kernels whose branches depend on the data
// (ReLU, max pooling) run as they do in training, and every peer gets the same batch.
//
// Weights come from Sinter's own initializers (Glorot uniform weights, zero biases, drawn from
// the seed) and are handed to every peer, converted to its layout, so all implementations
// start from the same numbers and their first-step checks agree.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Graph } from '../compiler/ir/graph.js';
import { initParams } from '../compiler/ir/init.js';
import { rngFor } from '../compiler/ir/random.js';
import type { Tensor } from '../compiler/ir/tensor.js';
import { formatShape, shapesEqual } from '../compiler/ir/types.js';
import { compileSource } from '../dsl/frontend.js';
import { decodeIdx } from '../runtime/data/idx.js';
import type { BenchCase, ModelSpec } from './cases.js';

export const SEED = 7;

export interface MatmulData {
  readonly kind: 'matmul';
  readonly n: number;
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/** One layer's parameters in Sinter's layout: dense w [in, out], conv w [out, in, kh, kw]; b [out]. */
export interface LayerWeights {
  readonly w: Float32Array;
  readonly wShape: readonly number[];
  readonly b: Float32Array;
}

export interface AdamArgs {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

export interface ModelData {
  readonly kind: 'train' | 'infer';
  readonly model: ModelSpec;
  readonly batch: number;
  /** [batch, c, h, w], pixel intensities in [0, 1]. */
  readonly image: Float32Array;
  /** Class indices. */
  readonly labels: Int32Array;
  /** One entry per conv2d or dense layer, in order. */
  readonly weights: readonly LayerWeights[];
  readonly adam: AdamArgs;
  /** The Sinter forward graph at this batch (inference form). */
  readonly forward: Graph;
  /** Absolute path of the model's Sinter source. */
  readonly file: string;
}

export type CaseData = MatmulData | ModelData;

function uniform(n: number, stream: string, low: number, high: number): Float32Array {
  const rng = rngFor(SEED, stream);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng.nextFloat();
  return out;
}

/** The parameter shapes a layer list implies for an input shape, checking the output is [classes]. */
export function expectedParamShapes(model: ModelSpec): number[][] {
  let shape: number[] = [...model.input];
  const out: number[][] = [];
  for (const l of model.layers) {
    switch (l.kind) {
      case 'conv2d': {
        const [c, h, w] = shape as [number, number, number];
        out.push([l.filters, c, l.kernel, l.kernel], [l.filters]);
        shape = [l.filters, h - l.kernel + 1, w - l.kernel + 1];
        break;
      }
      case 'maxpool': {
        const [c, h, w] = shape as [number, number, number];
        shape = [c, Math.floor(h / l.size), Math.floor(w / l.size)];
        break;
      }
      case 'flatten':
        shape = [shape.reduce((p, d) => p * d, 1)];
        break;
      case 'dense':
        out.push([shape[0]!, l.units], [l.units]);
        shape = [l.units];
        break;
      default:
        return l satisfies never;
    }
  }
  if (shape.length !== 1 || shape[0] !== model.classes) throw new Error(`internal: the layer list of ${model.name} ends in [${shape.join(', ')}], not [${model.classes}]`);
  return out;
}

/**
 * A graph's initial parameters as one LayerWeights per conv2d or dense layer of the layer
 * list, after checking that the graph's trainable parameters are the list's: the list
 * describes the architecture a second time for the peers, and the two must not drift apart.
 */
export function layerWeights(graph: Graph, model: ModelSpec, init: ReadonlyMap<string, Tensor>): LayerWeights[] {
  const expected = expectedParamShapes(model);
  const params = graph.params.filter((p) => p.trainable);
  if (params.length !== expected.length || params.some((p, i) => !shapesEqual(p.type.shape, expected[i]!))) {
    const got = params.map((p) => formatShape(p.type.shape)).join(' ');
    throw new Error(`internal: ${model.file} has parameters ${got}, but the layer list of ${model.name} in bench/cases.ts expects ${expected.map((s) => formatShape(s)).join(' ')}`);
  }
  const weights: LayerWeights[] = [];
  for (let i = 0; i < params.length; i += 2) {
    weights.push({ w: init.get(params[i]!.name)!.data as Float32Array, wShape: params[i]!.type.shape, b: init.get(params[i + 1]!.name)!.data as Float32Array });
  }
  return weights;
}

function modelData(c: Extract<BenchCase, { kind: 'train' | 'infer' }>, batch: number, root: string): ModelData {
  const file = join(root, c.model.file);
  const r = compileSource(readFileSync(file, 'utf8'), file, { dims: { batch } });
  if (!r.graph || !r.train) throw new Error(`internal: ${c.model.file} does not compile with a train block: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  const forward = r.graph;
  const weights = layerWeights(forward, c.model, initParams(forward, SEED));
  const opt = r.train.optimizer;
  if (opt.kind !== 'adam') throw new Error(`internal: the benchmark compares Adam train steps, but ${c.model.file} uses ${opt.kind}`);
  const { image, labels } = fashionBatch(root, batch, c.model.input, c.model.classes);
  return {
    kind: c.kind,
    model: c.model,
    batch,
    image,
    labels,
    weights,
    adam: { lr: opt.args['lr']!, beta1: opt.args['beta1']!, beta2: opt.args['beta2']!, eps: opt.args['eps']! },
    forward,
    file,
  };
}

/** The first `batch` images (scaled to [0, 1]) and labels of the bundled Fashion-MNIST training subset. */
function fashionBatch(root: string, batch: number, input: readonly number[], classes: number): { image: Float32Array; labels: Int32Array } {
  const dir = join(root, 'data', 'fashion-mnist-subset');
  const read = (name: string) => decodeIdx(gunzipSync(readFileSync(join(dir, name))), name);
  const images = read('train-images-idx3-ubyte.gz');
  const labels = read('train-labels-idx1-ubyte.gz');
  const size = input.reduce((p, d) => p * d, 1);
  if (size !== images.data.length / images.type.shape[0]! || images.type.shape[0]! < batch) {
    throw new Error(`internal: the bundled Fashion-MNIST subset has ${images.type.shape[0]} images of ${images.type.shape.slice(1).join('x')}; the benchmark needs ${batch} of ${input.join('x')}`);
  }
  const image = Float32Array.from(images.data.subarray(0, batch * size), (x) => x / 255);
  const classOf = Int32Array.from(labels.data.subarray(0, batch));
  if (classOf.some((y) => y < 0 || y >= classes)) throw new Error(`internal: a bundled label is outside 0..${classes - 1}`);
  return { image, labels: classOf };
}

/** The data of a case at a scale (matrix side or batch); `root` is the repository root. */
export function caseData(c: BenchCase, scale: number, root: string): CaseData {
  if (c.kind === 'matmul') return { kind: 'matmul', n: scale, a: uniform(scale * scale, 'bench/a', -1, 1), b: uniform(scale * scale, 'bench/b', -1, 1) };
  return modelData(c, scale, root);
}
