import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Discriminator, discriminatorFeatureLoss, discriminatorLoss, generatorLoss } from './index';
import { close, expectNoLeaks, value, values, variable } from './test-helpers';

expectNoLeaks(beforeEach, afterEach);

const softplus = (x: number) => Math.log1p(Math.exp(x));
const LOG_2PI = Math.log(2 * Math.PI);

describe('adversarial losses (BCE with logits)', () => {
  it('discriminatorLoss = -log D(x) - log(1 - D(fake)), averaged over each batch', () => {
    const real = [2, -1];
    const fake = [0.5, -3, 1];
    const expected = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3) + softplus(1)) / 3;
    close(value(() => discriminatorLoss(tf.tensor1d(real), tf.tensor1d(fake))), expected, 1e-5);
    // One-sided label smoothing: BCE(l, 0.9) = softplus(l) - 0.9 l.
    const smoothed = (softplus(2) - 1.8 + softplus(-1) + 0.9) / 2 + (softplus(0.5) + softplus(-3) + softplus(1)) / 3;
    close(value(() => discriminatorLoss(tf.tensor1d(real), tf.tensor1d(fake), { realLabel: 0.9 })), smoothed, 1e-5);
  });

  it('generatorLoss is non-saturating -log D(fake) by default, log(1 - D(fake)) as minimax', () => {
    const fake = [0.5, -3, 40];
    close(value(() => generatorLoss(tf.tensor1d(fake))), (softplus(-0.5) + softplus(3) + softplus(-40)) / 3, 1e-5);
    close(value(() => generatorLoss(tf.tensor1d(fake), 'minimax')), -(softplus(0.5) + softplus(-3) + 40) / 3, 1e-4);
    const f = variable([0.5, -3, 2]);
    const r = checkGradient(() => generatorLoss(f), f);
    expect(r.maxRelativeError).toBeLessThan(1e-2);
    // d/dl softplus(-l) / n = -(1 - sigmoid(l)) / n
    close(r.analytic[1], -(1 - 1 / (1 + Math.exp(3))) / 3, 1e-5);
    f.dispose();
  });
});

