import '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { floatData } from './kernels/util';
import './index';

beforeAll(async () => {
  await tf.setBackend('native');
});

describe('float32 tensors cast from bool or int32 (storage shared with the source)', () => {
  it('are read as float32 by the native kernels: the same results as the cpu backend, the source untouched', async () => {
    const before = tf.memory().numTensors;
    const backend = tf.backend() as MathBackendCPU;
    const mask = tf.tensor2d([[1, 0, 1], [0, 1, 1]], [2, 3], 'bool');
    const ints = tf.tensor2d([[1, -2], [3, 4], [5, -6]], [3, 2], 'int32');
    const x = tf.cast(mask, 'float32');
    const w = tf.cast(ints, 'float32');
    // The cpu backend aliases the storage: these float32 tensors hold a Uint8Array and an Int32Array.
    expect(backend.data.get(x.dataId).values).toBeInstanceOf(Uint8Array);
    expect(backend.data.get(w.dataId).values).toBeInstanceOf(Int32Array);
    const view = floatData(backend, x);
    expect(view).toBeInstanceOf(Float32Array);
    expect(Array.from(view!)).toEqual([1, 0, 1, 0, 1, 1]);
    // One copy per array, reused by the next kernel.
    expect(floatData(backend, x)).toBe(view);

    const onNative = tf.tidy(() => [tf.matMul(x, w), tf.add(x, 0.5), tf.exp(w)].map((t) => t.arraySync()));
    await tf.setBackend('cpu');
    const xc = tf.tensor2d([[1, 0, 1], [0, 1, 1]]);
    const wc = tf.tensor2d([[1, -2], [3, 4], [5, -6]]);
    const onCpu = tf.tidy(() => [tf.matMul(xc, wc), tf.add(xc, 0.5), tf.exp(wc)].map((t) => t.arraySync()));
    tf.dispose([xc, wc]);
    await tf.setBackend('native');
    expect(onNative).toEqual(onCpu);
    expect(mask.dtype).toBe('bool');
    expect(mask.arraySync()).toEqual([[1, 0, 1], [0, 1, 1]]);
    expect(ints.arraySync()).toEqual([[1, -2], [3, 4], [5, -6]]);
    tf.dispose([mask, ints, x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
