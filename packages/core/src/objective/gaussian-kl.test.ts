import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { DiagonalGaussian, StandardNormal } from '../distributions/diagonal-gaussian';
import { klElementwise } from '../distributions/distribution';
import { gaussianKl } from './gaussian-kl';
import { klPerDimension } from './kl';

describe('gaussianKl', () => {
  it("equals the registered KL(DiagonalGaussian || StandardNormal) where no backend kernel is registered, and klPerDimension's", () => {
    const before = tf.memory().numTensors;
    const m = tf.tensor2d([[0.5, -1, 0], [2, Number.NaN, 0.1]]);
    const lv = tf.tensor2d([[0, 1, -3], [0.2, 0, 4]]);
    const q = new DiagonalGaussian(m, lv);
    const ref = klElementwise(q, new StandardNormal([2, 3]));
    const got = gaussianKl(m, lv);
    const perDim = klPerDimension(q, new StandardNormal([2, 3]));
    expect(Array.from(got.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(Array.from(perDim.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(perDim.shape).toEqual([2, 3]);
    tf.dispose([m, lv, ref, got, perDim]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a broadcast logVar keeps the general path; mismatched shapes are refused', () => {
    const m = tf.zeros([2, 3]);
    const lv = tf.scalar(0.5);
    const perDim = klPerDimension(new DiagonalGaussian(m, lv), new StandardNormal([2, 3]));
    expect(perDim.shape).toEqual([2, 3]);
    expect(() => gaussianKl(m, lv)).toThrow(/one shape/);
    tf.dispose([m, lv, perDim]);
  });
});
