import { DiagonalGaussian, GAUSSIAN_RSAMPLE_KERNEL, gaussianRsample, Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_CORE_KERNEL_NAMES } from './index';
import { onBoth, randomArray, relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

/** The unfused ops: z = loc + exp(logVar / 2) * eps. */
const unfused = (m: tf.Tensor, lv: tf.Tensor, e: tf.Tensor) => tf.add(m, tf.mul(tf.exp(tf.mul(lv, 0.5)), e));

describe("core's reparameterised Gaussian draw on 'native'", () => {
  it('DiagonalGaussian.rsample runs the kernel and its gradient kernel, not the unfused ops', async () => {
    expect(NATIVE_CORE_KERNEL_NAMES).toEqual(expect.arrayContaining([GAUSSIAN_RSAMPLE_KERNEL, 'ElboGaussianRsampleGrad']));
    const m = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 1));
    const lv = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 2));
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(new DiagonalGaussian(m, lv).rsample(new Rng(3))) as tf.Scalar, [m, lv]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(GAUSSIAN_RSAMPLE_KERNEL);
    expect(names).toContain('ElboGaussianRsampleGrad');
    expect(names).not.toContain('Exp');
    tf.dispose([m, lv]);
  });

  it('forward and the three gradients match the unfused ops on the cpu backend', () => {
    const rng = new Rng(5);
    const n = 128 * 20;
    const inputs = [
      { shape: [128, 20], values: randomArray(rng, n).map((v) => 3 * v) },
      { shape: [128, 20], values: randomArray(rng, n).map((v) => 6 * v) },
      { shape: [128, 20], values: randomArray(rng, n).map((v) => 2 * v) },
      { shape: [128, 20], values: randomArray(rng, n) },
    ];
    const withGrads = (f: (m: tf.Tensor, lv: tf.Tensor, e: tf.Tensor) => tf.Tensor) => (m: tf.Tensor, lv: tf.Tensor, e: tf.Tensor, r: tf.Tensor) => {
      const y = f(m, lv, e);
      const [gm, glv, ge] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), r)))([m, lv, e]);
      return [y, gm, glv, ge];
    };
    const cpu = onBoth(inputs, withGrads(unfused)).cpu;
    const native = onBoth(inputs, withGrads(gaussianRsample)).native;
    for (let i = 0; i < 4; i++) expect(relError(native[i], cpu[i]), ['z', 'dloc', 'dlogVar', 'deps'][i]).toBeLessThan(1e-6);
  });

  it('matches central finite differences in float64 where loc has other gradients too, keeps NaN, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const ms = [-2, -0.5, 0, 0.7, 3];
    const lvs = [-4, 0.3, 0, -1, 2];
    const es = [0.5, -1.2, 2, 0, -0.3];
    // loc reaches the output through z and through loc^2, so tfjs adds two gradients for it.
    const f = (m: number, lv: number, e: number) => (m + Math.exp(lv / 2) * e) ** 2 + m * m;
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.add(tf.sum(tf.square(gaussianRsample(a, b, c))), tf.sum(tf.square(a)));
    const [m, lv, e] = [tf.tensor1d(ms), tf.tensor1d(lvs), tf.tensor1d(es)];
    const [gm, glv, ge] = tf.grads(loss)([m, lv, e]);
    const h = 1e-5;
    ms.forEach((mi, i) => {
      expect(gm.dataSync()[i]).toBeCloseTo((f(mi + h, lvs[i], es[i]) - f(mi - h, lvs[i], es[i])) / (2 * h), 3);
      expect(glv.dataSync()[i]).toBeCloseTo((f(mi, lvs[i] + h, es[i]) - f(mi, lvs[i] - h, es[i])) / (2 * h), 3);
    });
    // One tensor as both loc and logVar: d/dx (x + exp(x / 2) e) = 1 + exp(x / 2) e / 2.
    const [gx, gxe] = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(gaussianRsample(a, a, c)))([m, e]);
    ms.forEach((mi, i) => expect(gx.dataSync()[i]).toBeCloseTo(1 + (Math.exp(mi / 2) * es[i]) / 2, 4));
    const nan = [tf.tensor1d([Number.NaN, 1]), tf.tensor1d([0, Number.NaN]), tf.tensor1d([1, 1])];
    const y = gaussianRsample(nan[0], nan[1], nan[2]);
    expect(Array.from(y.dataSync()).map(Number.isNaN)).toEqual([true, true]);
    tf.dispose([m, lv, e, gm, glv, ge, gx, gxe, y, ...nan]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
