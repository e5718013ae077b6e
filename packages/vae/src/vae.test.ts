import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, createModel, type GenerativeModel, loadModel, saveModel } from '@elbo/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createVae, Vae } from './index';

/** The first n MNIST training images in [0, 1], read with @elbo/datasets' IDX reader. */
function mnistSlice(n: number): Float32Array {
  const images = readIdxFile(join(mnistDataDir(), 'train-images-idx3-ubyte'));
  return Float32Array.from(images.data.subarray(0, n * 784), (v) => v / 255);
}

let pixels: Float32Array;
beforeAll(() => {
  pixels = mnistSlice(64);
});
let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

function trainSteps(model: GenerativeModel, x: tf.Tensor, steps: number, lr = 1e-3): [number, number] {
  const opt = tf.train.adam(lr);
  const value = () => tf.tidy(() => model.loss({ x }, { step: 10_000 }).loss.dataSync()[0]);
  const first = value();
  for (let s = 0; s < steps; s++) tf.dispose(opt.minimize(() => model.loss({ x }, { step: s }).loss, true, model.parameters()) ?? undefined);
  const last = value();
  opt.dispose();
  return [first, last];
}

describe('architectures train on real MNIST', () => {
  const cases: Array<[string, Record<string, unknown>, number[]]> = [
    ['mlp 2-layer', { architecture: 'mlp', inputShape: [784], hiddenDims: [64, 64], latentDim: 8 }, [784]],
    ['mlp 4-layer', { architecture: 'mlp', inputShape: [784], hiddenDims: [64, 64, 64, 64], latentDim: 8 }, [784]],
    ['conv', { architecture: 'conv', inputShape: [28, 28, 1], convChannels: [4, 8], latentDim: 8 }, [28, 28, 1]],
    ['resnet', { architecture: 'resnet', inputShape: [28, 28, 1], convChannels: [4, 8], latentDim: 8 }, [28, 28, 1]],
  ];
  it.each(cases)('%s: builds from config, loss goes down, shapes and ranges are right', (_, config, shape) => {
    const model = createModel({ variant: 'vae', seed: 1, ...config });
    const n = shape.length === 1 ? 32 : 16;
    const x = tf.tensor(pixels.subarray(0, n * 784), [n, ...shape]);
    const [first, last] = trainSteps(model, x, shape.length === 1 ? 12 : 8, 3e-3);
    expect(last).toBeLessThan(first);
    model.eval();
    tf.tidy(() => {
      expect(model.encode(x).shape).toEqual([n, 8]);
      const r = model.reconstruct(x);
      expect(r.shape).toEqual([n, ...shape]);
      const s = model.sample(5);
      expect(s.shape).toEqual([5, ...shape]);
      expect(tf.min(s).dataSync()[0]).toBeGreaterThanOrEqual(0);
      expect(tf.max(s).dataSync()[0]).toBeLessThanOrEqual(1);
      const a = tf.slice(x, 0, 1);
      const b = tf.slice(x, 1, 1);
      expect(model.interpolate(a, b, 4).shape).toEqual([4, ...shape]);
      expect(model.interpolate(a, b, 4, { method: 'spherical' }).shape).toEqual([4, ...shape]);
      expect((model as Vae).traverse(0, [-2, 0, 2]).shape).toEqual([3, ...shape]);
    });
    x.dispose();
    model.dispose();
  });

  it.each([
    [[32, 32, 3], [8, 16, 32]],
    [[64, 64, 1], [4, 8, 8, 8]],
  ] as Array<[number[], number[]]>)('conv handles %j inputs (derived flatten size)', (shape, convChannels) => {
    const model = createVae({ architecture: 'conv', inputShape: shape, convChannels, latentDim: 4, likelihood: 'gaussian' });
    tf.tidy(() => {
      const x = tf.randomUniform([2, ...shape], 0, 1, 'float32', 3);
      expect(model.reconstruct(x).shape).toEqual([2, ...shape]);
      expect(Number.isFinite(model.loss({ x }).loss.dataSync()[0])).toBe(true);
    });
    model.dispose();
  });
});

