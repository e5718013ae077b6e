import { Rng, SQUARED_NORMS_KERNEL, squaredNorms } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_CORE_KERNEL_NAMES } from './index';
import { onBoth, randomArray, relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

describe("core's squaredNorms on 'native'", () => {
  it('runs the native kernel, one call for all tensors', async () => {
    expect(NATIVE_CORE_KERNEL_NAMES).toContain(SQUARED_NORMS_KERNEL);
    expect(tf.getKernel(SQUARED_NORMS_KERNEL, 'native')).toBeTruthy();
    const xs = [tf.ones([3, 4]), tf.ones([5])];
    const info = await tf.profile(() => squaredNorms(xs));
    expect(info.kernels.map((k) => k.name)).toEqual([SQUARED_NORMS_KERNEL]);
    tf.dispose([...xs, info.result as tf.Tensor]);
  });

  it("matches the cpu backend's Square, Sum and stack over many shapes, including ones past the threaded size", () => {
    const rng = new Rng(7);
    // Sizes around the chunk (65536) and threading (65536 in all) thresholds, and tiny ones.
    const shapes = [[784, 400], [400], [1], [20, 3], [65_537], [3, 5, 7], [130_001]];
    const inputs = shapes.map((shape) => ({ shape, values: randomArray(rng, shape.reduce((a, b) => a * b, 1)) }));
    const r = onBoth(inputs, (...xs) => squaredNorms(xs));
    expect(relError(r.native[0], r.cpu[0])).toBeLessThan(1e-6);
    for (let i = 0; i < shapes.length; i++) expect(Math.abs(r.native[0][i] - r.cpu[0][i]) / r.cpu[0][i]).toBeLessThan(1e-6);
  });

  it('a NaN or an infinity in a tensor gives a non-finite norm for that tensor only (the NaN guard relies on it)', () => {
    const big = new Float32Array(100_000).fill(0.5);
    big[99_999] = Number.NaN;
    const xs = [tf.tensor1d([1, Number.NaN, 2]), tf.tensor1d([3, 4]), tf.tensor1d([Number.NEGATIVE_INFINITY, 0]), tf.tensor1d([1e30, 1e30]), tf.tensor1d(big)];
    const sq = squaredNorms(xs);
    const v = Array.from(sq.dataSync());
    expect(Number.isNaN(v[0])).toBe(true);
    expect(v[1]).toBe(25);
    expect(v[2]).toBe(Number.POSITIVE_INFINITY);
    // float32 squares overflow as tfjs's Square does.
    expect(v[3]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(v[4])).toBe(true);
    tf.dispose([...xs, sq]);
  });

  it('takes non-float32 storage (a bool cast to float32 keeps its Uint8Array) and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const sq = tf.tidy(() => squaredNorms([tf.cast(tf.tensor1d([true, false, true], 'bool'), 'float32'), tf.tensor2d([[1, 2], [3, 4]])]));
    expect(Array.from(sq.dataSync())).toEqual([2, 30]);
    sq.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
