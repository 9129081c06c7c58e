// What `sinter train` and `sinter eval` share: step graphs per batch size, data, backends, checkpoints.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Graph } from '../compiler/ir/graph.js';
import { printGraph } from '../compiler/ir/print.js';
import type { Tensor } from '../compiler/ir/tensor.js';
import { formatType, typesEqual } from '../compiler/ir/types.js';
import { buildEvalStep, buildTrainStep, STEP } from '../compiler/passes/train-step.js';
import { renderDiagnostics } from '../dsl/diagnostics.js';
import { RANDOM_KEY_INPUT } from '../dsl/elaborate/elaborator.js';
import { compileSource } from '../dsl/frontend.js';
import type { TrainConfig } from '../dsl/train-block.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../runtime/checkpoint/safetensors.js';
import type { Dataset } from '../runtime/data/dataset.js';
import { loadFashionMnist } from '../runtime/data/fashion-mnist.js';
import { IdxError } from '../runtime/data/idx.js';
import { nodeCpuBackend } from '../runtime/cpu/node.js';
import { referenceBackend } from '../runtime/reference/session.js';
import type { AnyBackend, Backend } from '../runtime/session.js';
import { createNodeWebgpuBackend } from '../runtime/webgpu/node.js';
import type { StepGraphs, StepNames } from '../runtime/train/loop.js';
import { readBytes, readText, UsageError, UserError, writeFileAtomic } from './io.js';
import { DiagnosticsFailure } from './load.js';

/** A backend, or a factory of one that needs a device (null: the machine has none). */
export type BackendEntry = Backend | (() => Promise<AnyBackend | null>);

export const BACKENDS: Readonly<Record<string, BackendEntry>> = {
  ref: referenceBackend,
  cpu: nodeCpuBackend,
  webgpu: () => createNodeWebgpuBackend(),
};

export async function backendNamed(name: string): Promise<AnyBackend> {
  const entry = BACKENDS[name];
  if (!entry) throw new UsageError(`--backend must be one of ${Object.keys(BACKENDS).join(', ')}, got '${name}'`);
  if (typeof entry !== 'function') return entry;
  const made = await entry();
  if (!made) {
    throw new UserError(`no ${name} device: Dawn found no WebGPU adapter on this machine`, 'install a GPU driver, or Mesa\'s lavapipe (apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1), or run with --backend cpu');
  }
  return made;
}

/** The bundled subset, found relative to this file so it works from any working directory. */
export const BUNDLED_DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-subset');
export const SYSTEM_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export async function loadData(data: string | undefined): Promise<{ train: Dataset; test: Dataset; source: string }> {
  const dir = data === undefined ? BUNDLED_DATA : data === 'fashion-mnist' ? SYSTEM_FASHION_MNIST : data;
  if (!existsSync(dir)) {
    throw new UserError(`data directory '${dir}' does not exist`, data === 'fashion-mnist' ? 'install it with: apt-get install dataset-fashion-mnist' : 'pass --data fashion-mnist or a directory of MNIST-format IDX files');
  }
  try {
    return { ...(await loadFashionMnist(readBytes, dir)), source: dir };
  } catch (e) {
    if (e instanceof IdxError) throw new UserError(e.message);
    throw e;
  }
}

