// What the benchmark measures and with what: the cases, the implementations, which pairs run, the command line.
//
// The models are described once here as layer lists; every implementation builds its network
// from the list with its own API, and the data step checks the list against the Sinter
// example's parameters, so all of them run the same architecture.

export type Layer =
  | { readonly kind: 'conv2d'; readonly filters: number; readonly kernel: number; readonly relu: boolean }
  | { readonly kind: 'maxpool'; readonly size: number }
  | { readonly kind: 'flatten' }
  | { readonly kind: 'dense'; readonly units: number; readonly relu: boolean };

export interface ModelSpec {
  readonly name: string;
  /** The Sinter source, relative to the repository root. */
  readonly file: string;
  /** Input image shape without the batch axis, NCHW. */
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly Layer[];
}

export const MLP: ModelSpec = {
  name: 'MLP 784-128-64-10',
  file: 'examples/mlp.sinter',
  input: [1, 28, 28],
  classes: 10,
  layers: [
    { kind: 'flatten' },
    { kind: 'dense', units: 128, relu: true },
    { kind: 'dense', units: 64, relu: true },
    { kind: 'dense', units: 10, relu: false },
  ],
};

export const FASHION_CNN: ModelSpec = {
  name: 'Fashion CNN',
  file: 'examples/fashion_cnn.sinter',
  input: [1, 28, 28],
  classes: 10,
  layers: [
    { kind: 'conv2d', filters: 32, kernel: 3, relu: true },
    { kind: 'maxpool', size: 2 },
    { kind: 'conv2d', filters: 64, kernel: 3, relu: true },
    { kind: 'maxpool', size: 2 },
    { kind: 'conv2d', filters: 64, kernel: 3, relu: true },
    { kind: 'flatten' },
    { kind: 'dense', units: 64, relu: true },
    { kind: 'dense', units: 10, relu: false },
  ],
};

/** Where an implementation computes: the table compares Sinter only with peers on the same kind of device. */
export type Device = 'cpu' | 'webgpu';

export interface MatmulCase {
  readonly kind: 'matmul';
  readonly id: string;
  readonly n: number;
  readonly quickN: number;
  /** Runs only when named in --cases (too slow to run by default everywhere). */
  readonly optIn?: boolean;
  /** Runs only on implementations of these devices; all when absent. */
  readonly devices?: readonly Device[];
}

export interface ModelCase {
  readonly kind: 'train' | 'infer';
  readonly id: string;
  readonly model: ModelSpec;
  readonly batch: number;
  readonly quickBatch: number;
}

export type BenchCase = MatmulCase | ModelCase;

export const CASES: readonly BenchCase[] = [
  { kind: 'matmul', id: 'matmul-256', n: 256, quickN: 64 },
  { kind: 'matmul', id: 'matmul-512', n: 512, quickN: 96 },
  { kind: 'matmul', id: 'matmul-1024', n: 1024, quickN: 128 },
  // The GPU machine's case (a fraction of the fp32 peak): ~30 s a step on lavapipe, so opt-in.
  { kind: 'matmul', id: 'matmul-4096', n: 4096, quickN: 256, optIn: true, devices: ['webgpu'] },
  { kind: 'train', id: 'mlp-train', model: MLP, batch: 64, quickBatch: 8 },
  { kind: 'train', id: 'cnn-train', model: FASHION_CNN, batch: 64, quickBatch: 4 },
  { kind: 'infer', id: 'cnn-infer', model: FASHION_CNN, batch: 64, quickBatch: 4 },
];

export function caseById(id: string): BenchCase | undefined {
  return CASES.find((c) => c.id === id);
}

/** The matrix side (matmul) or the batch (models) a run uses. */
export function caseScale(c: BenchCase, quick: boolean): number {
  return c.kind === 'matmul' ? (quick ? c.quickN : c.n) : quick ? c.quickBatch : c.batch;
}

export function sizeLabel(c: BenchCase, scale: number): string {
  return c.kind === 'matmul' ? `${scale}×${scale}` : `batch ${scale}`;
}

/** The unit of a case's figure and the work of one step in that unit (GFLOP, or samples). */
export function caseWork(c: BenchCase, scale: number): { unit: 'GFLOP/s' | 'samples/s'; perStep: number } {
  return c.kind === 'matmul' ? { unit: 'GFLOP/s', perStep: (2 * scale ** 3) / 1e9 } : { unit: 'samples/s', perStep: scale };
}

