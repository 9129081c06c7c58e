// Contractions: batched matmul and 2-D convolution (NCHW input, OIHW weight), float64 accumulation.

import type { Tensor } from '../tensor.js';
import type { TensorType } from '../types.js';
import { formatType, numel } from '../types.js';
import { expectDType, expectLength, expectRank, fail, result } from './common.js';
import type { Attrs, OpDef } from './op.js';
import { boolAttr, intAttr, intsAttr } from './op.js';

/** Output extent of a sliding window; null when the window does not fit. */
export function windowExtent(size: number, kernel: number, stride: number, padLow: number, padHigh: number, dilation: number): number | null {
  const span = dilation * (kernel - 1) + 1;
  const room = size + padLow + padHigh - span;
  return room < 0 ? null : Math.floor(room / stride) + 1;
}

/** Checks stride/padding/dilation attribute lists of a 2-D window op. */
export function expectWindowAttrs(stride: readonly number[], padding: readonly number[], dilation: readonly number[]): void {
  expectLength(stride, 2, 'stride');
  expectLength(padding, 4, 'padding [top, bottom, left, right]');
  expectLength(dilation, 2, 'dilation');
  if (stride.some((s) => s < 1)) fail(`stride must be at least 1, got [${stride.join(', ')}]`);
  if (dilation.some((s) => s < 1)) fail(`dilation must be at least 1, got [${dilation.join(', ')}]`);
  if (padding.some((p) => p < 0)) fail(`padding must be non-negative, got [${padding.join(', ')}]`);
}

/** Each output element is one float64 dot product over k, rounded to f32 once. */
function matmulReference(a: Tensor, b: Tensor, attrs: Attrs, out: TensorType): Tensor {
  const rank = out.shape.length;
  const m = out.shape[rank - 2]!;
  const n = out.shape[rank - 1]!;
  const aRows = a.type.shape[rank - 2]!;
  const aCols = a.type.shape[rank - 1]!;
  const bCols = b.type.shape[rank - 1]!;
  const k = boolAttr(attrs, 'transpose_a') ? aRows : aCols;
  // Steps through a along (i, p) and b along (p, j), whichever way each operand is stored.
  const [aI, aP] = boolAttr(attrs, 'transpose_a') ? [1, aCols] : [aCols, 1];
  const [bP, bJ] = boolAttr(attrs, 'transpose_b') ? [1, bCols] : [bCols, 1];
  const batches = numel(out.shape.slice(0, -2));
  const aSize = aRows * aCols;
  const bSize = b.type.shape[rank - 2]! * bCols;
  const data = new Float32Array(batches * m * n);
  for (let bt = 0; bt < batches; bt++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a.data[bt * aSize + i * aI + p * aP]! * b.data[bt * bSize + p * bP + j * bJ]!;
        data[(bt * m + i) * n + j] = acc;
      }
    }
  }
  return { type: out, data };
}

/** Direct loops over the window; taps that fall in the zero padding are skipped. */
function conv2dReference(x: Tensor, w: Tensor, attrs: Attrs, out: TensorType): Tensor {
  const [sh, sw] = intsAttr(attrs, 'stride') as [number, number];
  const [pt, , pl] = intsAttr(attrs, 'padding') as [number, number, number, number];
  const [dh, dw] = intsAttr(attrs, 'dilation') as [number, number];
  const groups = intAttr(attrs, 'groups');
  const [, c, h, wd] = x.type.shape as [number, number, number, number];
  const [, cg, kh, kw] = w.type.shape as [number, number, number, number];
  const [n, o, oh, ow] = out.shape as [number, number, number, number];
  const perGroup = o / groups;
  const data = new Float32Array(n * o * oh * ow);
  let at = 0;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const firstChannel = Math.floor(oc / perGroup) * cg;
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            const plane = (b * c + firstChannel + ci) * h;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw - pl + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[(plane + iy) * wd + ix]! * w.data[((oc * cg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          data[at++] = acc;
        }
      }
    }
  }
  return { type: out, data };
}

