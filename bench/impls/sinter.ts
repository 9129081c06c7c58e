// Sinter's side of a case: the example compiled by Sinter and run on one backend of `BACKENDS`.

import { BACKENDS, loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { compileSource } from '../../dsl/frontend.js';
import type { Backend } from '../../runtime/session.js';
import type { CaseData, ModelData } from '../data.js';
import { SEED } from '../data.js';
import type { Prepared } from '../measure.js';
import { NotAvailable } from '../measure.js';

/** A square matmul as a Sinter model: the benchmark's one model that is not an example. */
export const MATMUL_SOURCE = `# The benchmark's matmul: c = a @ b, both n×n.
model MatMul(a: f32[n, n], b: f32[n, n]) -> c: f32[n, n] {
  a @ b
}
`;

function tensor(type: TensorType, data: Float32Array | Int32Array): Tensor {
  return { type, data };
}

const f32 = (shape: number[]): TensorType => ({ dtype: 'f32', shape });

/** The threads a backend says it uses: the reference interpreter runs on the calling thread. */
function threadsOf(backend: Backend): number | null {
  const declared = (backend as { threads?: unknown }).threads;
  if (typeof declared === 'number' && Number.isInteger(declared) && declared > 0) return declared;
  return backend.name === 'ref' ? 1 : null;
}

/** The forward graph's weights by parameter name, from the shared initial weights. */
function weightMap(d: ModelData): Map<string, Tensor> {
  const params = d.forward.params.filter((p) => p.trainable);
  const out = new Map<string, Tensor>();
  d.weights.forEach((lw, i) => {
    const w = params[2 * i]!;
    const b = params[2 * i + 1]!;
    out.set(w.name, tensor(w.type, lw.w));
    out.set(b.name, tensor(b.type, lw.b));
  });
  return out;
}

function first(out: Map<string, Tensor>, name: string): number {
  const t = out.get(name);
  if (!t) throw new Error(`internal: the session did not return '${name}'`);
  return t.data[0]!;
}

async function prepareModel(backend: Backend, d: ModelData): Promise<Prepared> {
  const [c, h, w] = d.model.input;
  const image = tensor(f32([d.batch, c, h, w]), d.image);
  const threads = threadsOf(backend);
  if (d.kind === 'infer') {
    const session = backend.load(d.forward);
    session.setParams(weightMap(d));
    const output = d.forward.outputs[0]!.name;
    const inputs = new Map([[d.forward.inputs[0]!.name, image]]);
    return { threads, note: null, step: () => first(session.run(inputs, [output]), output) };
  }
  const model = await loadTrainingModel(d.file, undefined);
  const graph = model.graphs.train(d.batch);
  const session = backend.load(graph);
  const params = initParams(graph, SEED);
  for (const [name, t] of weightMap(d)) params.set(name, t);
  session.setParams(params);
  const { names } = model;
  if (graph.inputs.some((i) => i.name === names.randomKey)) throw new Error(`internal: ${d.file} draws random numbers in training; the benchmark feeds no random key`);
  const inputs = new Map<string, Tensor>([
    [names.input, image],
    [names.label, tensor({ dtype: 'i32', shape: [d.batch] }, d.labels)],
    [names.lr, tensor(f32([]), Float32Array.of(d.adam.lr))],
  ]);
  let step = 0;
  return {
    threads,
    note: null,
    step: () => {
      step++;
      inputs.set(names.step, tensor(f32([]), Float32Array.of(step)));
      return first(session.run(inputs, [names.loss]), names.loss);
    },
  };
}

export async function prepareSinter(backendName: string, d: CaseData): Promise<Prepared> {
  const backend = BACKENDS[backendName];
  if (!backend) throw new NotAvailable(`Sinter has no '${backendName}' backend yet (BACKENDS has ${Object.keys(BACKENDS).join(', ')})`);
  if (d.kind !== 'matmul') return prepareModel(backend, d);
  const r = compileSource(MATMUL_SOURCE, 'matmul.sinter', { dims: { n: d.n } });
  if (!r.graph) throw new Error(`internal: the benchmark's matmul model does not compile: ${r.diagnostics.map((x) => x.message).join('; ')}`);
  const session = backend.load(r.graph);
  session.setParams(new Map());
  const inputs = new Map([
    ['a', tensor(f32([d.n, d.n]), d.a)],
    ['b', tensor(f32([d.n, d.n]), d.b)],
  ]);
  return { threads: threadsOf(backend), note: null, step: () => first(session.run(inputs, ['c']), 'c') };
}
