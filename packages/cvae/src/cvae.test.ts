import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createModel, listVariants } from '@elbo/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cvae, createCvae } from './index';
import { mnistSlice } from './test-support/mnist-slice';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  // Every test ends leak-free: whatever it made is disposed.
  expect(tf.memory().numTensors).toBe(before);
});

const small = { inputShape: [784], numClasses: 10, latentDim: 4, hiddenDims: [32], seed: 1 };

function data(n: number, offset = 0): { x: tf.Tensor2D; y: tf.Tensor1D; labels: Int32Array } {
  const { images, labels } = mnistSlice(n, 'train', offset);
  return { x: tf.tensor2d(images, [n, 784]), y: tf.tensor1d(labels, 'int32'), labels };
}

function values(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('construction and config', () => {
  it('builds from a plain config via createModel, with defaults filled in', () => {
    expect(listVariants()).toContain('cvae');
    const m = createModel({ variant: 'cvae', inputShape: [784], numClasses: 10, latentDim: 8 }) as Cvae;
    expect(m).toBeInstanceOf(Cvae);
    expect(m.variant).toBe('cvae');
    expect(m.config).toMatchObject({ architecture: 'mlp', klWeight: 1, hiddenDims: [512, 256], seed: 0, likelihood: 'bernoulli', conditionEmbedding: 0 });
    expect(m.inputShape).toEqual([784]);
    // Default MLP 784+10 -> 512 -> 256 -> (mu, logVar) 8; decoder 8+10 -> 256 -> 512 -> 784.
    const expected = (794 * 512 + 512) + (512 * 256 + 256) + 2 * (256 * 8 + 8) + (18 * 256 + 256) + (256 * 512 + 512) + (512 * 784 + 784);
    expect(m.numParameters()).toBe(expected);
    m.dispose();
  });

  it.each([
    [{ inputShape: [784], latentDim: 4 }, /field "numClasses".*or conditionDim is required/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, conditionDim: 3 }, /field "conditionDim".*cannot be given together with numClasses/],
    [{ inputShape: [784], latentDim: 4, numClasses: 1 }, /field "numClasses"/],
    [{ inputShape: [784], latentDim: 0, numClasses: 10 }, /field "latentDim"/],
    [{ architecture: 'conv', inputShape: [784], latentDim: 4, numClasses: 10 }, /field "inputShape" must be \[height, width, channels\] for architecture 'conv'/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, labels: 10 }, /unknown field\(s\) "labels"/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, likelihood: 'poisson' }, /field "likelihood" must be one of "bernoulli", "gaussian", "laplace"/],
    [{ latentDim: 4, numClasses: 10 }, /field "inputShape".*missing/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, hiddenDims: [] }, /field "hiddenDims"/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, beta: 2 }, /field "beta" was renamed: use "klWeight"/],
    [{ inputDim: 784, latentDim: 4, numClasses: 10 }, /field "inputDim" was renamed: use "inputShape"/],
    [{ inputShape: [784], latentDim: 4, numClasses: 10, likelihoodOptions: { logScale: 0 } }, /field "likelihoodOptions" was renamed: use "likelihoodScale"/],
    [{ architecture: 'conv', inputShape: [28, 28, 1], latentDim: 4, numClasses: 10, hiddenDims: [4, 8] }, /field "hiddenDims" was renamed: use "convChannels"/],
  ])('rejects a bad config with a clear error: %j', (config, message) => {
    expect(() => createModel({ variant: 'cvae', ...config })).toThrow(ConfigError);
    expect(() => createModel({ variant: 'cvae', ...config })).toThrow(message);
    // createCvae validates with the same schema.
    expect(() => createCvae(config as never)).toThrow(message);
  });
});

