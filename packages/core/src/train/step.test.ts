import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { SQUARED_NORMS_KERNEL, squaredNorms } from './step';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('squaredNorms', () => {
  it('is sum(t^2) per tensor, non-finite for a tensor holding NaN or an infinity', () => {
    const xs = [tf.tensor2d([[1, 2], [3, 4]]), tf.tensor1d([Number.NaN, 1]), tf.tensor1d([0.5]), tf.tensor1d([Number.POSITIVE_INFINITY, 0])];
    const sq = squaredNorms(xs);
    expect(sq.shape).toEqual([4]);
    const v = Array.from(sq.dataSync());
    expect(v[0]).toBe(30);
    expect(Number.isNaN(v[1])).toBe(true);
    expect(v[2]).toBe(0.25);
    expect(v[3]).toBe(Number.POSITIVE_INFINITY);
    tf.dispose([...xs, sq]);
  });

  it('runs a kernel registered under SQUARED_NORMS_KERNEL for the active backend, the tensors as inputs', () => {
    const seen: number[] = [];
    tf.registerKernel({
      kernelName: SQUARED_NORMS_KERNEL,
      backendName: tf.getBackend(),
      kernelFunc: ({ inputs, backend }) => {
        const ts = Object.values(inputs) as tf.TensorInfo[];
        seen.push(ts.length);
        const cpu = backend as unknown as { makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
        return cpu.makeTensorInfo([ts.length], 'float32', new Float32Array(ts.length).fill(7));
      },
    });
    try {
      const xs = [tf.ones([2]), tf.ones([3, 3])];
      const sq = squaredNorms(xs);
      expect(Array.from(sq.dataSync())).toEqual([7, 7]);
      expect(seen).toEqual([2]);
      tf.dispose([...xs, sq]);
    } finally {
      tf.unregisterKernel(SQUARED_NORMS_KERNEL, tf.getBackend());
    }
  });

  it('refuses an empty list', () => {
    expect(() => squaredNorms([])).toThrow(/at least one/);
  });
});