describe('loss', () => {
  const base = { architecture: 'mlp' as const, inputShape: [784], hiddenDims: [32], latentDim: 6, seed: 3 };

  it('is recon + klWeight * KL with named terms; elbo = -(recon + kl)', () => {
    const m = createVae({ ...base, klWeight: 4 });
    tf.tidy(() => {
      const x = tf.tensor2d(pixels.subarray(0, 8 * 784), [8, 784]);
      const { loss, terms } = m.loss({ x });
      const t = Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v.dataSync()[0]]));
      expect(Object.keys(t).sort()).toEqual(['elbo', 'kl', 'klWeight', 'reconstruction']);
      expect(t.klWeight).toBe(4);
      expect(loss.dataSync()[0]).toBeCloseTo(t.reconstruction + 4 * t.kl, 2);
      expect(t.elbo).toBeCloseTo(-(t.reconstruction + t.kl), 2);
      expect(t.kl).toBeGreaterThan(0);
      // An explicit klWeight from the trainer's schedule overrides the config.
      const zero = m.loss({ x }, { klWeight: 0 });
      expect(zero.terms.klWeight.dataSync()[0]).toBe(0);
      expect(zero.loss.dataSync()[0]).toBeCloseTo(zero.terms.reconstruction.dataSync()[0], 4);
    });
    m.dispose();
  });

  it('a klWeight schedule (linear warm-up, cyclical) sets the weight at each step, and its final weight without a step', () => {
    const lin = createVae({ ...base, klWeight: { type: 'linear', annealSteps: 100, weight: 2 } });
    const cyc = createVae({ ...base, klWeight: { type: 'cyclical', period: 100, ratio: 0.5 } });
    tf.tidy(() => {
      const x = tf.tensor2d(pixels.subarray(0, 4 * 784), [4, 784]);
      const beta = (m: Vae, step?: number) => m.loss({ x }, { step }).terms.klWeight.dataSync()[0];
      expect(beta(lin, 0)).toBe(0);
      expect(beta(lin, 25)).toBeCloseTo(0.5, 6);
      expect(beta(lin, 500)).toBe(2);
      expect(beta(cyc, 25)).toBeCloseTo(0.5, 6);
      expect(beta(cyc, 75)).toBe(1);
      expect(beta(cyc, 125)).toBeCloseTo(0.5, 6);
      expect(beta(lin)).toBe(2);
    });
    lin.dispose();
    cyc.dispose();
  });

  it('free bits raises the KL term to lambda per dimension; IWAE with k samples is finite and at least the ELBO on average', () => {
    const fb = createVae({ ...base, freeBits: 5 });
    const iw = createVae({ ...base, iwaeSamples: 8 });
    tf.tidy(() => {
      const x = tf.tensor2d(pixels.subarray(0, 16 * 784), [16, 784]);
      const out = fb.loss({ x });
      // Untrained posteriors are near the prior: every dimension's KL is below 5 nats, so the term is 6 * 5.
      const recon = out.terms.reconstruction.dataSync()[0];
      expect(out.loss.dataSync()[0] - recon).toBeCloseTo(30, 3);
      const iwaeValues: number[] = [];
      const elboValues: number[] = [];
      for (let i = 0; i < 5; i++) {
        const o = iw.loss({ x });
        iwaeValues.push(o.terms.iwae.dataSync()[0]);
        elboValues.push(o.terms.elbo.dataSync()[0]);
      }
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      expect(mean(iwaeValues)).toBeGreaterThan(mean(elboValues));
    });
    fb.dispose();
    iw.dispose();
  });
});

