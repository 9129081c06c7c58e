// Sinter's side of a case: the example compiled by Sinter and run on one backend of `BACKENDS`.
//
// Backends may answer synchronously (ref, cpu) or asynchronously (webgpu: readback is
// `mapAsync`); every answer is awaited, so a step is timed until its fetched output is on the
// host. A registered entry may also be a function that creates the backend on first use
// (WebGPU needs an adapter first) and returns null where there is none.

import { BACKENDS, loadTrainingModel } from '../../cli/training.js';
import { initParams } from '../../compiler/ir/init.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { TensorType } from '../../compiler/ir/types.js';
import { compileSource } from '../../dsl/frontend.js';
import { createNodeCpuBackend } from '../../runtime/cpu/node.js';
import type { CpuOptions } from '../../runtime/cpu/session.js';
import type { AnyBackend, AnySession } from '../../runtime/session.js';
import type { SinterVariant } from '../cases.js';
import { implDevice, sinterImpl } from '../cases.js';
import type { WebgpuOptions } from '../../runtime/webgpu/backend.js';
import { createNodeWebgpuBackend } from '../../runtime/webgpu/node.js';
import type { CaseData, ModelData } from '../data.js';
import { SEED } from '../data.js';
import type { Prepared } from '../measure.js';
import { NotAvailable } from '../measure.js';
import type { AdapterRecord } from '../results.js';
import { adapterRecord } from './webgpu.js';

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

/** The threads a backend says it uses: the reference interpreter runs on the calling thread; a GPU backend says nothing. */
function threadsOf(backend: AnyBackend): number | null {
  const declared = (backend as { threads?: unknown }).threads;
  if (typeof declared === 'number' && Number.isInteger(declared) && declared > 0) return declared;
  return backend.name === 'ref' ? 1 : null;
}

/** What the results say about where a backend runs. */
interface Where {
  readonly threads: number | null;
  readonly adapter: AdapterRecord | null;
}

function isBackend(x: unknown): x is AnyBackend {
  return typeof x === 'object' && x !== null && typeof (x as { load?: unknown }).load === 'function' && typeof (x as { name?: unknown }).name === 'string';
}

/** The backend a BACKENDS entry stands for: the entry itself, or what its factory makes (null: no device). */
async function resolveBackend(name: string, entry: unknown): Promise<AnyBackend> {
  const made: unknown = typeof entry === 'function' ? await (entry as () => unknown)() : await entry;
  if (made === null || made === undefined) throw new NotAvailable(`Sinter's '${name}' backend found no device here`);
  if (!isBackend(made)) throw new Error(`internal: BACKENDS['${name}'] is neither a backend nor a function that makes one`);
  return made;
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

/** Runs a step and reads one fetched output's first element (awaited: a GPU step ends at its readback). */
async function runFirst(session: AnySession, inputs: ReadonlyMap<string, Tensor>, name: string): Promise<number> {
  const out = await session.run(inputs, [name]);
  const t = out.get(name);
  if (!t) throw new Error(`internal: the session did not return '${name}'`);
  return t.data[0]!;
}

async function prepareModel(backend: AnyBackend, where: Where, d: ModelData): Promise<Prepared> {
  const [c, h, w] = d.model.input;
  const image = tensor(f32([d.batch, c, h, w]), d.image);
  if (d.kind === 'infer') {
    const session = backend.load(d.forward);
    session.setParams(weightMap(d));
    const output = d.forward.outputs[0]!.name;
    const inputs = new Map([[d.forward.inputs[0]!.name, image]]);
    return { ...where, note: null, step: () => runFirst(session, inputs, output) };
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
    ...where,
    note: null,
    step: () => {
      step++;
      inputs.set(names.step, tensor(f32([]), Float32Array.of(step)));
      return runFirst(session, inputs, names.loss);
    },
  };
}

export async function prepareSinter(backendName: string, d: CaseData): Promise<Prepared> {
  const entry: unknown = (BACKENDS as Readonly<Record<string, unknown>>)[backendName];
  if (entry === undefined) throw new NotAvailable(`Sinter has no '${backendName}' backend yet (BACKENDS has ${Object.keys(BACKENDS).join(', ')})`);
  return prepareSinterEntry(backendName, entry, d);
}

/** A case on a variant's backend (cpu or webgpu), made with the variant's options. */
export async function prepareSinterVariant(v: SinterVariant, d: CaseData): Promise<Prepared> {
  if (v.backend === 'cpu') return prepareSinterEntry(v.backend, createNodeCpuBackend(v.options as CpuOptions), d);
  if (v.backend !== 'webgpu') throw new Error(`internal: variant ${v.id} is of backend '${v.backend}', which takes no options here`);
  return prepareSinterEntry(v.backend, () => createNodeWebgpuBackend(v.options as WebgpuOptions), d);
}

/** A case on the backend a BACKENDS entry stands for (a backend of either kind, or a factory of one). */
export async function prepareSinterEntry(backendName: string, entry: unknown, d: CaseData): Promise<Prepared> {
  const backend = await resolveBackend(backendName, entry);
  const where: Where = { threads: threadsOf(backend), adapter: implDevice(sinterImpl(backendName)) === 'webgpu' ? await adapterRecord() : null };
  if (d.kind !== 'matmul') return prepareModel(backend, where, d);
  const r = compileSource(MATMUL_SOURCE, 'matmul.sinter', { dims: { n: d.n } });
  if (!r.graph) throw new Error(`internal: the benchmark's matmul model does not compile: ${r.diagnostics.map((x) => x.message).join('; ')}`);
  const session = backend.load(r.graph);
  session.setParams(new Map());
  const inputs = new Map([
    ['a', tensor(f32([d.n, d.n]), d.a)],
    ['b', tensor(f32([d.n, d.n]), d.b)],
  ]);
  return { ...where, note: null, step: () => runFirst(session, inputs, 'c') };
}
