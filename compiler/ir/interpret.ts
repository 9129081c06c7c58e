// The reference interpreter is the semantics: it runs a graph node by node through each op's reference.
//
// Slow and simple on purpose. Every backend and every pass is tested against what this
// returns, so it does nothing clever: no fusion, no in-place updates, no reordering. The
// only economy is dropping each value after its last use, so that large graphs (a whole
// train step) fit in memory. With `float64`, f32 values are computed and held in float64:
// the same semantics without float32 rounding, so gradients can be checked against finite
// differences.

import type { Graph, ValueId } from './graph.js';
import type { Precision, RefTensor } from './ops/op.js';
import { OPS } from './ops/registry.js';
import type { Tensor } from './tensor.js';
import type { TensorType } from './types.js';
import { formatType, numel, typesEqual } from './types.js';

export interface Feeds {
  /** One tensor per graph input, by input name. */
  readonly inputs: ReadonlyMap<string, Tensor>;
  /** One tensor per graph parameter, by parameter name; extra entries are ignored. */
  readonly params: ReadonlyMap<string, Tensor>;
}

/** Feeds of a float64 run: f32 values may come as Float32Array or Float64Array. */
export interface RefFeeds {
  readonly inputs: ReadonlyMap<string, RefTensor>;
  readonly params: ReadonlyMap<string, RefTensor>;
}

export interface InterpretOptions {
  /** Keep every value (inputs, params, node results) and return them in `values`. */
  readonly keepAll?: boolean;
  /**
   * Compute and hold f32 values in float64 (Float64Array) instead of float32, for checking
   * gradients against finite differences; i32 and bool values are unchanged.
   */
  readonly float64?: boolean;
}

export interface InterpretResult<T extends RefTensor = Tensor> {
  readonly outputs: Map<string, T>;
  /** Every value of the graph by id; present only with `keepAll`. */
  readonly values?: Map<ValueId, T>;
}

const ARRAY_OF_DTYPE = { f32: Float32Array, i32: Int32Array, bool: Uint8Array } as const;

/** Whether a value's data is the array its type promises at a precision (kind and length). */
function dataFits(t: RefTensor, precision: Precision): boolean {
  const kind = precision === 'float64' && t.type.dtype === 'f32' ? Float64Array : ARRAY_OF_DTYPE[t.type.dtype];
  return t.data instanceof kind && t.data.length === numel(t.type.shape);
}

/**
 * Checks one feed against the graph's declaration. A mismatch is the caller's error (a
 * wrong file, a wrong batch size), so the message names the value and both types. At
 * float64 precision an f32 feed held in a Float32Array is widened to a Float64Array.
 */
function checkFeed(kind: 'input' | 'parameter', name: string, want: TensorType, got: RefTensor | undefined, graph: string, precision: Precision): RefTensor {
  if (got === undefined) throw new Error(`graph @${graph}: no value given for ${kind} '${name}' (${formatType(want)})`);
  if (!typesEqual(got.type, want)) {
    throw new Error(`graph @${graph}: ${kind} '${name}' expects ${formatType(want)}, got ${formatType(got.type)}`);
  }
  const fed = precision === 'float64' && got.data instanceof Float32Array ? { type: got.type, data: Float64Array.from(got.data) } : got;
  if (!dataFits(fed, precision)) {
    throw new Error(`graph @${graph}: ${kind} '${name}' (${formatType(want)}) holds ${got.data.length} elements in a ${got.data.constructor.name}`);
  }
  return fed;
}
/**
 * For each value, the index of the last node that reads it; graph outputs are never
 * dropped (Infinity) and a value nothing reads gets -1.
 */
export function lastUses(graph: Graph): Map<ValueId, number> {
  const last = new Map<ValueId, number>();
  for (const v of [...graph.inputs, ...graph.params, ...graph.nodes]) last.set(v.id, -1);
  graph.nodes.forEach((node, i) => {
    for (const v of node.inputs) last.set(v, i);
  });
  for (const o of graph.outputs) last.set(o.value, Infinity);
  return last;
}

/**
 * Runs `graph` on `feeds` and returns its outputs by name. By default every f32 value is a
 * Float32Array; with `float64: true` f32 feeds may be Float32Array or Float64Array and every
 * f32 value, outputs included, is a Float64Array.
 */
export function interpret(graph: Graph, feeds: Feeds, options?: InterpretOptions & { readonly float64?: false }): InterpretResult;
export function interpret(graph: Graph, feeds: RefFeeds, options: InterpretOptions & { readonly float64: true }): InterpretResult<RefTensor>;
export function interpret(graph: Graph, feeds: RefFeeds, options: InterpretOptions): InterpretResult<RefTensor>;
export function interpret(graph: Graph, feeds: RefFeeds, options: InterpretOptions = {}): InterpretResult<RefTensor> {
  const keepAll = options.keepAll ?? false;
  const precision: Precision = options.float64 ? 'float64' : 'float32';
  const declared = new Set(graph.inputs.map((i) => i.name));
  // An unknown input name is almost always a typo; extra params are normal (a checkpoint
  // that also holds optimizer state feeding an inference graph), so only inputs are strict.
  for (const name of feeds.inputs.keys()) {
    if (!declared.has(name)) throw new Error(`graph @${graph.name} has no input named '${name}'`);
  }

  const env = new Map<ValueId, RefTensor>();
  for (const i of graph.inputs) env.set(i.id, checkFeed('input', i.name, i.type, feeds.inputs.get(i.name), graph.name, precision));
  for (const p of graph.params) env.set(p.id, checkFeed('parameter', p.name, p.type, feeds.params.get(p.name), graph.name, precision));

  const last = lastUses(graph);
  const all = keepAll ? new Map(env) : undefined;
  const drop = (v: ValueId, after: number): void => {
    if (last.get(v) === after) env.delete(v);
  };
  for (const v of env.keys()) drop(v, -1);

  graph.nodes.forEach((node, i) => {
    const args = node.inputs.map((v) => {
      const t = env.get(v);
      if (!t) throw new Error(`internal: node %${node.id} (${node.op}) reads %${v}, which is not defined before it`);
      return t;
    });
    const value = OPS[node.op].evaluate(args, node.attrs, node.type, precision);
    if (!typesEqual(value.type, node.type) || !dataFits(value, precision)) {
      throw new Error(`internal: reference of '${node.op}' returned ${formatType(value.type)} with ${value.data.length} elements for node %${node.id} typed ${formatType(node.type)}`);
    }
    env.set(node.id, value);
    all?.set(node.id, value);
    drop(node.id, -1);
    for (const v of node.inputs) drop(v, i);
  });

  const outputs = new Map<string, RefTensor>();
  for (const o of graph.outputs) {
    const t = env.get(o.value);
    if (!t) throw new Error(`internal: output '${o.name}' names %${o.value}, which the graph never defines`);
    outputs.set(o.name, t);
  }
  return all ? { outputs, values: all } : { outputs };
}
