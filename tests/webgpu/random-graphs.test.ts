// The WebGPU backend against the reference interpreter on random graphs, through the whole pipeline and the WGSL lowering, over two steps (aliasing included).
//
// As tests/cpu/random-graphs.test.ts: each random graph runs twice on `webgpu` and on `ref`
// from the same seeded feeds, the second step seeing the params that the first step's
// aliased outputs replaced (in-place updates and the runtime's aliasing copies both
// checked); outputs and final params compared with gpuReport (finite reference elements
// within rtol 1e-4, atol 1e-5 × scale; WGSL assumes no NaN/Inf). Train steps of random
// graphs cover the backward ops, the optimizers' in-place updates and the tiled GEMMs'
// masked (padded) operand tiles and fused epilogues; conv-heavy ones run on finite feeds
// (see finiteFeeds), the convolutions' filter and input gradients among them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { OptimizerKind } from '../../compiler/passes/optimizers.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { tensorFrom } from '../../compiler/ir/tensor.js';
import { buildTrainStep, STEP } from '../../compiler/passes/train-step.js';
import { referenceBackend } from '../../runtime/reference/session.js';
import { arbGraph } from '../helpers/random-graph.js';
import { randomFeeds } from '../passes/support.js';
import type { WebgpuOptions } from '../../runtime/webgpu/backend.js';
import { KERNEL_FORMS, gpu, gpuReport, webgpu } from './support.js';

type Feeds = ReturnType<typeof randomFeeds>;

async function checkTwoSteps(g: Graph, feeds: Feeds = randomFeeds(g), options: WebgpuOptions = {}): Promise<void> {
  const names = g.outputs.map((o) => o.name);
  const ref = referenceBackend.load(g);
  const dev = gpu({ watch: [], ...options }).load(g);
  try {
    ref.setParams(feeds.params);
    dev.setParams(feeds.params);
    for (let step = 0; step < 2; step++) {
      const report = gpuReport(await dev.run(feeds.inputs, names), ref.run(feeds.inputs, names));
      if (report) expect.fail(`step ${step}: ${report}`);
    }
    const params = gpuReport(await dev.getParams(), ref.getParams());
    if (params) expect.fail(`params after two steps: ${params}`);
  } finally {
    dev.destroy();
  }
}

const DIFFERENTIABLE: readonly OpName[] = [
  'add', 'sub', 'mul', 'div', 'exp', 'tanh', 'sigmoid', 'relu', 'neg', 'gelu', 'maximum', 'select', 'sqrt', 'abs',
  'matmul', 'conv2d', 'sum', 'mean', 'max', 'reshape', 'transpose', 'broadcast', 'slice', 'pad', 'concat', 'gather',
  'softmax', 'log_softmax', 'maxpool2d', 'avgpool2d',
];

const CONV_HEAVY: readonly OpName[] = ['conv2d', 'matmul', 'maxpool2d', 'avgpool2d', 'relu', 'add', 'reshape', 'pad'];

/**
 * Feeds of a train step that keep it finite: the step's learning rate 0.01 and step 1 (a
 * random step near 0 makes Adam's bias correction 1 − β^step zero, and its update infinite),
 * other f32 values scaled by 1/4 so that chains of contractions stay small.
 */
function finiteFeeds(g: Graph): Feeds {
  const feeds = randomFeeds(g);
  const scaled = (t: Tensor): Tensor => (t.type.dtype === 'f32' ? { type: t.type, data: Float32Array.from(t.data, (x) => x / 4) } : t);
  const inputs = new Map([...feeds.inputs].map(([name, t]): [string, Tensor] => [name, name === STEP.lr ? tensorFrom('f32', [], [0.01]) : name === STEP.step ? tensorFrom('f32', [], [1]) : scaled(t)]));
  return { inputs, params: new Map([...feeds.params].map(([name, t]) => [name, scaled(t)])) };
}

/** Whether the reference keeps every output of two steps and every param finite from these feeds. */
function staysFinite(g: Graph, feeds: Feeds): boolean {
  const ref = referenceBackend.load(g);
  ref.setParams(feeds.params);
  const names = g.outputs.map((o) => o.name);
  const finite = (m: ReadonlyMap<string, Tensor>): boolean => [...m.values()].every((t) => Array.from(t.data).every(Number.isFinite));
  return finite(ref.run(feeds.inputs, names)) && finite(ref.run(feeds.inputs, names)) && finite(ref.getParams());
}

const OPTIMIZERS: Readonly<Record<OptimizerKind, Record<string, number>>> = {
  sgd: {},
  momentum: { momentum: 0.9, nesterov: 0 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-7 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.01 },
};

const arbTrainStep = (ops: readonly OpName[]) =>
  fc
    .tuple(arbGraph({ ops, maxNodes: 12 }), fc.constantFrom<OptimizerKind>('sgd', 'momentum', 'adam', 'adamw'), fc.boolean(), fc.boolean())
    .map(([g, optimizer, l2, clip]): Graph | null => {
      const out = g.outputs.find((o) => g.nodes.find((n) => n.id === o.value)?.type.dtype === 'f32');
      if (!out || !g.params.some((p) => p.trainable)) return null;
      const forward = { ...g, outputs: [{ name: out.name, value: out.value }] };
      return buildTrainStep(forward, { loss: { kind: 'mse', output: out.name, label: 'label' }, optimizer: { kind: optimizer, args: OPTIMIZERS[optimizer] }, l2: l2 ? 0.01 : 0, clip_norm: clip ? 1 : 0 });
    });

describe.skipIf(!webgpu)('webgpu backend on random graphs', () => {
  it('equals the reference on 100 random graphs, two steps each', async () => {
    await fc.assert(fc.asyncProperty(arbGraph(), (g) => checkTwoSteps(g)), { seed: 42, numRuns: 100 });
  });

  // Few train steps: random values overflow into NaN and infinities often here, and lavapipe runs kernels on non-finite data very slowly.
  it.each([['differentiable ops', DIFFERENTIABLE, 12]] as const)('equals the reference on train steps of random graphs (%s)', async (_name, ops, runs) => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbTrainStep(ops), async (step) => {
        if (step === null) return;
        checked++;
        await checkTwoSteps(step);
      }),
      { seed: 42, numRuns: runs },
    );
    expect(checked).toBeGreaterThan(2);
  });

  // Conv-heavy steps on finite feeds only (finiteFeeds), graphs the reference keeps finite: their contractions' backward forms through the tiled GEMMs.
  it.each(KERNEL_FORMS)('equals the reference on conv-heavy train steps of random graphs (finite feeds, %s contractions)', async (_form, options) => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbTrainStep(CONV_HEAVY), async (step) => {
        if (step === null) return;
        const feeds = finiteFeeds(step);
        if (!staysFinite(step, feeds)) return;
        checked++;
        await checkTwoSteps(step, feeds, options);
      }),
      { seed: 42, numRuns: 60 },
    );
    expect(checked).toBeGreaterThan(20);
  });
});
