// TensorFlow.js's side of a case: tf ops (fused conv/matmul with bias and ReLU), tf.losses, tf.train.adam.
//
// The patched wasm variant adds the one kernel stock TF.js-wasm lacks to train a conv net. The
// webgpu variant runs on Dawn (bench/impls/webgpu.ts); it reads results with `data()`, since
// WebGPU has no synchronous readback and TF.js's `dataSync` fallback needs a DOM canvas.
//
// Networks are NHWC, TF.js's native layout (its NCHW paths are partial); the shared weights are
// converted once: conv filters [out, in, kh, kw] → [kh, kw, in, out], and the rows of a dense
// layer after flattening a [c, h, w] map reordered from (c, h, w) to TF's (h, w, c) order.

import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import type { Layer, ModelSpec } from '../cases.js';
import type { CaseData, ModelData } from '../data.js';
import type { Prepared } from '../measure.js';
import { Unsupported } from '../measure.js';
import type { AdapterRecord } from '../results.js';
import { adapterRecord, installNodeGpu } from './webgpu.js';

type Tf = typeof TF;
export type TfVariant = 'cpu' | 'wasm' | 'wasm-patched' | 'webgpu';

// The Conv2DBackpropFilter kernel TF.js-wasm 4.22 lacks, registered for the patched column only.
// The filter gradient of a stride-1 'valid' convolution is itself a convolution:
//   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh+kh, ow+kw, ci] · dy[n, oh, ow, co]
// which is conv2d(x read as [ci, H, W, n], dy read as a filter [OH, OW, n, co]) → [ci, kh, kw, co]:
// batch and channels swap roles. So the kernel is three transposes and one convolution, all
// run by the wasm backend's own XNNPACK kernels; nothing is computed in JavaScript.

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface FilterAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat: string;
  /** Absent: TF.js's filter-gradient op has no dilation (its conv2d gradient requires dilation 1). */
  dilations?: number | [number, number];
  filterShape: [number, number, number, number];
}

const isOne = (v: number | [number, number]) => (Array.isArray(v) ? v.every((x) => x === 1) : v === 1);

function registerConvFilterGradient(tf: Tf): void {
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TF.TensorInfo; dy: TF.TensorInfo };
      const a = attrs as unknown as FilterAttrs;
      if (!isOne(a.strides) || (a.dilations !== undefined && !isOne(a.dilations)) || a.pad !== 'valid' || a.dataFormat !== 'NHWC') {
        throw new Error(`the benchmark's Conv2DBackpropFilter handles stride 1, dilation 1, 'valid', NHWC only (got strides ${JSON.stringify(a.strides)}, pad ${JSON.stringify(a.pad)}, ${a.dataFormat})`);
      }
      const engine = tf.engine();
      const result = tf.tidy(() => {
        const xs = engine.makeTensorFromTensorInfo(x) as TF.Tensor4D;
        const dys = engine.makeTensorFromTensorInfo(dy) as TF.Tensor4D;
        const swapped = tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dys, [1, 2, 0, 3]), 1, 'valid');
        return tf.transpose(swapped, [1, 2, 0, 3]);
      });
      // The engine owns what a kernel returns, so the result is copied into a fresh output
      // rather than handed over while the tensor `result` still holds it.
      const wasm = backend as unknown as WasmBackend;
      const out = wasm.makeOutput([...a.filterShape], 'float32');
      wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(result));
      result.dispose();
      return out;
    },
  });
}

export async function loadTf(variant: TfVariant): Promise<{ tf: Tf; threads: number | null; adapter: AdapterRecord | null }> {
  // Bundled for the device machine (bench/device/pack.sh), the ES module build is already resolved.
  if (process.env['SINTER_BENCH_BUNDLED'] !== '1') register(new URL('./tfjs-esm-hooks.mjs', import.meta.url));
  const require = createRequire(import.meta.url);
  // The ES module build's Node platform class calls a global `require` (bundlers provide one).
  (globalThis as { require?: NodeRequire }).require ??= require;
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  let threads: number | null = 1;
  let adapter: AdapterRecord | null = null;
  if (variant === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('TF.js could not start its cpu backend');
  } else if (variant === 'webgpu') {
    await installNodeGpu();
    adapter = await adapterRecord();
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its webgpu backend');
    threads = null;
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The binaries ship in the package; loading them from node_modules keeps the run offline.
    wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not start its wasm backend');
    threads = wasm.getThreadsCount();
    if (variant === 'wasm-patched') registerConvFilterGradient(tf);
  }
  await tf.ready();
  return { tf, threads, adapter };
}

export interface TfModel {
  readonly variables: TF.Variable[];
  forward(x: TF.Tensor4D): TF.Tensor2D;
}

