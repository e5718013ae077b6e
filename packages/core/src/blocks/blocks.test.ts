import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Bernoulli } from '../distributions/bernoulli';
import { DiagonalGaussian } from '../distributions/diagonal-gaussian';
import { Laplace } from '../distributions/laplace';
import { type Batch, type LossOutput, StandardNormalPrior } from '../model';
import { Rng } from '../rng';
import { LatentVariableModel } from './latent-model';
import { makeLikelihood } from './likelihood';
import { buildEncoderDecoder, ConvDecoder, ConvEncoder, MlpDecoder, MlpEncoder } from './networks';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('likelihoods', () => {
  it('maps families to distributions; gaussian with logVar 0 is MSE/2 + const', () => {
    tf.tidy(() => {
      const p = tf.tensor2d([[0.2, 0.8]]);
      expect(makeLikelihood('bernoulli', p)).toBeInstanceOf(Bernoulli);
      expect(makeLikelihood('laplace', p)).toBeInstanceOf(Laplace);
      const g = makeLikelihood('gaussian', p);
      expect(g).toBeInstanceOf(DiagonalGaussian);
      const x = tf.tensor2d([[0, 1]]);
      const nll = -g.logProb(x).dataSync()[0];
      const sse = 0.2 ** 2 + 0.2 ** 2;
      expect(Math.abs(nll - (sse / 2 + Math.log(2 * Math.PI)))).toBeLessThan(1e-5);
      const learned = makeLikelihood('gaussian', tf.tensor2d([[0.2, 0.8, 0, Math.log(4)]]), { logScale: 'learned' }) as DiagonalGaussian;
      expect(learned.loc.shape).toEqual([1, 2]);
      expect(() => makeLikelihood('poisson' as never, p)).toThrow(/allowed: bernoulli, gaussian, laplace/);
    });
  });
});

describe('networks', () => {
  it('MLP encoder/decoder shapes, with and without a condition', () => {
    const rng = new Rng(1);
    const enc = new MlpEncoder(12, 3, rng, { hiddenDims: [8, 8], conditionDim: 2 });
    const dec = new MlpDecoder(3, [12], rng, { hiddenDims: [8], conditionDim: 2, likelihood: 'gaussian' });
    tf.tidy(() => {
      const c = tf.tensor2d([[1, 0], [0, 1]]);
      const q = enc.forward(tf.zeros([2, 12]), c);
      expect(q.shape).toEqual([2, 3]);
      expect(dec.forward(q.mean(), c).shape).toEqual([2, 12]);
      expect(() => enc.forward(tf.zeros([2, 12]))).toThrow(/condition \[batch, 2\] is required/);
      expect(() => enc.forward(tf.zeros([2, 12]), tf.zeros([2, 3]))).toThrow(/condition must be \[2, 2\]/);
    });
    enc.dispose();
    dec.dispose();
  });

  it.each([
    [[28, 28, 1], [16, 32]],
    [[32, 32, 3], [8, 16, 32]],
    [[64, 64, 1], [8, 8, 8, 8]],
  ] as Array<[[number, number, number], number[]]>)('conv encoder/decoder round-trip shape %j', (shape, channels) => {
    const rng = new Rng(2);
    const enc = new ConvEncoder(shape, 4, rng, { channels });
    const dec = new ConvDecoder(4, shape, rng, { channels, residualBlocks: 1 });
    tf.tidy(() => {
      const q = enc.forward(tf.zeros([2, ...shape]));
      expect(q.shape).toEqual([2, 4]);
      expect(dec.forward(q.mean()).shape).toEqual([2, ...shape]);
    });
    enc.dispose();
    dec.dispose();
  });
});

