import { DiagonalGaussian, Rng } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { precisionWeightedMerge } from './merge';

describe('precisionWeightedMerge', () => {
  it('merges N(1, 1) and N(3, 1) into N(2, 1/2) (hand-computed)', () => {
    const before = tf.memory().numTensors;
    const [loc, logVar] = tf.tidy(() => {
      const m = precisionWeightedMerge(
        new DiagonalGaussian(tf.tensor2d([[1]]), tf.tensor2d([[0]])),
        new DiagonalGaussian(tf.tensor2d([[3]]), tf.tensor2d([[0]])),
      );
      return [m.loc.dataSync()[0], m.logVar.dataSync()[0]];
    });
    expect(loc).toBeCloseTo(2, 6);
    expect(logVar).toBeCloseTo(Math.log(0.5), 6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('equals var = 1/(1/va + 1/vb), mu = (ma/va + mb/vb) var on random parameters', () => {
    const rng = new Rng(11);
    const n = 40;
    const ma = Array.from({ length: n }, () => 3 * rng.normal());
    const mb = Array.from({ length: n }, () => 3 * rng.normal());
    const la = Array.from({ length: n }, () => 4 * rng.normal());
    const lb = Array.from({ length: n }, () => 4 * rng.normal());
    const before = tf.memory().numTensors;
    const { loc, logVar } = tf.tidy(() => {
      const m = precisionWeightedMerge(
        new DiagonalGaussian(tf.tensor2d(ma, [4, 10]), tf.tensor2d(la, [4, 10])),
        new DiagonalGaussian(tf.tensor2d(mb, [4, 10]), tf.tensor2d(lb, [4, 10])),
      );
      return { loc: m.loc.dataSync().slice(), logVar: m.logVar.dataSync().slice() };
    });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < n; i++) {
      const va = Math.exp(la[i]);
      const vb = Math.exp(lb[i]);
      const v = 1 / (1 / va + 1 / vb);
      const mu = (ma[i] / va + mb[i] / vb) * v;
      expect(Math.exp(logVar[i])).toBeCloseTo(v, 4);
      expect(Math.abs(loc[i] - mu)).toBeLessThan(1e-4 * Math.max(1, Math.abs(mu)));
      // The merged variance is below both inputs.
      expect(Math.exp(logVar[i])).toBeLessThanOrEqual(Math.min(va, vb) * (1 + 1e-5));
    }
  });

  it('stays finite where precisions would overflow float32 (logVar -100 and +60)', () => {
    const out = tf.tidy(() => {
      const m = precisionWeightedMerge(
        new DiagonalGaussian(tf.tensor2d([[1, 1]]), tf.tensor2d([[-100, 60]])),
        new DiagonalGaussian(tf.tensor2d([[5, 5]]), tf.tensor2d([[0, 60]])),
      );
      return [...m.loc.dataSync(), ...m.logVar.dataSync()];
    });
    expect(out.every(Number.isFinite)).toBe(true);
    // The sharp bottom-up estimate wins; two equal broad ones average.
    expect(out[0]).toBeCloseTo(1, 6);
    expect(out[2]).toBeCloseTo(-100, 4);
    expect(out[1]).toBeCloseTo(3, 5);
    expect(out[3]).toBeCloseTo(60 - Math.log(2), 4);
  });

  it('has gradients that match finite differences', () => {
    const before = tf.memory().numTensors;
    const t = tf.tensor2d([0.3, -1.2, 0.7, 2.0, -0.4, 0.1], [2, 3]);
    const muA = tf.variable(t);
    t.dispose();
    const lvA = tf.tensor2d([0.5, -0.3, 1.1, -0.8, 0.2, 0.0], [2, 3]);
    const muB = tf.tensor2d([1.0, 0.4, -0.6, 0.3, -1.5, 0.9], [2, 3]);
    const lvB = tf.tensor2d([-0.2, 0.6, 0.1, 0.4, -1.0, 0.3], [2, 3]);
    const f = () =>
      tf.tidy(() => {
        const m = precisionWeightedMerge(new DiagonalGaussian(tf.sin(muA), tf.mul(muA, 0.5)), new DiagonalGaussian(muB, lvB));
        return tf.sum(tf.add(tf.square(m.loc), tf.exp(m.logVar))) as tf.Scalar;
      });
    const r = checkGradient(f, muA, { eps: 1e-2 });
    expect(r.maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([muA, lvA, muB, lvB]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