/** The network of a layer list in TF.js ops (NHWC), its variables initialized from Sinter's weights. */
export function buildModel(tf: Tf, d: Pick<ModelData, 'model' | 'weights'>): TfModel {
  const variables: TF.Variable[] = [];
  const filters: TF.Tensor4D[] = [];
  const dense: TF.Tensor2D[] = [];
  const biases: TF.Tensor1D[] = [];
  let [c, h, w] = d.model.input;
  let flattenedFrom: [number, number, number] | null = null;
  let k = 0;
  for (const l of d.model.layers) {
    if (l.kind === 'conv2d') {
      const lw = d.weights[k++]!;
      const f = tf.tidy(() => tf.transpose(tf.tensor4d(lw.w, lw.wShape as [number, number, number, number]), [2, 3, 1, 0]));
      filters.push(tf.variable(f) as TF.Variable<TF.Rank.R4>);
      biases.push(tf.variable(tf.tensor1d(lw.b)) as TF.Variable<TF.Rank.R1>);
      [c, h, w] = [l.filters, h - l.kernel + 1, w - l.kernel + 1];
    } else if (l.kind === 'maxpool') {
      [h, w] = [Math.floor(h / l.size), Math.floor(w / l.size)];
    } else if (l.kind === 'flatten') {
      flattenedFrom = [c, h, w];
    } else {
      const lw = d.weights[k++]!;
      const [rows, units] = lw.wShape as [number, number];
      const from = flattenedFrom;
      const m = tf.tidy(() => {
        const t = tf.tensor2d(lw.w, [rows, units]);
        return from ? tf.reshape(tf.transpose(tf.reshape(t, [...from, units]), [1, 2, 0, 3]), [rows, units]) : t;
      });
      dense.push(tf.variable(m as TF.Tensor2D) as TF.Variable<TF.Rank.R2>);
      biases.push(tf.variable(tf.tensor1d(lw.b)) as TF.Variable<TF.Rank.R1>);
      flattenedFrom = null;
    }
  }
  variables.push(...(filters as TF.Variable[]), ...(dense as TF.Variable[]), ...(biases as TF.Variable[]));
  const act = (l: Layer) => ('relu' in l && l.relu ? 'relu' : 'linear');
  return {
    variables,
    forward(x) {
      let y: TF.Tensor = x;
      let fi = 0;
      let di = 0;
      let bi = 0;
      for (const l of d.model.layers) {
        if (l.kind === 'conv2d') y = tf.fused.conv2d({ x: y as TF.Tensor4D, filter: filters[fi++]!, strides: 1, pad: 'valid', bias: biases[bi++]!, activation: act(l) });
        else if (l.kind === 'maxpool') y = tf.maxPool(y as TF.Tensor4D, l.size, l.size, 'valid');
        else if (l.kind === 'flatten') y = tf.reshape(y, [y.shape[0]!, -1]);
        else y = tf.fused.matMul({ a: y as TF.Tensor2D, b: dense[di++]!, bias: biases[bi++]!, activation: act(l) });
      }
      return y as TF.Tensor2D;
    },
  };
}

/** A batch in TF.js's terms: NCHW images as NHWC, class indices as one-hot rows. */
export function tfBatch(tf: Tf, model: Pick<ModelSpec, 'input' | 'classes'>, image: Float32Array, labels: Int32Array): { x: TF.Tensor4D; y: TF.Tensor2D } {
  const [c, h, w] = model.input;
  const n = labels.length;
  return tf.tidy(() => ({
    x: tf.transpose(tf.tensor4d(image, [n, c, h, w]), [0, 2, 3, 1]) as TF.Tensor4D,
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), model.classes) as TF.Tensor2D,
  }));
}

/** The TF.js form of "kernel not registered": the one failure that means "cannot do this", not "broken". */
function unsupportedKernel(e: unknown): Unsupported | null {
  const m = e instanceof Error ? /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(e.message) : null;
  return m ? new Unsupported(`stock TF.js-${m[2]} has no ${m[1]} kernel (it cannot train a conv net)`) : null;
}

/** How a step reads its check value back and what the result records say about the run. */
interface Env {
  readonly tf: Tf;
  readonly threads: number | null;
  readonly adapter: AdapterRecord | null;
  readonly note: string | null;
  /** Reads the first element and disposes the tensor. */
  first(t: TF.Tensor): number | Promise<number>;
}

function prepareModel(env: Env, d: ModelData): Prepared {
  const { tf, threads, adapter, note } = env;
  const { x, y: labels } = tfBatch(tf, d.model, d.image, d.labels);
  const model = buildModel(tf, d);
  if (d.kind === 'infer') return { threads, adapter, note, step: () => env.first(tf.tidy(() => model.forward(x))) };
  const optimizer = tf.train.adam(d.adam.lr, d.adam.beta1, d.adam.beta2, d.adam.eps);
  const loss = () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as TF.Scalar;
  return {
    threads,
    adapter,
    note,
    step: () => {
      let cost: TF.Scalar | null;
      try {
        cost = optimizer.minimize(loss, true, model.variables);
      } catch (e) {
        throw unsupportedKernel(e) ?? e;
      }
      if (!cost) throw new Error('internal: optimizer.minimize returned no cost');
      return env.first(cost);
    },
  };
}

function firstSync(t: TF.Tensor): number {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

async function firstAsync(t: TF.Tensor): Promise<number> {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

function noteFor(variant: TfVariant, threads: number | null): string | null {
  return variant.startsWith('wasm') && threads === 1 ? 'TF.js-wasm turns threads off under Node' : null;
}

export async function prepareTfjs(variant: TfVariant, d: CaseData): Promise<Prepared> {
  const { tf, threads, adapter } = await loadTf(variant);
  const env: Env = { tf, threads, adapter, note: noteFor(variant, threads), first: variant === 'webgpu' ? firstAsync : firstSync };
  if (d.kind !== 'matmul') return prepareModel(env, d);
  const a = tf.tensor2d(d.a, [d.n, d.n]);
  const b = tf.tensor2d(d.b, [d.n, d.n]);
  return { threads, adapter, note: env.note, step: () => env.first(tf.matMul(a, b)) };
}
