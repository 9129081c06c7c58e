// The contract between the elaborator and built-in layers/functions: signatures, config access, emit context.

import type { Initializer, ValueId } from '../../compiler/ir/graph.js';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { DType, Shape } from '../../compiler/ir/types.js';
import type { Span } from '../ast.js';
import type { Code, MessageArgs } from '../messages.js';
import type { BinaryOpName } from './emit.js';
import type { CallableVal, Located, TensorVal, Val } from './values.js';

/**
 * Kinds of configuration arguments. `pair` accepts n or [a, b]; `padding` accepts "valid",
 * "same", n, [a, b] or [top, bottom, left, right]; `axes` accepts n or [n, …]; `shape` a list of
 * integers (−1 allowed once where the builtin says so); `any` (user layers) is unchecked.
 */
export type ConfigKind = 'int' | 'number' | 'string' | 'bool' | 'callable' | 'pair' | 'padding' | 'axes' | 'shape' | 'any';

export interface ConfigSpec {
  readonly name: string;
  readonly kind: ConfigKind;
  /** Absent: the argument is required. */
  readonly default?: Val;
  /** For strings: the accepted values. */
  readonly choices?: readonly string[];
  /** For numbers: the smallest accepted value (inclusive). */
  readonly min?: number;
  /** May be left out (then `Config.has` is false); otherwise a missing one is an error. */
  readonly optional?: boolean;
}

export interface BuiltinDef {
  readonly name: string;
  /** One line for --help listings and hints. */
  readonly doc: string;
  readonly config: readonly ConfigSpec[];
  /** Names of tensor inputs, or 'variadic' for one or more. */
  readonly inputs: readonly string[] | 'variadic';
  /** Whether each configured use creates parameters (and so an instance). */
  readonly ownsParams: boolean;
  /** For math functions: the same function on a plain number (`sqrt(64)` is 8 at elaboration). */
  readonly numeric?: (x: number) => number;
  apply(ctx: EmitContext, cfg: Config, inputs: readonly Located<TensorVal>[]): Val;
}

/** Typed access to a bound configuration (values already checked against their specs). */
export class Config {
  constructor(
    private readonly values: ReadonlyMap<string, Val>,
    readonly spans: ReadonlyMap<string, Span>,
  ) {}

  get(name: string): Val {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`internal: config '${name}' was not bound`);
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  number(name: string): number {
    const v = this.get(name);
    if (v.kind !== 'number') throw new Error(`internal: config '${name}' is not a number`);
    return v.value;
  }

  string(name: string): string {
    const v = this.get(name);
    if (v.kind !== 'string') throw new Error(`internal: config '${name}' is not a string`);
    return v.value;
  }

  bool(name: string): boolean {
    const v = this.get(name);
    if (v.kind !== 'bool') throw new Error(`internal: config '${name}' is not a bool`);
    return v.value;
  }

  callable(name: string): CallableVal {
    const v = this.get(name);
    if (v.kind !== 'callable') throw new Error(`internal: config '${name}' is not callable`);
    return v;
  }

  /** A `pair` argument as [a, b]. */
  pair(name: string): [number, number] {
    const v = this.get(name);
    if (v.kind === 'number') return [v.value, v.value];
    if (v.kind === 'list' && v.items.length === 2 && v.items.every((x) => x.kind === 'number')) {
      return v.items.map((x) => (x as { value: number }).value) as [number, number];
    }
    throw new Error(`internal: config '${name}' is not a pair`);
  }

  /** A list-of-integers argument (`shape`, `axes`), a single number giving a list of one. */
  ints(name: string): number[] {
    const v = this.get(name);
    if (v.kind === 'number') return [v.value];
    if (v.kind === 'list') return v.items.map((x) => (x as { value: number }).value);
    throw new Error(`internal: config '${name}' is not a list of integers`);
  }

  /** The span of the argument as written, or of the call when it took its default. */
  spanOf(name: string, fallback: Span): Span {
    return this.spans.get(name) ?? fallback;
  }
}

/** What a builtin may do while it is applied: emit ops, create parameters, report errors. */
export interface EmitContext {
  /** The span of the call or pipeline stage being elaborated. */
  readonly span: Span;
  /** True when elaborating the training form of the model. */
  readonly training: boolean;
  /** Declares that one step replaces a non-trainable parameter with `next` (an aliased output). */
  updateState(param: TensorVal, next: TensorVal): void;
  /**
   * Uniform [0, 1) noise of a shape for this training step: `random_uniform` of the graph's
   * per-step key input (created on first use), with a salt unique to each call.
   */
  noise(shape: Shape): TensorVal;
  /** Emits one node (type-checked; a type error becomes a diagnostic at `span`). */
  op(op: OpName, inputs: readonly ValueId[], attrs?: Attrs, span?: Span): TensorVal;
  /** A parameter of the current instance, created on first use, shape-checked on later uses. */
  param(localName: string, shape: Shape, init: Initializer, trainable?: boolean): TensorVal;
  /** A scalar constant broadcast to a shape. */
  constant(value: number, dtype: DType, shape: Shape): TensorVal;
  /** Broadcasts two tensors numpy-style and emits a binary elementwise op. */
  binary(op: BinaryOpName, a: TensorVal, b: TensorVal, span?: Span): TensorVal;
  /** numpy-style matmul (see Emitter.matmul). */
  matmul(a: TensorVal, b: TensorVal): TensorVal;
  reshape(x: TensorVal, shape: Shape): TensorVal;
  broadcastTo(x: TensorVal, shape: Shape): TensorVal;
  /** Applies a callable value (an activation passed as config) to tensors. */
  apply(fn: CallableVal, inputs: readonly Located<TensorVal>[]): Val;
  /** Aborts elaboration of this expression with a diagnostic. */
  fail(code: Code, args: MessageArgs, span?: Span, hint?: string): never;
}