/** What a case measures, without its size (the size of a --quick run differs). */
export function caseTitle(c: BenchCase): string {
  if (c.kind === 'matmul') return 'matmul';
  return `${c.model.name} ${c.kind === 'train' ? 'train step (Adam)' : 'inference'}`;
}

/** Sinter's backends, whether or not they are built yet: a missing one is reported, not dropped. */
export const EXPECTED_SINTER_BACKENDS: readonly string[] = ['ref', 'cpu', 'webgpu'];

/** The Sinter backends that run on WebGPU; every other one computes on the CPU. */
const GPU_BACKENDS: readonly string[] = ['webgpu'];

export function sinterImpl(backend: string): string {
  return `sinter-${backend}`;
}

/** The Sinter implementations to report: the expected backends first, then any other registered one. */
export function sinterImpls(registered: readonly string[]): string[] {
  const names = [...EXPECTED_SINTER_BACKENDS, ...registered.filter((b) => !EXPECTED_SINTER_BACKENDS.includes(b))];
  return names.map(sinterImpl);
}

/**
 * Sinter on a backend with an option other than its default: a column run only when `--impl`
 * names it, for what the option costs or saves. Its check may differ from the others' by
 * `checkRtol` (f16 storage rounds every temporary, so its second-step loss moves in the third digit;
 * the JavaScript-loops variant computes the same values).
 */
export interface SinterVariant {
  readonly id: string;
  readonly backend: string;
  readonly label: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly only: readonly string[];
  readonly checkRtol: number;
}

export const SINTER_VARIANTS: readonly SinterVariant[] = [
  {
    id: 'sinter-webgpu-f16s',
    backend: 'webgpu',
    label: 'Sinter on webgpu with --storage f16: temporaries between kernels stored as f16',
    options: { storage: 'f16' },
    only: ['mlp-train', 'cnn-train', 'cnn-infer'],
    checkRtol: 2e-2,
  },
  {
    id: 'sinter-cpu-jsloops',
    backend: 'cpu',
    label: 'Sinter on cpu with loops kernels and GEMM epilogues as JavaScript only (no WebAssembly loops): what wasm-loops.ts gains',
    options: { wasmLoops: false },
    only: ['mlp-train', 'cnn-train', 'cnn-infer'],
    checkRtol: 1e-3,
  },
];

export function sinterVariant(impl: string): SinterVariant | undefined {
  return SINTER_VARIANTS.find((v) => v.id === impl);
}

/** The backend a Sinter implementation runs on: `sinter-<backend>`, or a variant's. */
export function sinterBackendOf(impl: string): string {
  return sinterVariant(impl)?.backend ?? impl.slice('sinter-'.length);
}

export interface PeerSpec {
  readonly id: string;
  readonly label: string;
  /** Runs only these cases (a variant that exists for one case's sake); all when absent. */
  readonly only?: readonly string[];
  /** Said under the table. */
  readonly note?: string;
  /** Absent: the CPU. */
  readonly device?: Device;
}

export const PEERS: readonly PeerSpec[] = [
  { id: 'tfjs-cpu', label: 'TensorFlow.js 4.22, cpu backend (plain JavaScript)' },
  { id: 'tfjs-wasm', label: 'TensorFlow.js 4.22, wasm backend (XNNPACK, SIMD), stock' },
  {
    id: 'tfjs-wasm-patched',
    label: 'TensorFlow.js 4.22 wasm with a Conv2DBackpropFilter kernel registered by this benchmark',
    only: ['cnn-train'],
    note: 'stock TF.js-wasm cannot train a conv net; this column registers the missing filter-gradient kernel (a convolution with batch and channels swapped, run by the wasm backend itself)',
  },
  { id: 'tfjs-webgpu', label: 'TensorFlow.js 4.22, webgpu backend on Dawn (the webgpu package)', device: 'webgpu' },
  {
    id: 'ort-webgpu',
    label: "onnxruntime-node 1.30, its WebGPU execution provider (Dawn built into onnxruntime), on an ONNX file of the network written by this benchmark",
    only: ['cnn-infer'],
    device: 'webgpu',
    note: 'the ONNX file is built by bench/onnx.ts from the same layer list and weights (NCHW Conv, MaxPool, Flatten, Gemm); each step uploads the batch and reads the logits back',
  },
  { id: 'jax-wasm', label: 'jax-js 0.1.25, wasm device, jit-compiled step (lax.conv, reduceWindow max pooling)' },
  {
    id: 'jax-wasm-im2col',
    label: 'jax-js 0.1.25 with each convolution written by this benchmark as an im2col matmul',
    only: ['cnn-train', 'cnn-infer'],
    note: "jax-js's own convolution trains slowly; this column writes each conv as one matmul over stacked shifted slices (im2col), the fastest jax-js formulation known here",
  },
];

