// The Conv2DBackpropFilter kernel TF.js-wasm 4.22 lacks, registered for the patched column only.
//
// The filter gradient of a stride-1 'valid' convolution is itself a convolution:
//   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh+kh, ow+kw, ci] · dy[n, oh, ow, co]
// which is conv2d(x read as [ci, H, W, n], dy read as a filter [OH, OW, n, co]) → [ci, kh, kw, co]:
// batch and channels swap roles. So the kernel is three transposes and one convolution, all
// run by the wasm backend's own XNNPACK kernels; nothing is computed in JavaScript.

import type * as TF from '@tensorflow/tfjs-core';

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface FilterAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat: string;
  /** Absent: TF.js's filter-gradient op has no dilation (its conv2d gradient requires dilation 1). */
  dilations?: number | [number, number];
  filterShape: [number, number, number, number];
}

const isOne = (v: number | [number, number]) => (Array.isArray(v) ? v.every((x) => x === 1) : v === 1);

export function registerConvFilterGradient(tf: typeof TF): void {
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TF.TensorInfo; dy: TF.TensorInfo };
      const a = attrs as unknown as FilterAttrs;
      if (!isOne(a.strides) || (a.dilations !== undefined && !isOne(a.dilations)) || a.pad !== 'valid' || a.dataFormat !== 'NHWC') {
        throw new Error(`the benchmark's Conv2DBackpropFilter handles stride 1, dilation 1, 'valid', NHWC only (got strides ${JSON.stringify(a.strides)}, pad ${JSON.stringify(a.pad)}, ${a.dataFormat})`);
      }
      const engine = tf.engine();
      const result = tf.tidy(() => {
        const xs = engine.makeTensorFromTensorInfo(x) as TF.Tensor4D;
        const dys = engine.makeTensorFromTensorInfo(dy) as TF.Tensor4D;
        const swapped = tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dys, [1, 2, 0, 3]), 1, 'valid');
        return tf.transpose(swapped, [1, 2, 0, 3]);
      });
      // The engine owns what a kernel returns, so the result is copied into a fresh output
      // rather than handed over while the tensor `result` still holds it.
      const wasm = backend as unknown as WasmBackend;
      const out = wasm.makeOutput([...a.filterShape], 'float32');
      wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(result));
      result.dispose();
      return out;
    },
  });
}
