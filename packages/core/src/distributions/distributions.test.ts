import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Rng } from '../rng';
import { Bernoulli, Categorical, DiagonalGaussian, klDivergence, Laplace, StandardNormal } from './index';

const close = (a: number, b: number, tol: number): void => {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);
};
let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('DiagonalGaussian', () => {
  it('logProb matches the hand-computed density', () => {
    tf.tidy(() => {
      const d = new DiagonalGaussian(tf.tensor2d([[0, 1]]), tf.tensor2d([[0, Math.log(4)]]));
      // N(0.5; 0, 1) + N(2; 1, 4)
      const expected =
        -0.5 * Math.log(2 * Math.PI) - 0.125 + (-0.5 * Math.log(2 * Math.PI * 4) - (1 * 1) / (2 * 4));
      close(d.logProb(tf.tensor2d([[0.5, 2]])).dataSync()[0], expected, 1e-5);
    });
  });

  it('KL to N(0, I) equals the closed form and a Monte-Carlo estimate', () => {
    tf.tidy(() => {
      const mu = [0.3, -1.2, 2.0];
      const lv = [0.5, -0.7, 0.1];
      const q = new DiagonalGaussian(tf.tensor2d([mu]), tf.tensor2d([lv]));
      const closed = mu.reduce((s, m, i) => s - 0.5 * (1 + lv[i] - m * m - Math.exp(lv[i])), 0);
      const analytic = q.kl(new StandardNormal([1, 3])).dataSync()[0];
      close(analytic, closed, 1e-5);
      // Monte Carlo: E_q[log q - log p] over 200k draws.
      const n = 200_000;
      const qn = new DiagonalGaussian(tf.tile(tf.tensor2d([mu]), [n, 1]), tf.tile(tf.tensor2d([lv]), [n, 1]));
      const z = qn.sample(new Rng(7));
      const mc = tf.mean(tf.sub(qn.logProb(z), new StandardNormal([n, 3]).logProb(z))).dataSync()[0];
      close(mc, closed, 0.02);
    });
  });

  it('KL between two Gaussians matches the closed form; KL(p||p) = 0', () => {
    tf.tidy(() => {
      const p = new DiagonalGaussian(tf.tensor2d([[1, 2]]), tf.tensor2d([[0.2, -0.3]]));
      const q = new DiagonalGaussian(tf.tensor2d([[0, 2.5]]), tf.tensor2d([[-0.5, 0.4]]));
      const f = (m1: number, v1: number, m2: number, v2: number) =>
        0.5 * (Math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1);
      const expected = f(1, Math.exp(0.2), 0, Math.exp(-0.5)) + f(2, Math.exp(-0.3), 2.5, Math.exp(0.4));
      close(klDivergence(p, q).dataSync()[0], expected, 1e-5);
      close(p.kl(p).dataSync()[0], 0, 1e-6);
    });
  });

  it('rsample is differentiable in mean and logVar', () => {
    const rng = new Rng(3);
    const g = tf.grads((m: tf.Tensor, lv: tf.Tensor) => tf.sum(new DiagonalGaussian(m, lv).rsample(rng)));
    const inputs = [tf.zeros([2, 3]), tf.zeros([2, 3])];
    const [gm, glv] = g(inputs);
    expect(Array.from(gm.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(glv.dataSync().some((v) => v !== 0)).toBe(true);
    tf.dispose([gm, glv, ...inputs]);
  });

  it('entropy matches 0.5 log(2 pi e var)', () => {
    tf.tidy(() => {
      const d = new DiagonalGaussian(tf.zeros([1, 2]), tf.tensor2d([[0, 1]]));
      close(d.entropy().dataSync()[0], 0.5 * (2 * Math.log(2 * Math.PI * Math.E) + 1), 1e-5);
    });
  });
});

describe('repeat: k copies of a batch of distributions, row i * batch + j a copy of row j', () => {
  it('tiles parameters with a batch axis and keeps broadcast ones; log-densities repeat with them', () => {
    tf.tidy(() => {
      const loc = tf.tensor2d([[0, 1], [2, -1]]);
      const perRow = new DiagonalGaussian(loc, tf.tensor2d([[0, 0.5], [-1, 0.2]])).repeat(3);
      const shared = new DiagonalGaussian(loc, tf.tensor1d([0.3, -0.3])).repeat(3);
      const laplace = new Laplace(loc, tf.scalar(0.1)).repeat(3);
      expect(perRow.shape).toEqual([6, 2]);
      expect(perRow.loc.arraySync()).toEqual([[0, 1], [2, -1], [0, 1], [2, -1], [0, 1], [2, -1]]);
      expect(perRow.logVar.arraySync()).toEqual([[0, 0.5], [-1, 0.2], [0, 0.5], [-1, 0.2], [0, 0.5], [-1, 0.2]].map((r) => r.map(Math.fround)));
      expect(shared.logVar.shape).toEqual([2]);
      expect(laplace.shape).toEqual([6, 2]);
      expect(new StandardNormal([2, 4]).repeat(5).shape).toEqual([10, 4]);
      const x = tf.tensor2d([[0.5, 0.5], [1, 1]]);
      const once = new DiagonalGaussian(loc, tf.tensor1d([0.3, -0.3])).logProb(x).arraySync();
      const thrice = shared.logProb(tf.tile(x, [3, 1])).arraySync();
      expect(thrice).toEqual([...once, ...once, ...once]);
      // One draw of the repeated distribution has k independent rows per example.
      const z = perRow.rsample(new Rng(2)).arraySync() as number[][];
      expect(z[0]).not.toEqual(z[2]);
    });
  });
});

describe('Bernoulli', () => {
  it('logProb equals x log p + (1-x) log(1-p) and is stable for large logits', () => {
    tf.tidy(() => {
      const logits = [0.3, -2, 50, -50];
      const x = [1, 0, 1, 0.25];
      const d = new Bernoulli(tf.tensor2d([logits]));
      const lp = d.logProbElementwise(tf.tensor2d([x])).dataSync();
      close(lp[2], 0, 1e-6); // x = 1, l = 50: log sigmoid(50) ~ -2e-22
      for (let i = 0; i < 2; i++) {
        const p = 1 / (1 + Math.exp(-logits[i]));
        close(lp[i], x[i] * Math.log(p) + (1 - x[i]) * Math.log(1 - p), 1e-5);
      }
      // l = -50, x = 0.25: x*l - softplus(l) = -12.5 - ~0
      close(lp[3], -12.5, 1e-4);
      expect(Number.isFinite(d.logProb(tf.tensor2d([x])).dataSync()[0])).toBe(true);
    });
  });

  it('KL matches the closed form and samples have the right mean', () => {
    tf.tidy(() => {
      const p = new Bernoulli(tf.tensor2d([[0.5]]));
      const q = new Bernoulli(tf.tensor2d([[-1]]));
      const a = 1 / (1 + Math.exp(-0.5));
      const b = 1 / (1 + Math.exp(1));
      close(p.kl(q).dataSync()[0], a * Math.log(a / b) + (1 - a) * Math.log((1 - a) / (1 - b)), 1e-5);
      const s = new Bernoulli(tf.fill([20000, 1], 0.5)).sample(new Rng(1));
      close(tf.mean(s).dataSync()[0], a, 0.015);
    });
  });
});

describe('Laplace', () => {
  it('logProb and KL match closed forms; samples have the right mean absolute deviation', () => {
    tf.tidy(() => {
      const p = new Laplace(tf.tensor2d([[1]]), tf.tensor2d([[Math.log(2)]]));
      close(p.logProb(tf.tensor2d([[4]])).dataSync()[0], -Math.log(4) - 1.5, 1e-5);
      const q = new Laplace(tf.tensor2d([[0]]), tf.tensor2d([[0]]));
      const expected = Math.log(1 / 2) + (2 * Math.exp(-1 / 2) + 1) / 1 - 1;
      close(p.kl(q).dataSync()[0], expected, 1e-5);
      const s = new Laplace(tf.fill([40000, 1], 1), tf.fill([40000, 1], Math.log(2))).rsample(new Rng(2));
      close(tf.mean(tf.abs(tf.sub(s, 1))).dataSync()[0], 2, 0.05);
    });
  });
});

describe('Categorical', () => {
  it('logProb is the log-softmax entry, entropy and KL are right, samples follow the probabilities', () => {
    tf.tidy(() => {
      const logits = tf.tensor3d([[[0, Math.log(3)]]]); // p = [0.25, 0.75]
      const d = new Categorical(logits);
      expect(d.shape).toEqual([1, 1]);
      close(d.logProb(tf.tensor2d([[1]], undefined, 'int32')).dataSync()[0], Math.log(0.75), 1e-5);
      close(d.entropy().dataSync()[0], -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)), 1e-5);
      const u = new Categorical(tf.zeros([1, 1, 2]));
      close(d.kl(u).dataSync()[0], 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 1e-5);
      const many = new Categorical(tf.tile(logits, [5000, 1, 1])).sample(new Rng(4));
      close(tf.mean(tf.cast(many, 'float32')).dataSync()[0], 0.75, 0.03);
    });
  });
});

describe('seeded sampling', () => {
  it('same seed gives identical samples, different seeds differ', () => {
    tf.tidy(() => {
      const d = new DiagonalGaussian(tf.zeros([4, 5]), tf.zeros([4, 5]));
      const a = d.sample(new Rng(11)).dataSync();
      const b = d.sample(new Rng(11)).dataSync();
      const c = d.sample(new Rng(12)).dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(a)).not.toEqual(Array.from(c));
    });
  });

  it('an unregistered pair has no analytic KL and says what to use', () => {
    tf.tidy(() => {
      const g = new DiagonalGaussian(tf.zeros([1, 1]), tf.zeros([1, 1]));
      expect(() => g.kl(new Laplace(tf.zeros([1, 1]), tf.zeros([1, 1])))).toThrow(/Monte-Carlo/);
    });
  });
});