describe('buildEncoderDecoder', () => {
  it('builds mlp, conv and resnet pairs from a spec and rejects a flat shape for conv', () => {
    for (const [architecture, inputShape] of [['mlp', [12]], ['conv', [8, 8, 1]], ['resnet', [8, 8, 1]]] as const) {
      const { encoder, decoder } = buildEncoderDecoder({ architecture, inputShape: [...inputShape], latentDim: 3, hiddenDims: [8, 8], convChannels: [4, 4] }, new Rng(1));
      tf.tidy(() => {
        const q = encoder.forward(tf.zeros([2, ...inputShape]));
        expect(q.shape).toEqual([2, 3]);
        expect(decoder.forward(q.mean()).shape).toEqual([2, ...inputShape]);
      });
      expect(encoder instanceof (architecture === 'mlp' ? MlpEncoder : ConvEncoder)).toBe(true);
      encoder.dispose();
      decoder.dispose();
    }
    expect(() => buildEncoderDecoder({ architecture: 'conv', inputShape: [784], latentDim: 2 }, new Rng(1))).toThrow(/needs inputShape \[h, w, c\]/);
  });
});

class Toy extends LatentVariableModel {
  readonly variant = 'toy';
  readonly usesKlWeight = true;
  constructor() {
    const rng = new Rng(3);
    const init = rng.fork('init');
    super(
      { variant: 'toy', latentDim: 2 },
      [6],
      new MlpEncoder(6, 2, init, { hiddenDims: [5] }),
      new MlpDecoder(2, [6], init, { hiddenDims: [5], likelihood: 'bernoulli' }),
      new StandardNormalPrior([2]),
      rng,
    );
  }

  loss(batch: Batch): LossOutput {
    return this.elbo(batch);
  }
}

describe('LatentVariableModel', () => {
  it('encode/decode/sample/interpolate/traverse shapes; importance weights; training lowers the loss; no leaks', () => {
    const m = new Toy();
    const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([16, 6], 0, 1, 'float32', 1), 0.5), 'float32'));
    tf.tidy(() => {
      expect(m.reconstruct(x).shape).toEqual([16, 6]);
      const s = m.sample(4);
      expect(s.shape).toEqual([4, 6]);
      expect(s.min().dataSync()[0] >= 0 && s.max().dataSync()[0] <= 1).toBe(true);
      expect(m.interpolate(tf.slice(x, 0, 1), tf.slice(x, 1, 1), 5).shape).toEqual([5, 6]);
      expect(m.traverse(1, [-2, 0, 2]).shape).toEqual([3, 6]);
      const state = m.rng.getState();
      const lw = m.importanceLogWeights(x, 3);
      expect(lw.shape).toEqual([3, 16]);
      // The batched computation equals the definition draw by draw with the same noise: one draw of the
      // posterior repeated 3 times, whose rows i * 16 .. i * 16 + 15 are draw i of the 16 examples.
      m.rng.setState(state);
      const q = m.encode(x);
      const z = q.repeat!(3).rsample!(m.rng);
      const rows = [0, 1, 2].map((i) => {
        const zi = tf.slice(z, i * 16, 16);
        return tf.sub(tf.add(m.decode(zi).logProb(x), m.prior.logProb(zi)), q.logProb(zi));
      });
      expect(tf.max(tf.abs(tf.sub(tf.stack(rows), lw))).dataSync()[0]).toBeLessThan(1e-3);
      // ELBO (mean of log-weights) lies below log p(x) <= 0 for Bernoulli data.
      expect(tf.mean(lw).dataSync()[0]).toBeLessThan(0);
      expect(() => m.decode(tf.zeros([1, 3]))).toThrow(/z must be \[batch, 2\]/);
      expect(() => m.encode(tf.zeros([1, 5]))).toThrow(/x must be \[batch, 6\]/);
    });
    const opt = tf.train.adam(1e-2);
    const lossValue = () => tf.tidy(() => m.loss({ x }).loss.dataSync()[0]);
    const first = lossValue();
    for (let i = 0; i < 60; i++) tf.dispose(opt.minimize(() => m.loss({ x }).loss, true, m.parameters()) ?? undefined);
    expect(lossValue()).toBeLessThan(first);
    opt.dispose();
    x.dispose();
    m.dispose();
  });
});