export const CONTRACTION_OPS = {
  /**
   * matmul {transpose_a, transpose_b}: a [..., m, k] @ b [..., k, n] → [..., m, n]; the
   * flags swap the last two axes of an operand first. Batch axes must be equal.
   */
  matmul: {
    family: 'contraction',
    arity: 2,
    attrs: { transpose_a: { kind: 'bool' }, transpose_b: { kind: 'bool' } },
    tolerance: 'reduction',
    infer([a, b], attrs: Attrs) {
      expectDType(a!, ['f32'], 'left operand');
      expectDType(b!, ['f32'], 'right operand');
      const ra = a!.shape.length;
      const rb = b!.shape.length;
      if (ra < 2 || ra !== rb) fail(`matmul needs operands of equal rank ≥ 2, got ${formatType(a!)} and ${formatType(b!)}`);
      const batch = a!.shape.slice(0, -2);
      if (batch.some((d, i) => d !== b!.shape[i])) fail(`matmul batch axes differ: ${formatType(a!)} and ${formatType(b!)}`);
      const ta = boolAttr(attrs, 'transpose_a');
      const tb = boolAttr(attrs, 'transpose_b');
      const [m, ka] = ta ? [a!.shape[ra - 1]!, a!.shape[ra - 2]!] : [a!.shape[ra - 2]!, a!.shape[ra - 1]!];
      const [kb, n] = tb ? [b!.shape[rb - 1]!, b!.shape[rb - 2]!] : [b!.shape[rb - 2]!, b!.shape[rb - 1]!];
      if (ka !== kb) fail(`matmul inner dimensions differ: ${formatType(a!)} @ ${formatType(b!)} (${ka} vs ${kb})`);
      return result('f32', [...batch, m, n]);
    },
    reference: ([a, b], attrs, out) => matmulReference(a!, b!, attrs, out),
  },

  /**
   * conv2d {stride, padding, dilation, groups}: x [N, C, H, W] * w [O, C/groups, KH, KW]
   * → [N, O, OH, OW]; padding is [top, bottom, left, right] of zeros (cross-correlation, as in
   * every framework).
   */
  conv2d: {
    family: 'contraction',
    arity: 2,
    attrs: { stride: { kind: 'ints' }, padding: { kind: 'ints' }, dilation: { kind: 'ints' }, groups: { kind: 'int' } },
    tolerance: 'reduction',
    infer([x, w], attrs: Attrs) {
      expectDType(x!, ['f32'], 'input');
      expectDType(w!, ['f32'], 'weight');
      expectRank(x!, 4, 'conv2d input [N, C, H, W]');
      expectRank(w!, 4, 'conv2d weight [O, C/groups, KH, KW]');
      const stride = intsAttr(attrs, 'stride');
      const padding = intsAttr(attrs, 'padding');
      const dilation = intsAttr(attrs, 'dilation');
      const groups = intAttr(attrs, 'groups');
      expectWindowAttrs(stride, padding, dilation);
      const [n, c, h, wd] = x!.shape as [number, number, number, number];
      const [o, cg, kh, kw] = w!.shape as [number, number, number, number];
      if (groups < 1 || c % groups !== 0 || o % groups !== 0) fail(`groups ${groups} must divide input channels ${c} and output channels ${o}`);
      if (cg !== c / groups) fail(`conv2d weight ${formatType(w!)} expects ${cg * groups} input channels, input ${formatType(x!)} has ${c}`);
      const oh = windowExtent(h, kh, stride[0]!, padding[0]!, padding[1]!, dilation[0]!);
      const ow = windowExtent(wd, kw, stride[1]!, padding[2]!, padding[3]!, dilation[1]!);
      if (oh === null || ow === null) fail(`conv2d kernel ${kh}x${kw} does not fit input ${h}x${wd} with padding [${padding.join(', ')}]`);
      return result('f32', [n, o, oh, ow]);
    },
    reference: ([x, w], attrs, out) => conv2dReference(x!, w!, attrs, out),
  },
} satisfies Record<string, OpDef>;