describe('Discriminator', () => {
  it('MLP: logits [batch], one feature map per hidden layer, stable parameter names', () => {
    const d = new Discriminator({ inputShape: [5], hiddenDims: [8, 6] }, new Rng(1));
    expect([...d.namedParameters().keys()]).toEqual(['body.0.kernel', 'body.0.bias', 'body.1.kernel', 'body.1.bias', 'head.kernel', 'head.bias']);
    const shapes = tf.tidy(() => {
      const out = d.forward(tf.ones([3, 5]));
      return [out.logits.shape, ...out.features.map((f) => f.shape)];
    });
    expect(shapes).toEqual([[3], [3, 8], [3, 6]]);
    d.dispose();
  });

  it('conv with spectral norm: stride-2 features, sigma-normalised layers, logits [batch]', () => {
    const d = new Discriminator({ inputShape: [8, 8, 1], hiddenDims: [4, 8], spectralNorm: true }, new Rng(2));
    expect([...d.namedBuffers().keys()]).toEqual(['body.0.u', 'body.1.u']);
    expect([...d.namedParameters().keys()]).toEqual(['body.0.layer.kernel', 'body.0.layer.bias', 'body.1.layer.kernel', 'body.1.layer.bias', 'head.layer.kernel', 'head.layer.bias']);
    const shapes = tf.tidy(() => {
      const out = d.forward(tf.ones([2, 8, 8, 1]));
      return [out.logits.shape, ...out.features.map((f) => f.shape)];
    });
    expect(shapes).toEqual([[2], [2, 4, 4, 4], [2, 2, 2, 8]]);
    // Training mode: one power-iteration step moves u, and every parameter gets a non-zero gradient.
    const real = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 11);
    const fake = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 12);
    const u0 = Array.from(d.namedBuffers().get('body.0.u')!.dataSync());
    const r = tf.variableGrads(() => discriminatorLoss(d.apply(real), d.apply(fake)), d.parameters());
    expect(Array.from(d.namedBuffers().get('body.0.u')!.dataSync())).not.toEqual(u0);
    for (const g of Object.values(r.grads)) expect(value(() => tf.sum(tf.abs(g)))).toBeGreaterThan(0);
    tf.dispose([r.value, ...Object.values(r.grads)]);
    // Eval mode (u fixed): the conv kernel's gradient matches finite differences.
    d.eval();
    const kernel = d.namedParameters().get('body.0.layer.kernel')!;
    expect(checkGradient(() => discriminatorLoss(d.apply(real), d.apply(fake)), kernel, { maxEntries: 12 }).maxRelativeError).toBeLessThan(1e-2);
    tf.dispose([real, fake]);
    d.dispose();
  });

  it('discriminatorLoss through an MLP discriminator has finite-difference gradients (eval mode: fixed power iteration)', () => {
    const d = new Discriminator({ inputShape: [3], hiddenDims: [4], spectralNorm: true, activation: 'tanh' }, new Rng(3)).eval();
    const real = tf.tensor2d([
      [1, 0, 0.5],
      [0.2, 0.9, 0],
    ]);
    const fake = tf.tensor2d([[0.3, 0.3, 0.3]]);
    for (const p of d.parameters()) {
      expect(checkGradient(() => discriminatorLoss(d.apply(real), d.apply(fake)), p).maxRelativeError).toBeLessThan(1e-2);
    }
    tf.dispose([real, fake]);
    d.dispose();
  });

  it('discriminatorFeatureLoss is the unit-Gaussian NLL of the data features around the reconstruction features', () => {
    const d = new Discriminator({ inputShape: [3], hiddenDims: [4, 5] }, new Rng(4));
    const x = tf.tensor2d([
      [1, 0, 0.5],
      [0.2, 0.9, 0],
    ]);
    const xt = tf.tensor2d([
      [0.8, 0.1, 0.5],
      [0, 1, 0.2],
    ]);
    for (const layer of [0, 1]) {
      const [fa, fb] = [x, xt].map((t) => values(() => d.forward(t).features[layer]));
      const n = fa.length / 2;
      const sq = fa.reduce((s, v, i) => s + (v - fb[i]) ** 2, 0);
      close(value(() => discriminatorFeatureLoss(d, x, xt, { layer })), (0.5 * sq) / 2 + (n / 2) * LOG_2PI, 1e-5);
    }
    // Identical inputs: only the normalising constant remains (default layer: the last hidden one, 5 features).
    close(value(() => discriminatorFeatureLoss(d, x, x)), 2.5 * LOG_2PI, 1e-5);
    expect(() => discriminatorFeatureLoss(d, x, xt, { layer: 2 })).toThrow(/layer must be an integer in \[0, 1\]/);
    tf.dispose([x, xt]);
    d.dispose();
  });

  it('rejects a bad config with the field name', () => {
    expect(() => new Discriminator({ inputShape: [2, 2] }, new Rng(1))).toThrow(/inputShape must be \[d\] or \[h, w, c\]/);
    expect(() => new Discriminator({ inputShape: [4], hiddenDims: [] }, new Rng(1))).toThrow(/hiddenDims must be a non-empty array/);
    const d = new Discriminator({ inputShape: [4], hiddenDims: [2] }, new Rng(1));
    tf.tidy(() => {
      expect(() => d.forward(tf.zeros([2, 5]))).toThrow(/x must be \[batch, 4\], got \[2, 5\]/);
      expect(() => discriminatorLoss(tf.scalar(1), tf.zeros([2]))).toThrow(/realLogits must have a batch axis/);
      expect(() => discriminatorLoss(tf.zeros([2]), tf.zeros([2]), { realLabel: 1.5 })).toThrow(/realLabel must be in \[0, 1\]/);
    });
    d.dispose();
  });
});
