// jax-js's side of a case: numpy-style ops, lax.conv and reduceWindow, a jit-compiled step on the wasm device.
//
// jax-js layouts match Sinter's (NCHW inputs, OIHW filters), so the shared weights go in as
// they are. jax-js has no optimizer library on npm, so Adam is written out in the jitted step
// with the same formula as Sinter's and TF.js's (bias-corrected moments, ε outside the root).
// jax-js moves ownership on every call: an array passed to a function is consumed, `.ref`
// keeps one alive — hence the `.ref`s.

import type { Array as JaxArray } from '@jax-js/jax';
import type { CaseData, ModelData } from '../data.js';
import type { Prepared } from '../measure.js';

type Jax = typeof import('@jax-js/jax');

const ONE_THREAD = 'one thread: jax-js starts wasm workers only where a global Worker exists, which Node lacks';

async function loadJax(): Promise<Jax> {
  const jax = await import('@jax-js/jax');
  // Only the wasm device: jax-js's WebGPU probe reads `navigator`, which Node 20 lacks.
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js did not start its wasm device (got ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  return jax;
}

function array(jax: Jax, data: Float32Array, shape: readonly number[]): JaxArray {
  return jax.numpy.array(data).reshape([...shape]);
}

/**
 * A stride-1 'valid' convolution as one matmul over im2col patches: the k² shifted slices of x
 * stacked as [n, c, k², oh, ow], laid out (c, tap) per output pixel to match w's [o, c, k, k].
 */
function im2colConv(jax: Jax, x: JaxArray, w: JaxArray, shape: { n: number; c: number; h: number; w: number; o: number; k: number }): JaxArray {
  const { numpy: np } = jax;
  const { n, c, o, k } = shape;
  const [oh, ow] = [shape.h - k + 1, shape.w - k + 1];
  const taps: JaxArray[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) taps.push(x.ref.slice([], [], [i, i + oh], [j, j + ow]));
  x.dispose();
  const cols = np.transpose(np.stack(taps, 2), [0, 3, 4, 1, 2]).reshape([n * oh * ow, c * k * k]);
  const y = np.matmul(cols, np.transpose(w.reshape([o, c * k * k]), [1, 0]));
  return np.transpose(y.reshape([n, oh, ow, o]), [0, 3, 1, 2]);
}

/** The network as a function of (parameters, input); parameters alternate weight, bias per layer. */
function forwardFn(jax: Jax, d: ModelData, im2col: boolean): (p: JaxArray[], x: JaxArray) => JaxArray {
  const { numpy: np, nn, lax } = jax;
  return (p, x) => {
    let h = x;
    let i = 0;
    let [c, hh, ww] = d.model.input;
    for (const l of d.model.layers) {
      if (l.kind === 'conv2d') {
        const y = im2col ? im2colConv(jax, h, p[i]!, { n: d.batch, c, h: hh, w: ww, o: l.filters, k: l.kernel }) : lax.conv(h, p[i]!, [1, 1], 'VALID');
        h = y.add(p[i + 1]!.reshape([1, -1, 1, 1]));
        if (l.relu) h = nn.relu(h);
        i += 2;
        [c, hh, ww] = [l.filters, hh - l.kernel + 1, ww - l.kernel + 1];
      } else if (l.kind === 'maxpool') {
        h = lax.reduceWindow(h, (win: JaxArray) => np.max(win), [l.size, l.size], [l.size, l.size]);
        [hh, ww] = [Math.floor(hh / l.size), Math.floor(ww / l.size)];
      } else if (l.kind === 'flatten') {
        h = h.reshape([d.batch, -1]);
      } else {
        h = np.matmul(h, p[i]!).add(p[i + 1]!);
        if (l.relu) h = nn.relu(h);
        i += 2;
      }
    }
    return h;
  };
}

function prepareModel(jax: Jax, d: ModelData, im2col: boolean): Prepared {
  const { numpy: np, nn, jit, valueAndGrad, tree } = jax;
  const [c, h, w] = d.model.input;
  const x = array(jax, d.image, [d.batch, c, h, w]);
  const params = d.weights.flatMap((lw) => [array(jax, lw.w, lw.wShape), array(jax, lw.b, [lw.b.length])]);
  const forward = forwardFn(jax, d, im2col);
  if (d.kind === 'infer') {
    const infer = jit(forward);
    return { threads: 1, note: ONE_THREAD, step: () => infer(tree.ref(params), x.ref).dataSync()[0]! };
  }
  const onehot = nn.oneHot(np.array(d.labels, { dtype: np.int32 }), d.model.classes);
  const loss = (p: JaxArray[], xs: JaxArray, ys: JaxArray) => np.mean(np.sum(nn.logSoftmax(forward(p, xs), -1).mul(ys), -1)).neg();
  const { beta1, beta2, eps } = d.adam;
  const trainStep = jit((p: JaxArray[], m: JaxArray[], v: JaxArray[], xs: JaxArray, ys: JaxArray, lr: JaxArray, c1: JaxArray, c2: JaxArray) => {
    const [l, g] = valueAndGrad(loss)(tree.ref(p), xs, ys);
    const m2 = m.map((mi, i) => mi.mul(beta1).add(g[i]!.ref.mul(1 - beta1)));
    const v2 = v.map((vi, i) => vi.mul(beta2).add(g[i]!.ref.mul(g[i]!.ref).mul(1 - beta2)));
    for (const gi of g) gi.dispose();
    const p2 = p.map((wi, i) => wi.sub(lr.ref.mul(m2[i]!.ref.div(c1.ref)).div(np.sqrt(v2[i]!.ref.div(c2.ref)).add(eps))));
    for (const s of [lr, c1, c2]) s.dispose();
    return [l, p2, m2, v2] as [JaxArray, JaxArray[], JaxArray[], JaxArray[]];
  });
  let state = { p: params, m: params.map((q) => np.zerosLike(q.ref)), v: params.map((q) => np.zerosLike(q.ref)) };
  let t = 0;
  return {
    threads: 1,
    note: ONE_THREAD,
    step: () => {
      t++;
      const scalar = (s: number) => np.array(Float32Array.of(s));
      const [l, p, m, v] = trainStep(state.p, state.m, state.v, x.ref, onehot.ref, scalar(d.adam.lr), scalar(1 - beta1 ** t), scalar(1 - beta2 ** t));
      state = { p, m, v };
      return l.dataSync()[0]!;
    },
  };
}

/** `im2col` writes each convolution as a matmul over patches instead of calling lax.conv. */
export async function prepareJax(d: CaseData, im2col: boolean): Promise<Prepared> {
  const jax = await loadJax();
  if (d.kind !== 'matmul') return prepareModel(jax, d, im2col);
  const a = array(jax, d.a, [d.n, d.n]);
  const b = array(jax, d.b, [d.n, d.n]);
  const mm = jax.jit((x: JaxArray, y: JaxArray) => jax.numpy.matmul(x, y));
  return { threads: 1, note: ONE_THREAD, step: () => mm(a.ref, b.ref).dataSync()[0]! };
}