/** A model file compiled for training: its train block and step graphs for any batch size. */
export interface TrainingModel {
  readonly config: TrainConfig;
  readonly graphs: StepGraphs;
  readonly names: StepNames;
  /** SHA-256 of the forward graph at batch 1: the model's identity in checkpoints. */
  readonly modelHash: string;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function loadTrainingModel(file: string, model: string | undefined): Promise<TrainingModel> {
  const source = readText(file);
  const forwards = new Map<string, Graph>();
  let config: TrainConfig | null = null;
  /** The forward graph at a batch size, in its training or inference form. */
  const forward = (batch: number, mode: 'train' | 'infer' = 'infer'): Graph => {
    const key = `${mode}/${batch}`;
    let g = forwards.get(key);
    if (!g) {
      const r = compileSource(source, file, { dims: { batch }, mode, ...(model !== undefined ? { model } : {}) });
      if (!r.graph || r.diagnostics.length) throw new DiagnosticsFailure(renderDiagnostics(r.diagnostics, source));
      if (!r.train) throw new UserError(`${file}: model '${r.graph.name}' has no train block`, `add: train ${r.graph.name} { loss = softmax_cross_entropy(<output>, label)  optimizer = adam(lr: 1e-3) }`);
      config = r.train;
      g = r.graph;
      forwards.set(key, g);
    }
    return g;
  };
  const first = forward(1);
  const cfg = config as unknown as TrainConfig;
  if (first.inputs.length !== 1) throw new UserError(`${file}: training feeds one input tensor, but '${first.name}' has ${first.inputs.length}`);
  const memo = (mode: 'train' | 'infer', build: (g: Graph) => Graph) => {
    const cache = new Map<number, Graph>();
    return (batch: number) => cache.get(batch) ?? cache.set(batch, build(forward(batch, mode))).get(batch)!;
  };
  const stepConfig = { loss: cfg.loss, optimizer: cfg.optimizer, l2: cfg.l2, clip_norm: cfg.clip_norm };
  const evalGraphs = memo('infer', (g) => buildEvalStep(g, stepConfig));
  const names: StepNames = {
    input: first.inputs[0]!.name,
    label: cfg.loss.label,
    lr: STEP.lr,
    step: STEP.step,
    loss: STEP.loss,
    correct: evalGraphs(1).outputs.some((o) => o.name === STEP.correct) ? STEP.correct : null,
    randomKey: RANDOM_KEY_INPUT,
  };
  return {
    config: cfg,
    graphs: { train: memo('train', (g) => buildTrainStep(g, stepConfig)), eval: evalGraphs },
    names,
    modelHash: await sha256Hex(new TextEncoder().encode(printGraph(first))),
  };
}

export const CHECKPOINT_FORMAT = 'sinter-checkpoint/1';

export interface CheckpointState {
  readonly params: Map<string, Tensor>;
  readonly step: number;
  readonly meta: Record<string, string>;
}

export function saveCheckpoint(path: string, params: ReadonlyMap<string, Tensor>, meta: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(params, { format: CHECKPOINT_FORMAT, ...meta }));
}

/**
 * Reads a checkpoint and checks it belongs to `graph` (every parameter present with its
 * type, nothing else unless `allowExtra` says so) and to this model; errors name the file
 * and the problem.
 */
export function loadCheckpoint(path: string, graph: Graph, modelHash: string, allowExtra: (name: string) => boolean = () => false): CheckpointState {
  let ckpt;
  try {
    ckpt = decodeSafetensors(readBytes(path), path);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new UserError(e.message);
    throw e;
  }
  const meta = ckpt.metadata;
  if (meta['format'] !== CHECKPOINT_FORMAT) throw new UserError(`${path}: not a Sinter checkpoint (format ${JSON.stringify(meta['format'] ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  if (meta['model_sha256'] !== modelHash) throw new UserError(`${path}: the checkpoint was saved from a different model (graph hash differs)`, 'train this model from scratch, or load the checkpoint with the model file that produced it');
  for (const p of graph.params) {
    const t = ckpt.tensors.get(p.name);
    if (!t) throw new UserError(`${path}: the checkpoint has no tensor '${p.name}'`);
    if (!typesEqual(t.type, p.type)) throw new UserError(`${path}: tensor '${p.name}' is ${formatType(t.type)} but the model needs ${formatType(p.type)}`);
  }
  const known = new Set(graph.params.map((p) => p.name));
  const extra = [...ckpt.tensors.keys()].find((k) => !known.has(k) && !allowExtra(k));
  if (extra !== undefined) throw new UserError(`${path}: the checkpoint has a tensor '${extra}' that the model does not`);
  const step = Number(meta['step']);
  if (!Number.isSafeInteger(step) || step < 0) throw new UserError(`${path}: invalid step ${JSON.stringify(meta['step'])} in metadata`);
  return { params: ckpt.tensors, step, meta };
}
