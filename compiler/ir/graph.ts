// The graph IR: SSA values, nodes (op + inputs + attributes + type + source location), and a builder.
//
// Every value has a numeric id unique within its graph. Inputs and parameters carry user
// names; node results are numbered when printed. Nodes are kept in a topological order:
// each node's inputs are defined before it (SSA dominance in a single block).

import type { Attrs } from './ops/op.js';
import type { OpName } from './ops/registry.js';
import { inferType } from './ops/registry.js';
import type { TensorType } from './types.js';

export type ValueId = number;

/** A source position in the DSL file that produced a node. */
export interface Loc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** How a parameter is initialized; `args` are named numbers (fans, std, bounds). */
export interface Initializer {
  readonly kind: InitKind;
  readonly args: Readonly<Record<string, number>>;
}

export const INIT_KINDS = [
  'zeros',
  'ones',
  'constant',
  'normal',
  'uniform',
  'glorot_uniform',
  'glorot_normal',
  'he_uniform',
  'he_normal',
] as const;
export type InitKind = (typeof INIT_KINDS)[number];

export interface GraphInput {
  readonly id: ValueId;
  readonly name: string;
  readonly type: TensorType;
}

export interface GraphParam {
  readonly id: ValueId;
  readonly name: string;
  readonly type: TensorType;
  readonly init: Initializer;
  /** False for state that the optimizer does not update (batchnorm running statistics). */
  readonly trainable: boolean;
}

export interface Node {
  readonly id: ValueId;
  readonly op: OpName;
  readonly inputs: readonly ValueId[];
  readonly attrs: Attrs;
  readonly type: TensorType;
  readonly loc?: Loc;
}

export interface GraphOutput {
  readonly name: string;
  readonly value: ValueId;
  /**
   * Declared aliasing (as XLA's input/output aliasing): after a run, this output's value
   * becomes the named parameter's, so a train step updates parameters and optimizer state
   * in place. The output's type equals the parameter's.
   */
  readonly aliases?: string;
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly GraphInput[];
  readonly params: readonly GraphParam[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
}

/** The type of any value of the graph, by id. */
export function valueTypes(g: Graph): Map<ValueId, TensorType> {
  const m = new Map<ValueId, TensorType>();
  for (const i of g.inputs) m.set(i.id, i.type);
  for (const p of g.params) m.set(p.id, p.type);
  for (const n of g.nodes) m.set(n.id, n.type);
  return m;
}

/**
 * Builds a graph node by node. `op` runs the op's type rule, so a builder can only make
 * well-typed nodes; the type rule's OpTypeError propagates to the caller.
 */
export class GraphBuilder {
  private nextId = 0;
  private readonly inputs: GraphInput[] = [];
  private readonly params: GraphParam[] = [];
  private readonly nodes: Node[] = [];
  private readonly outputs: GraphOutput[] = [];
  private readonly types = new Map<ValueId, TensorType>();

  constructor(readonly name: string) {}

  input(name: string, type: TensorType): ValueId {
    const id = this.nextId++;
    this.inputs.push({ id, name, type });
    this.types.set(id, type);
    return id;
  }

  param(name: string, type: TensorType, init: Initializer, trainable = true): ValueId {
    const id = this.nextId++;
    this.params.push({ id, name, type, init, trainable });
    this.types.set(id, type);
    return id;
  }

  op(op: OpName, inputs: readonly ValueId[], attrs: Attrs = {}, loc?: Loc): ValueId {
    const inTypes = inputs.map((v) => this.typeOf(v));
    const type = inferType(op, inTypes, attrs);
    const id = this.nextId++;
    const node: Node = loc ? { id, op, inputs: [...inputs], attrs, type, loc } : { id, op, inputs: [...inputs], attrs, type };
    this.nodes.push(node);
    this.types.set(id, type);
    return id;
  }

  output(name: string, value: ValueId, aliases?: string): void {
    this.typeOf(value);
    this.outputs.push(aliases === undefined ? { name, value } : { name, value, aliases });
  }

  /** A builder that continues an existing graph: same values and ids, so nodes can be appended. */
  static extend(g: Graph, name = g.name): GraphBuilder {
    const b = new GraphBuilder(name);
    for (const i of g.inputs) b.inputs.push(i);
    for (const p of g.params) b.params.push(p);
    for (const n of g.nodes) b.nodes.push(n);
    for (const o of g.outputs) b.outputs.push(o);
    for (const [id, type] of valueTypes(g)) {
      b.types.set(id, type);
      b.nextId = Math.max(b.nextId, id + 1);
    }
    return b;
  }

  /** Drops every output (to declare a new set after extending a graph). */
  clearOutputs(): void {
    this.outputs.length = 0;
  }

  typeOf(v: ValueId): TensorType {
    const t = this.types.get(v);
    if (!t) throw new Error(`internal: value %${v} is not defined in graph @${this.name}`);
    return t;
  }

  hasParam(name: string): boolean {
    return this.params.some((p) => p.name === name);
  }

  build(): Graph {
    return {
      name: this.name,
      inputs: [...this.inputs],
      params: [...this.params],
      nodes: [...this.nodes],
      outputs: [...this.outputs],
    };
  }
}