describe('config, determinism, persistence', () => {
  it.each([
    [{ architecture: 'mlp', latentDim: 4 }, /field "inputShape".*missing/],
    [{ architecture: 'transformer', inputShape: [4], latentDim: 4 }, /field "architecture" must be one of "mlp", "conv", "resnet"/],
    [{ inputShape: [4], latentDim: 0 }, /field "latentDim"/],
    [{ inputShape: [4], latentDim: 2, likelihood: 'poisson' }, /field "likelihood" must be one of "bernoulli", "gaussian", "laplace"/],
    [{ inputShape: [4], latentDim: 2, klWeight: -1 }, /field "klWeight"/],
    [{ inputShape: [4], latentDim: 2, latent_dim: 2 }, /unknown field\(s\) "latent_dim"/],
    [{ inputShape: [4], latentDim: 2, iwaeSamples: 5, freeBits: 1 }, /field "iwaeSamples" cannot be combined/],
    [{ architecture: 'conv', inputShape: [784], latentDim: 2 }, /field "inputShape" must be \[height, width, channels\]/],
    [{ inputShape: [4], latentDim: 2, hiddenDims: [8, 0] }, /field "hiddenDims.1"/],
    [{ inputShape: [4], latentDim: 2, beta: 4 }, /field "beta" was renamed: use "klWeight"/],
    [{ inputShape: [4], latentDim: 2, betaSchedule: { type: 'linear', annealSteps: 10 } }, /field "betaSchedule" was renamed: use "klWeight"/],
    [{ inputShape: [4], latentDim: 2, hiddenDim: 400 }, /field "hiddenDim" was renamed: use "hiddenDims"/],
    [{ inputShape: [4], latentDim: 2, mlpLayers: 2 }, /field "mlpLayers" was renamed: use "hiddenDims"/],
    [{ inputDim: 4, latentDim: 2 }, /field "inputDim" was renamed: use "inputShape"/],
    [{ architecture: 'conv', inputShape: [8, 8, 1], latentDim: 2, hiddenDims: [4, 8] }, /field "hiddenDims" was renamed: use "convChannels"/],
  ])('rejects %j', (config, message) => {
    expect(() => createModel({ variant: 'vae', ...config })).toThrow(ConfigError);
    expect(() => createModel({ variant: 'vae', ...config })).toThrow(message);
    // createVae validates with the same schema, so it fails the same way.
    expect(() => createVae(config as never)).toThrow(message);
  });

  it('same seed gives the same weights, samples and loss; another seed differs', () => {
    const cfg = { variant: 'vae', inputShape: [784], hiddenDims: [16, 16], latentDim: 3 };
    const [a, b, c] = [7, 7, 8].map((seed) => createModel({ ...cfg, seed }));
    const x = tf.tensor2d(pixels.subarray(0, 4 * 784), [4, 784]);
    const run = (m: GenerativeModel) => tf.tidy(() => [...m.sample(2).dataSync(), m.loss({ x }).loss.dataSync()[0]]);
    expect(run(a)).toEqual(run(b));
    expect(run(a)).not.toEqual(run(c));
    x.dispose();
    [a, b, c].forEach((m) => m.dispose());
  });

  it('saveModel / loadModel round-trips to identical reconstructions and samples', async () => {
    const m = createModel({ variant: 'vae', architecture: 'conv', inputShape: [28, 28, 1], convChannels: [4, 8], latentDim: 3, seed: 1 });
    const x = tf.tensor4d(pixels.subarray(0, 4 * 784), [4, 28, 28, 1]);
    trainSteps(m, x, 2);
    m.eval();
    const dir = mkdtempSync(join(tmpdir(), 'elbo-vae-'));
    await saveModel(m, dir);
    const loaded = await loadModel(dir);
    loaded.eval();
    expect(loaded).toBeInstanceOf(Vae);
    expect(loaded.config).toEqual(m.config);
    const [r1, r2] = [m, loaded].map((mm) => tf.tidy(() => mm.reconstruct(x).dataSync()));
    expect(Array.from(r2)).toEqual(Array.from(r1));
    const z = tf.randomNormal([2, 3], 0, 1, 'float32', 5);
    const [s1, s2] = [m, loaded].map((mm) => tf.tidy(() => mm.decode(z).mean().dataSync()));
    expect(Array.from(s2)).toEqual(Array.from(s1));
    tf.dispose([x, z]);
    m.dispose();
    loaded.dispose();
  });
});
