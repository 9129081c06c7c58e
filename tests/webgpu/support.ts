// Shared by the WebGPU tests: the backend on Dawn (fail in CI without an adapter, skip elsewhere with a reason), and the comparison against the reference.
//
// The comparison is outputsReport's (tests/passes/support.ts) with one difference the WGSL
// lowering states: kernels assume finite values (WGSL on lavapipe has no NaN or infinity
// semantics), so an element the reference computes as NaN or ±infinity is not compared; a
// finite reference element must be matched within rtol 1e-4, atol 1e-5 × the output's
// largest finite magnitude (the reduction class of DESIGN.md; sums run in float32 here).

import type { Graph } from '../../compiler/ir/graph.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import type { WebgpuBackend, WebgpuOptions } from '../../runtime/webgpu/backend.js';
import { createWebgpuBackend } from '../../runtime/webgpu/backend.js';
import { createNodeWebgpuBackend } from '../../runtime/webgpu/node.js';
import { allCloseReport, maxAbs } from '../helpers/allclose.js';

async function findBackend(): Promise<WebgpuBackend | null> {
  const b = await createNodeWebgpuBackend();
  if (b) return b;
  if (process.env['CI']) throw new Error('no WebGPU adapter found in CI: .ci/run installs Mesa lavapipe (mesa-vulkan-drivers from bookworm-backports) so that Dawn finds one');
  console.log('skipping the WebGPU tests: no WebGPU adapter found (install mesa-vulkan-drivers from bookworm-backports for lavapipe)');
  return null;
}

/** The WebGPU backend, or null outside CI when this machine has no adapter. */
export const webgpu: WebgpuBackend | null = await findBackend();

/**
 * The backend where the suite runs (describe.skipIf(!webgpu) guards every use), on the one
 * device; with options, a backend of its own over that device (`watch: []` for graphs whose
 * loss may legitimately be NaN, such as random ones), with the adapter's contraction form
 * unless the options name one.
 */
export function gpu(options?: WebgpuOptions): WebgpuBackend {
  if (!webgpu) throw new Error('internal: a WebGPU test ran without an adapter');
  return options ? createWebgpuBackend(webgpu.device, { gemm: webgpu.gemm, ...options }) : webgpu;
}

/**
 * The ways of writing kernels the contraction tests cover: both GEMM forms (WebgpuOptions.gemm)
 * without subgroup operations, and the rows form with them where the device has the feature
 * (lavapipe in CI does: tests/webgpu/reduce-tree.test.ts checks). Other tests run the
 * device's default: subgroups where it has them.
 */
export const KERNEL_FORMS: readonly (readonly [string, WebgpuOptions])[] = [
  ['tiled', { gemm: 'tiled', subgroups: false }],
  ['rows', { gemm: 'rows', subgroups: false }],
  ...(webgpu?.subgroups ? [['rows with subgroups', { gemm: 'rows', subgroups: true }] as const] : []),
];

/** Runs a graph once on WebGPU (with backend options beyond `watch: []`) and returns the fetched outputs (every output by default); frees the session. */
export async function runGpu(graph: Graph, inputs: ReadonlyMap<string, Tensor>, params: ReadonlyMap<string, Tensor> = new Map(), fetch?: readonly string[], options: WebgpuOptions = {}): Promise<Map<string, Tensor>> {
  const s = gpu({ watch: [], ...options }).load(graph);
  try {
    s.setParams(params);
    return await s.run(inputs, fetch ?? graph.outputs.map((o) => o.name));
  } finally {
    s.destroy();
  }
}

/** Null when every output of `got` matches `want` on the elements where the reference is finite (within rtol, and atol = atolScale × max(1, its largest magnitude); float32 rounding by default); else a report naming the output. */
export function gpuReport(got: ReadonlyMap<string, Tensor>, want: ReadonlyMap<string, Tensor>, tol: { rtol: number; atolScale: number } = { rtol: 1e-4, atolScale: 1e-5 }): string | null {
  for (const [name, w] of want) {
    const g = got.get(name);
    if (!g) return `output '${name}' is missing`;
    const finite = Array.from(w.data).filter((x) => Number.isFinite(x));
    const gd = Float64Array.from(g.data, (x, i) => (Number.isFinite(w.data[i]!) ? x : 0));
    const wd = Float64Array.from(w.data, (x) => (Number.isFinite(x) ? x : 0));
    if (g.data.length !== w.data.length) return `output '${name}': ${g.data.length} elements, want ${w.data.length}`;
    const r = allCloseReport(gd, wd, { rtol: tol.rtol, atol: tol.atolScale * Math.max(1, maxAbs(finite)) });
    if (r) return `output '${name}': ${r}`;
  }
  return null;
}
