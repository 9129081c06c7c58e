// Emitting graph nodes from the DSL: type errors become diagnostics, numpy broadcasting, matmul, indexing.

import type { GraphBuilder, Loc } from '../../compiler/ir/graph.js';
import type { Attrs } from '../../compiler/ir/ops/op.js';
import { OpTypeError } from '../../compiler/ir/ops/op.js';
import type { OpName } from '../../compiler/ir/ops/registry.js';
import type { DType, Shape } from '../../compiler/ir/types.js';
import { formatType, shapesEqual } from '../../compiler/ir/types.js';
import type { Span } from '../ast.js';
import { fail } from './bind.js';
import type { TensorVal } from './values.js';

/** Largest graph the elaborator builds; past it, E0506. */
export const MAX_GRAPH_NODES = 200_000;

export type BinaryOpName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum';

export function locOf(span: Span): Loc {
  return { file: span.file, line: span.start.line, col: span.start.col };
}

export class Emitter {
  private count = 0;

  constructor(readonly builder: GraphBuilder) {}

  op(op: OpName, inputs: readonly number[], attrs: Attrs, span: Span): TensorVal {
    if (++this.count > MAX_GRAPH_NODES) fail('E0506', span, { limit: MAX_GRAPH_NODES });
    try {
      const id = this.builder.op(op, inputs, attrs, locOf(span));
      return { kind: 'tensor', id, type: this.builder.typeOf(id) };
    } catch (e) {
      if (e instanceof OpTypeError) fail('E0402', span, { message: `${op}: ${e.message}` });
      throw e;
    }
  }

  constant(value: number, dtype: DType, shape: Shape, span: Span): TensorVal {
    return this.op('constant', [], { value, dtype, shape: [...shape] }, span);
  }

  /** Broadcasts x to `shape`, aligning trailing axes (numpy rules); a no-op when equal. */
  broadcastTo(x: TensorVal, shape: Shape, span: Span): TensorVal {
    if (shapesEqual(x.type.shape, shape)) return x;
    const offset = shape.length - x.type.shape.length;
    const dims = x.type.shape.map((_, i) => i + offset);
    return this.op('broadcast', [x.id], { shape: [...shape], dims }, span);
  }

  /** The numpy broadcast of two shapes, or null when they are incompatible. */
  static broadcastShapes(a: Shape, b: Shape): number[] | null {
    const rank = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < rank; i++) {
      const da = a[a.length - rank + i] ?? 1;
      const db = b[b.length - rank + i] ?? 1;
      if (da !== db && da !== 1 && db !== 1) return null;
      out.push(da === 1 ? db : da);
    }
    return out;
  }

  binary(op: BinaryOpName, a: TensorVal, b: TensorVal, span: Span): TensorVal {
    const shape = Emitter.broadcastShapes(a.type.shape, b.type.shape);
    if (!shape) fail('E0402', span, { message: `cannot broadcast ${formatType(a.type)} and ${formatType(b.type)} for ${op}` }, 'trailing axes must be equal or 1');
    if (a.type.dtype !== b.type.dtype) fail('E0402', span, { message: `${op} of ${formatType(a.type)} and ${formatType(b.type)}: dtypes differ` }, 'convert one side with cast(x, "f32")');
    return this.op(op, [this.broadcastTo(a, shape, span).id, this.broadcastTo(b, shape, span).id], {}, span);
  }

  reshape(x: TensorVal, shape: Shape, span: Span): TensorVal {
    if (shapesEqual(x.type.shape, shape)) return x;
    return this.op('reshape', [x.id], { shape: [...shape] }, span);
  }

  /**
   * `a @ b` with numpy matmul semantics for rank ≥ 2: a rank-2 right operand applies to the
   * last axis of any left operand (flattened to one matmul); otherwise batch axes broadcast.
   */
  matmul(a: TensorVal, b: TensorVal, span: Span): TensorVal {
    const ra = a.type.shape.length;
    const rb = b.type.shape.length;
    if (ra < 2 || rb < 2) fail('E0402', span, { message: `matmul needs operands of rank ≥ 2, got ${formatType(a.type)} @ ${formatType(b.type)}` }, 'reshape a vector to [1, n] or [n, 1] first');
    const noT = { transpose_a: false, transpose_b: false };
    if (rb === 2 && ra > 2) {
      const lead = a.type.shape.slice(0, -1);
      const k = a.type.shape[ra - 1]!;
      const rows = lead.reduce((p, d) => p * d, 1);
      const flat = this.reshape(a, [rows, k], span);
      const y = this.op('matmul', [flat.id, b.id], noT, span);
      return this.reshape(y, [...lead, y.type.shape[1]!], span);
    }
    const batch = Emitter.broadcastShapes(a.type.shape.slice(0, -2), b.type.shape.slice(0, -2));
    if (!batch) fail('E0402', span, { message: `matmul batch axes do not broadcast: ${formatType(a.type)} @ ${formatType(b.type)}` });
    const aa = this.broadcastTo(a, [...batch, ...a.type.shape.slice(-2)], span);
    const bb = this.broadcastTo(b, [...batch, ...b.type.shape.slice(-2)], span);
    return this.op('matmul', [aa.id, bb.id], noT, span);
  }
}
