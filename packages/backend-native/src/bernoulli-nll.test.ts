import { BERNOULLI_NLL_KERNEL, Bernoulli, bernoulliNll, negLogLikelihood, Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_CORE_KERNEL_NAMES } from './index';
import { onBoth, randomArray, relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

/** The unfused ops, as Bernoulli.logProbElementwise computes -log p. */
const unfused = (l: tf.Tensor, x: tf.Tensor) => tf.neg(new Bernoulli(l).logProbElementwise(x));

describe("core's Bernoulli negative log-likelihood on 'native'", () => {
  it('negLogLikelihood of a Bernoulli runs the native kernel forward and its gradient kernel backward', async () => {
    expect(NATIVE_CORE_KERNEL_NAMES).toEqual(expect.arrayContaining([BERNOULLI_NLL_KERNEL, 'ElboBernoulliNllGrad']));
    const l = tf.variable(tf.randomNormal([4, 6], 0, 3, 'float32', 1));
    const x = tf.randomUniform([4, 6], 0, 1, 'float32', 2);
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(negLogLikelihood(new Bernoulli(l), x)) as tf.Scalar, [l]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(BERNOULLI_NLL_KERNEL);
    expect(names).toContain('ElboBernoulliNllGrad');
    for (const unfusedKernel of ['Log1p', 'Abs', 'Relu', 'Exp']) expect(names).not.toContain(unfusedKernel);
    tf.dispose([l, x]);
  });

  it('forward and both gradients match the unfused ops on the cpu backend (logits over +-30, grey-level targets)', () => {
    const rng = new Rng(3);
    const n = 128 * 784 + 3;
    const l = randomArray(rng, n).map((v) => 30 * v);
    const x = randomArray(rng, n).map((v) => (v + 1) / 2);
    const r = randomArray(rng, n);
    const withGrads = (f: (l: tf.Tensor, x: tf.Tensor) => tf.Tensor) => (lt: tf.Tensor, xt: tf.Tensor, rt: tf.Tensor) => {
      const y = f(lt, xt);
      const [gl, gx] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), rt)))([lt, xt]);
      return [y, gl, gx];
    };
    const inputs = [{ shape: [n], values: l }, { shape: [n], values: x }, { shape: [n], values: r }];
    const cpu = onBoth(inputs, withGrads(unfused)).cpu;
    const native = onBoth(inputs, withGrads(bernoulliNll)).native;
    for (let i = 0; i < 3; i++) expect(relError(native[i], cpu[i]), ['nll', 'dlogits', 'dx'][i]).toBeLessThan(1e-6);
  });

  it('matches the unfused ops where exp(-|l|) is subnormal or 0 (|l| from 80 to 110, past the range clamp of the polynomial exp)', () => {
    const ls: number[] = [];
    const xs: number[] = [];
    for (let v = 80; v <= 110; v += 0.75) {
      for (const x of [0, 0.5, 1]) {
        ls.push(v, -v);
        xs.push(x, x);
      }
    }
    const n = ls.length;
    const r = new Float32Array(n).fill(1);
    const withGrad = (f: (l: tf.Tensor, x: tf.Tensor) => tf.Tensor) => (lt: tf.Tensor, xt: tf.Tensor, rt: tf.Tensor) => {
      const y = f(lt, xt);
      const [gl] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a, xt), rt)))([lt]);
      return [y, gl];
    };
    const inputs = [{ shape: [n], values: Float32Array.from(ls) }, { shape: [n], values: Float32Array.from(xs) }, { shape: [n], values: r }];
    const cpu = onBoth(inputs, withGrad(unfused)).cpu;
    const native = onBoth(inputs, withGrad(bernoulliNll)).native;
    for (let i = 0; i < 2; i++) expect(relError(native[i], cpu[i]), ['nll', 'dlogits'][i]).toBeLessThan(1e-6);
  });

  it('the logits gradient matches central finite differences in float64', () => {
    const ls = [-20, -3.5, -0.25, 0.25, 1, 7, 40];
    const xs = [0, 0.3, 1, 0.5, 0.9, 0.1, 1];
    const f = (l: number, x: number) => Math.max(l, 0) - l * x + Math.log1p(Math.exp(-Math.abs(l)));
    const lt = tf.tensor1d(ls);
    const xt = tf.tensor1d(xs);
    const g = tf.grad((a: tf.Tensor) => tf.sum(bernoulliNll(a, xt)))(lt);
    const got = g.dataSync();
    ls.forEach((l, i) => {
      const h = 1e-5;
      expect(got[i]).toBeCloseTo((f(l + h, xs[i]) - f(l - h, xs[i])) / (2 * h), 5);
    });
    tf.dispose([lt, xt, g]);
  });

  it('NaN in the logits or the targets gives NaN in the value and the gradient, and nothing leaks', () => {
    const before = tf.memory().numTensors;
    const l = tf.tensor1d([Number.NaN, 1, 2, -1]);
    const x = tf.tensor1d([0.5, Number.NaN, 0, 1]);
    const y = bernoulliNll(l, x);
    const g = tf.grad((a: tf.Tensor) => tf.sum(bernoulliNll(a, x)))(l);
    const [yv, gv] = [Array.from(y.dataSync()), Array.from(g.dataSync())];
    expect(yv.map(Number.isNaN)).toEqual([true, true, false, false]);
    expect(gv.map(Number.isNaN)).toEqual([true, true, false, false]);
    // Infinite logits: as the unfused ops (inf - inf * 1 = NaN; -inf with x = 0 is 0).
    const li = tf.tensor1d([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const xi = tf.tensor1d([1, 0]);
    const yi = bernoulliNll(li, xi);
    const ref = tf.tidy(() => unfused(li, xi));
    expect(relError(yi.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBe(0);
    tf.dispose([l, x, y, g, li, xi, yi, ref]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
