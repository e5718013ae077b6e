import { DiagonalGaussian, GAUSSIAN_KL_KERNEL, gaussianKl, klPerDimension, Rng, StandardNormal } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_CORE_KERNEL_NAMES } from './index';
import { onBoth, randomArray, relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

/** The unfused ops core registers for KL(DiagonalGaussian || StandardNormal). */
const unfused = (m: tf.Tensor, lv: tf.Tensor) => tf.mul(tf.sub(tf.add(1, lv), tf.add(tf.square(m), tf.exp(lv))), -0.5);

describe("core's Gaussian KL against N(0, 1) on 'native'", () => {
  it('klPerDimension of a diagonal Gaussian against the standard normal runs the kernel and its gradient kernel', async () => {
    expect(NATIVE_CORE_KERNEL_NAMES).toEqual(expect.arrayContaining([GAUSSIAN_KL_KERNEL, 'ElboGaussianKlGrad']));
    const m = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 1));
    const lv = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 2));
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(klPerDimension(new DiagonalGaussian(m, lv), new StandardNormal([4, 3]))) as tf.Scalar, [m, lv]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(GAUSSIAN_KL_KERNEL);
    expect(names).toContain('ElboGaussianKlGrad');
    expect(names).not.toContain('Exp');
    tf.dispose([m, lv]);
  });

  it('forward and both gradients match the unfused ops on the cpu backend', () => {
    const rng = new Rng(5);
    const n = 128 * 20;
    const inputs = [
      { shape: [128, 20], values: randomArray(rng, n).map((v) => 3 * v) },
      { shape: [128, 20], values: randomArray(rng, n).map((v) => 6 * v) },
      { shape: [128, 20], values: randomArray(rng, n) },
    ];
    const withGrads = (f: (m: tf.Tensor, lv: tf.Tensor) => tf.Tensor) => (m: tf.Tensor, lv: tf.Tensor, r: tf.Tensor) => {
      const y = f(m, lv);
      const [gm, glv] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)))([m, lv]);
      return [y, gm, glv];
    };
    const cpu = onBoth(inputs, withGrads(unfused)).cpu;
    const native = onBoth(inputs, withGrads(gaussianKl)).native;
    for (let i = 0; i < 3; i++) expect(relError(native[i], cpu[i]), ['kl', 'dloc', 'dlogVar'][i]).toBeLessThan(1e-6);
  });

  it('matches central finite differences in float64, keeps NaN, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const ms = [-2, -0.5, 0, 0.7, 3];
    const lvs = [-4, 0.3, 0, -1, 2];
    const f = (m: number, lv: number) => -0.5 * (1 + lv - m * m - Math.exp(lv));
    const m = tf.tensor1d(ms);
    const lv = tf.tensor1d(lvs);
    const [gm, glv] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(gaussianKl(a, b)))([m, lv]);
    const h = 1e-5;
    ms.forEach((mi, i) => {
      expect(gm.dataSync()[i]).toBeCloseTo((f(mi + h, lvs[i]) - f(mi - h, lvs[i])) / (2 * h), 4);
      expect(glv.dataSync()[i]).toBeCloseTo((f(mi, lvs[i] + h) - f(mi, lvs[i] - h)) / (2 * h), 4);
    });
    const mn = tf.tensor1d([Number.NaN, 1]);
    const lvn = tf.tensor1d([0, Number.NaN]);
    const y = gaussianKl(mn, lvn);
    const [gmn, glvn] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(gaussianKl(a, b)))([mn, lvn]);
    expect(Array.from(y.dataSync()).map(Number.isNaN)).toEqual([true, true]);
    expect(Number.isNaN(gmn.dataSync()[0]) && Number.isNaN(glvn.dataSync()[1])).toBe(true);
    tf.dispose([m, lv, gm, glv, mn, lvn, y, gmn, glvn]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