export function isSinter(impl: string): boolean {
  return impl.startsWith('sinter-');
}

export function implDevice(impl: string): Device {
  if (isSinter(impl)) return GPU_BACKENDS.includes(sinterBackendOf(impl)) ? 'webgpu' : 'cpu';
  return PEERS.find((p) => p.id === impl)?.device ?? 'cpu';
}

/** Whether an implementation takes part in a case at all (a one-case variant does not appear elsewhere). */
export function applies(impl: string, caseId: string): boolean {
  const peer = PEERS.find((p) => p.id === impl);
  const c = caseById(caseId);
  if (c?.kind === 'matmul' && c.devices && !c.devices.includes(implDevice(impl))) return false;
  const only = peer?.only ?? sinterVariant(impl)?.only;
  return !only || only.includes(caseId);
}

/** Why a pair is left out by policy; null when it runs. */
export function skipReason(impl: string, c: BenchCase, includeSlow: boolean): string | null {
  if (impl === sinterImpl('ref') && c.kind === 'train' && c.model === FASHION_CNN && !includeSlow) {
    return 'the reference interpreter is slow by design (minutes per CNN train step); pass --include-slow to run it';
  }
  return null;
}

export function knownImpl(impl: string, registeredBackends: readonly string[]): boolean {
  return allImpls(registeredBackends).includes(impl);
}

/** Every implementation --impl may name. */
function allImpls(registered: readonly string[]): string[] {
  return [...sinterImpls(registered), ...SINTER_VARIANTS.map((v) => v.id), ...PEERS.map((p) => p.id)];
}

// The command line: which cases and implementations, how long.

/** A bad command line: reported as a message and the usage, never a stack trace. */
export class UsageError extends Error {}

export interface Options {
  readonly cases: readonly BenchCase[];
  readonly impls: readonly string[];
  readonly quick: boolean;
  readonly includeSlow: boolean;
  readonly out: string | null;
}

export const USAGE = `usage: npm run bench -- [--cases ${CASES.map((c) => c.id).join(',')}] [--impl sinter-ref,tfjs-wasm,…] [--quick] [--include-slow] [--out FILE]`;

/** Parses the options; `registered` are the Sinter backends that exist (cli/training.ts BACKENDS). */
export function parseArgs(argv: readonly string[], registered: readonly string[]): Options {
  let cases: readonly BenchCase[] = CASES.filter((c) => !(c.kind === 'matmul' && c.optIn));
  let impls: readonly string[] = [...sinterImpls(registered), ...PEERS.map((p) => p.id)];
  let quick = false;
  let includeSlow = false;
  let out: string | null = null;
  const list = (i: number, flag: string): string[] => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a comma-separated list`);
    return v.split(',').filter((s) => s !== '');
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--include-slow') includeSlow = true;
    else if (a === '--cases') {
      const ids = list(++i, a);
      const bad = ids.find((id) => !CASES.some((c) => c.id === id));
      if (bad !== undefined) throw new UsageError(`unknown case '${bad}'; cases: ${CASES.map((c) => c.id).join(', ')}`);
      cases = CASES.filter((c) => ids.includes(c.id));
    } else if (a === '--impl') {
      const ids = list(++i, a);
      const bad = ids.find((id) => !knownImpl(id, registered));
      if (bad !== undefined) throw new UsageError(`unknown implementation '${bad}'; implementations: ${allImpls(registered).join(', ')}`);
      impls = allImpls(registered).filter((id) => ids.includes(id));
    } else if (a === '--out') {
      out = argv[++i] ?? null;
      if (out === null) throw new UsageError('--out needs a file name');
    } else if (a === '--help' || a === '-h') {
      throw new UsageError('');
    } else throw new UsageError(`unknown option '${a}'`);
  }
  return { cases, impls, quick, includeSlow, out };
}