describe('conditioning', () => {
  it('shapes of encode / decode / reconstruct / sample / swap / interpolate / traverse (MLP)', () => {
    const m = createCvae(small);
    const { x, y } = data(6);
    tf.tidy(() => {
      const q = m.encode(x, y);
      expect(q.mean().shape).toEqual([6, 4]);
      expect(m.decode(q.mean(), y).mean().shape).toEqual([6, 784]);
      expect(m.reconstruct(x, y).shape).toEqual([6, 784]);
      expect(m.sample(5, 3).shape).toEqual([5, 784]);
      expect(m.sample(10).shape).toEqual([10, 784]);
      expect(m.sample(2, { condition: [1, 2], mode: 'sample', temperature: 0.5 }).shape).toEqual([2, 784]);
      expect(m.swapCondition(x, y, 7).shape).toEqual([6, 784]);
      const a = tf.slice(x, 0, 1);
      const b = tf.slice(x, 1, 1);
      expect(m.interpolate(a, b, 4, { condition: 2 }).shape).toEqual([4, 784]);
      expect(m.traverse(0, [-1, 0, 1], undefined, 5).shape).toEqual([3, 784]);
      expect(m.importanceLogWeights(x, 3, y).shape).toEqual([3, 6]);
    });
    tf.dispose([x, y]);
    m.dispose();
  });

  it('labels, label arrays, one-hot rows and a broadcast single label give the same decoding', () => {
    const m = createCvae(small);
    const z = tf.randomNormal([3, 4], 0, 1, 'float32', 11);
    const viaTensor = values(tf.tidy(() => m.decode(z, tf.tensor1d([4, 4, 4], 'int32')).mean()));
    const viaArray = values(tf.tidy(() => m.decode(z, [4, 4, 4]).mean()));
    const viaRows = values(tf.tidy(() => m.decode(z, tf.oneHot(tf.tensor1d([4, 4, 4], 'int32'), 10)).mean()));
    const viaNumber = values(tf.tidy(() => m.decode(z, 4).mean()));
    const viaNested = values(tf.tidy(() => m.decode(z, [[0, 0, 0, 0, 1, 0, 0, 0, 0, 0]]).mean()));
    for (const v of [viaArray, viaRows, viaNumber, viaNested]) expect(maxAbsDiff(v, viaTensor)).toBe(0);
    z.dispose();
    m.dispose();
  });

  it('the condition changes the output: the same z decodes differently under each label', () => {
    const m = createCvae(small);
    const z = tf.randomNormal([1, 4], 0, 1, 'float32', 12);
    const outs = Array.from({ length: 10 }, (_, d) => values(tf.tidy(() => m.decode(z, d).mean())));
    for (let d = 1; d < 10; d++) expect(maxAbsDiff(outs[0], outs[d])).toBeGreaterThan(1e-3);
    // Swapping to the own label is the plain reconstruction.
    const { x, y } = data(4);
    const same = values(tf.tidy(() => m.swapCondition(x, y, y)));
    expect(maxAbsDiff(same, values(m.reconstruct(x, y)))).toBe(0);
    expect(maxAbsDiff(same, values(tf.tidy(() => m.swapCondition(x, y, 0))))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, z]);
    m.dispose();
  });

  it('bad conditions get clear errors: wrong width, label out of range, non-integer label, missing, row count', () => {
    const m = createCvae(small);
    const { x, y } = data(4);
    tf.tidy(() => {
      expect(() => m.encode(x, tf.zeros([4, 9]))).toThrow(/cvae.encode: condition must be .*got width 9, expected 10/);
      expect(() => m.sample(2, [3, 10])).toThrow(/cvae.sample: label 10 at index 1 is out of range; labels must be integers in \[0, 9\]/);
      expect(() => m.reconstruct(x, tf.tensor1d([0, 1, -1, 2], 'int32'))).toThrow(/label -1 at index 2 is out of range/);
      expect(() => m.sample(1, 2.5)).toThrow(/label 2.5 at index 0 is out of range; labels must be integers/);
      expect(() => m.encode(x)).toThrow(/cvae.encode: a condition is required \(a label in \[0, 9\]/);
      expect(() => m.reconstruct(x, [1, 2])).toThrow(/condition has 2 rows but the batch has 4/);
      expect(() => m.loss({ x })).toThrow(/cvae.loss: the batch needs a condition \(batch.condition\) or labels \(batch.y\)/);
      expect(() => m.loss({ x, y: tf.tensor1d([0, 1, 2, 12], 'int32') })).toThrow(/cvae.loss: label 12 at index 3/);
      expect(() => m.encode(x, tf.zeros([4, 10, 1]))).toThrow(/got a tensor of shape \[4, 10, 1\]/);
      expect(() => m.loss({ x: tf.zeros([4, 100]), y })).toThrow(/batch.x must be \[batch, 784\]/);
    });
    tf.dispose([x, y]);
    m.dispose();
  });

  it('vector (attribute) conditioning with a learned embedding and a gaussian likelihood', () => {
    const m = createCvae({ inputShape: [12], conditionDim: 3, conditionEmbedding: 5, latentDim: 2, hiddenDims: [16], likelihood: 'gaussian', seed: 4 });
    expect([...m.namedVariables().keys()]).toContain('embedding.kernel');
    expect([...m.namedVariables().keys()]).toContain('embedding.bias');
    const x = tf.randomNormal([5, 12], 0, 1, 'float32', 5);
    tf.tidy(() => {
      expect(m.sample(4, [0.5, -1, 2]).shape).toEqual([4, 12]);
      expect(m.reconstruct(x, tf.randomNormal([5, 3], 0, 1, 'float32', 6)).shape).toEqual([5, 12]);
      expect(() => m.sample(4)).toThrow(/cvae.sample: a condition is required \(a vector of 3 values or rows \[batch, 3\]\)/);
      expect(() => m.sample(4, 1)).toThrow(/a single number is a class label, but this model is conditioned on vectors/);
      expect(() => m.sample(4, [1, 2])).toThrow(/condition row 0 must have 3 values, got 2/);
    });
    // Conditioning changes the output through the embedding too.
    const st = m.rng.getState();
    const a = values(m.sample(1, [1, 0, 0]));
    m.rng.setState(st);
    const b = values(m.sample(1, [0, 0, 1]));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
    x.dispose();
    m.dispose();
  });
});

