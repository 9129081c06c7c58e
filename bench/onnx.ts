// An ONNX file of a benchmark model, written by hand: a minimal protobuf encoder and the ModelProto of a layer list.
//
// Why not a package: onnx-proto is not installed here and the benchmark needs five messages.
// Field numbers follow onnx/onnx.proto (IR version 8, opset 17, both accepted by
// onnxruntime-node 1.30). The graph is NCHW like Sinter's, so the shared weights go in as
// they are: conv filters [out, in, kh, kw], dense weights [in, out] as Gemm's B, and Flatten
// of an NCHW map orders features (c, h, w) exactly as Sinter's flatten does.

import type { ModelSpec } from './cases.js';
import type { LayerWeights } from './data.js';

/** Protobuf wire types used here: varint (0) and length-delimited (2). */
const VARINT = 0;
const BYTES = 2;

/** Bytes of one protobuf message, built field by field (fields in any order, as protobuf allows). */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Non-negative integers only: every varint the benchmark writes (sizes, enums, versions) is one. */
  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`internal: protobuf varint must be a non-negative safe integer, got ${v}`);
    const out: number[] = [];
    let x = v;
    while (x >= 0x80) {
      out.push((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    out.push(x);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    this.tag(field, VARINT);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, BYTES);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  /** A packed repeated varint field (proto3's default encoding for repeated scalars). */
  packed(field: number, vs: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INTS = 7; // AttributeProto.AttributeType.INTS
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

function tensorProto(name: string, dims: readonly number[], data: Float32Array): ProtoWriter {
  const raw = new Uint8Array(data.length * 4);
  // raw_data is little-endian by the ONNX spec, whatever the host.
  const view = new DataView(raw.buffer);
  data.forEach((x, i) => view.setFloat32(i * 4, x, true));
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  return t.int(2, FLOAT).string(8, name).bytes(9, raw);
}

function valueInfo(name: string, dims: readonly number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

function node(op: string, inputs: readonly string[], output: string, ints: Readonly<Record<string, readonly number[]>> = {}): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  n.string(2, output).string(3, output).string(4, op);
  for (const [name, vs] of Object.entries(ints)) n.message(5, new ProtoWriter().string(1, name).int(20, ATTR_INTS).packed(8, vs));
  return n;
}

/** The graph's input and output names. */
export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'logits';

/**
 * The ModelProto of `model` at a fixed batch with `weights` as initializers (one entry per
 * conv2d or dense layer, Sinter's layouts).
 */
export function onnxModel(model: ModelSpec, weights: readonly LayerWeights[], batch: number): Uint8Array {
  const graph = new ProtoWriter();
  const initializers: ProtoWriter[] = [];
  let x = ONNX_INPUT;
  let k = 0;
  const last = model.layers.length - 1;
  model.layers.forEach((l, i) => {
    const out = i === last ? ONNX_OUTPUT : `t${i}`;
    const pre = l.kind === 'conv2d' || l.kind === 'dense' ? (l.relu ? `t${i}_pre` : out) : out;
    if (l.kind === 'conv2d' || l.kind === 'dense') {
      const lw = weights[k++];
      if (!lw) throw new Error(`internal: ${model.name} has more weighted layers than weights`);
      initializers.push(tensorProto(`w${i}`, lw.wShape, lw.w), tensorProto(`b${i}`, [lw.b.length], lw.b));
      graph.message(1, l.kind === 'conv2d' ? node('Conv', [x, `w${i}`, `b${i}`], pre, { kernel_shape: [l.kernel, l.kernel] }) : node('Gemm', [x, `w${i}`, `b${i}`], pre));
      if (l.relu) graph.message(1, node('Relu', [pre], out));
    } else if (l.kind === 'maxpool') {
      graph.message(1, node('MaxPool', [x], out, { kernel_shape: [l.size, l.size], strides: [l.size, l.size] }));
    } else {
      graph.message(1, node('Flatten', [x], out));
    }
    x = out;
  });
  if (k !== weights.length) throw new Error(`internal: ${model.name} uses ${k} of ${weights.length} weight entries`);
  graph.string(2, model.name);
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo(ONNX_INPUT, [batch, ...model.input]));
  graph.message(12, valueInfo(ONNX_OUTPUT, [batch, model.classes]));
  return new ProtoWriter()
    .int(1, ONNX_IR_VERSION)
    .string(2, 'sinter-bench')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET))
    .finish();
}
