import { activate, RELU_GRAD_KERNEL, Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_CORE_KERNEL_NAMES } from './index';
import { onBoth, randomArray, relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

describe("core's relu gradient on 'native'", () => {
  it('runs one ElboReluGrad kernel for the gradient, not Step and Multiply', async () => {
    expect(NATIVE_CORE_KERNEL_NAMES).toContain(RELU_GRAD_KERNEL);
    const x = tf.variable(tf.randomNormal([4, 5, 5, 3], 0, 1, 'float32', 1));
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(activate(x, 'relu'))) as tf.Scalar, [x]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(RELU_GRAD_KERNEL);
    expect(names).not.toContain('Step');
    x.dispose();
  });

  it("forward and gradient equal tfjs's tf.relu on the cpu backend, zeros and NaN included", () => {
    const rng = new Rng(4);
    const n = 64 * 14 * 14 * 8;
    const xs = randomArray(rng, n);
    for (let i = 0; i < n; i += 97) xs[i] = 0;
    xs[5] = Number.NaN;
    const dys = randomArray(rng, n);
    dys[7] = Number.NaN;
    xs[7] = -1; // a NaN dy where x <= 0: tfjs gives NaN * 0 = NaN
    dys[9] = Number.POSITIVE_INFINITY;
    xs[9] = -2;
    const inputs = [
      { shape: [64, 14, 14, 8], values: xs },
      { shape: [64, 14, 14, 8], values: dys },
    ];
    const withGrad = (f: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, dy: tf.Tensor) => {
      const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))([x]);
      return [f(x), g];
    };
    const tfjs = onBoth(inputs, withGrad((x) => tf.relu(x))).cpu;
    const ours = onBoth(inputs, withGrad((x) => activate(x, 'relu')));
    for (const r of [ours.native, ours.cpu]) {
      expect(relError(r[0], tfjs[0])).toBe(0);
      expect(relError(r[1], tfjs[1])).toBe(0);
    }
    expect(Number.isNaN(ours.native[1][5]) && Number.isNaN(ours.native[1][7]) && Number.isNaN(ours.native[1][9])).toBe(true);
  });
});