describe('objective', () => {
  it('terms follow their definitions: KL in closed form from the posterior, elbo = -(rec + kl), loss = rec + klWeight kl', () => {
    const m = createCvae({ ...small, klWeight: 2.5 });
    const { x, y } = data(8);
    const { loss, terms } = m.loss({ x, y });
    const [lossV, rec, kl, elbo, klWeight] = [loss, terms.reconstruction, terms.kl, terms.elbo, terms.klWeight].map((t) => t.dataSync()[0]);
    tf.dispose([loss, ...Object.values(terms)]);
    // Independent KL: 0.5 * sum(mu^2 + exp(logVar) - 1 - logVar), averaged over the batch, in plain JS.
    const [mu, logVar] = tf.tidy(() => {
      const q = m.encode(x, y) as unknown as { loc: tf.Tensor; logVar: tf.Tensor };
      return [q.loc.dataSync(), q.logVar.dataSync()];
    }) as unknown as [Float32Array, Float32Array];
    let klRef = 0;
    for (let i = 0; i < mu.length; i++) klRef += 0.5 * (mu[i] ** 2 + Math.exp(logVar[i]) - 1 - logVar[i]);
    klRef /= 8;
    expect(Math.abs(kl - klRef)).toBeLessThan(1e-4 * Math.max(1, klRef));
    expect(klWeight).toBe(2.5);
    expect(Math.abs(elbo + rec + kl)).toBeLessThan(1e-3);
    expect(Math.abs(lossV - (rec + 2.5 * kl))).toBeLessThan(1e-3);
    // Bernoulli reconstruction of 784 pixels near p = 0.5 at init: about 784 * ln 2 nats.
    expect(rec).toBeGreaterThan(300);
    expect(rec).toBeLessThan(800);
    // A context klWeight overrides the configured one.
    const o = m.loss({ x, y }, { klWeight: 0 });
    expect(o.terms.klWeight.dataSync()[0]).toBe(0);
    tf.dispose([o.loss, ...Object.values(o.terms)]);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('loss goes down on a slice of real MNIST (condition from batch.condition or batch.y), with no leak per step', () => {
    const m = createCvae({ ...small, hiddenDims: [64] });
    const { x, y } = data(64);
    const rows = tf.oneHot(y, 10);
    const opt = tf.train.adam(3e-3);
    const lossNow = () => tf.tidy(() => m.loss({ x, condition: rows }, { klWeight: 1 }).loss.dataSync()[0]);
    // Fix the noise so the comparison measures the parameters, not the draw.
    const state = m.rng.getState();
    const first = lossNow();
    let afterFirst = 0;
    for (let i = 0; i < 40; i++) {
      tf.dispose(opt.minimize(() => m.loss({ x, y }).loss, true, m.parameters()) ?? undefined);
      // Adam creates its slot variables (and step counters) on the first step only; after that a step leaks nothing.
      if (i === 0) afterFirst = tf.memory().numTensors;
      else expect(tf.memory().numTensors).toBe(afterFirst);
    }
    m.rng.setState(state);
    const last = lossNow();
    expect(last).toBeLessThan(first - 100);
    opt.dispose();
    tf.dispose([x, y, rows]);
    m.dispose();
  });
});

describe('reproducibility and checkpoints', () => {
  it('same seed, same numbers; another seed, other numbers', () => {
    const run = (seed: number) => {
      const m = createCvae({ ...small, seed });
      const { x, y } = data(4);
      const out = tf.tidy(() => [m.loss({ x, y }).loss.dataSync()[0], ...m.sample(2, [3, 4]).dataSync().slice(0, 50)]);
      tf.dispose([x, y]);
      m.dispose();
      return out;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)[0]).not.toBe(run(8)[0]);
  });

  it('save/load: variables copied by name into a fresh model give identical outputs', () => {
    const a = createCvae({ ...small, conditionEmbedding: 6, seed: 1 });
    const b = createCvae({ ...small, conditionEmbedding: 6, seed: 99 });
    const names = [...a.namedVariables().keys()];
    expect(names).toEqual([...b.namedVariables().keys()]);
    expect(names.slice(0, 2)).toEqual(['encoder.body.0.kernel', 'encoder.body.0.bias']);
    expect(names).toContain('embedding.kernel');
    // Class embeddings are lookup tables: no bias.
    expect(names).not.toContain('embedding.bias');
    const { x, y } = data(5);
    const ra = values(a.reconstruct(x, y));
    expect(maxAbsDiff(ra, values(b.reconstruct(x, y)))).toBeGreaterThan(1e-3);
    const saved = new Map([...a.namedVariables()].map(([k, v]) => [k, v.arraySync()]));
    for (const [k, v] of b.namedVariables()) tf.tidy(() => v.assign(tf.tensor(saved.get(k) as number[], v.shape)));
    b.rng.setState(a.rng.getState());
    expect(maxAbsDiff(ra, values(b.reconstruct(x, y)))).toBe(0);
    expect(maxAbsDiff(values(a.sample(3, 2)), values(b.sample(3, 2)))).toBe(0);
    tf.dispose([x, y]);
    a.dispose();
    b.dispose();
  });
});
