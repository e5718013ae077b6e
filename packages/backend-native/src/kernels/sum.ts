import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { allocOutput, cpuKernel, floatData, sizeOf } from './util';

/**
 * Sum over the trailing axes (per-example sums of log-likelihoods) or the
 * leading axes (bias gradients over the batch) natively; other axis sets and
 * non-float32 inputs go to the cpu kernel.
 */
export function sumKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('Sum');
  const addon = requireAddon();
  return {
    kernelName: 'Sum',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const xv = floatData(backend, x);
      if (!xv || x.shape.length === 0) return fallback(args);
      const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
      const rank = x.shape.length;
      if (axes.length === 0) return fallback(args);
      const contiguous = axes.every((ax, i) => i === 0 || ax === axes[i - 1] + 1);
      if (!contiguous) return fallback(args);
      let reduceOuter: boolean;
      if (axes[axes.length - 1] === rank - 1) reduceOuter = false;
      else if (axes[0] === 0) reduceOuter = true;
      else return fallback(args);
      const kept = x.shape.filter((_, i) => !axes.includes(i));
      const reduced = sizeOf(axes.map((ax) => x.shape[ax]));
      const keptSize = sizeOf(kept);
      const out = allocOutput(backend, keptSize);
      if (reduceOuter) addon.sum(xv, out, reduced, keptSize, true);
      else addon.sum(xv, out, keptSize, reduced, false);
      const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
      return backend.makeTensorInfo(outShape, 'float32', out);
    },
  };
}
