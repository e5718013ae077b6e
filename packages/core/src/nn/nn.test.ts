import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Rng } from '../rng';
import { checkGradient } from '../testing/gradcheck';
import { Activation, activate, BatchNorm, Conv2d, ConvTranspose2d, Dense, Flatten, ResidualBlock, Sequential, SpectralNorm } from './index';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

/** A variable that owns its initial value (tf.variable(t) leaves t allocated). */
function variableOf(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** Smooth scalar objective of a layer's output with fixed random weights (so every output matters). */
function objective(apply: () => tf.Tensor, seed = 1): () => tf.Scalar {
  return () =>
    tf.tidy(() => {
      const y = apply();
      const w = tf.randomNormal(y.shape, 0, 1, 'float32', seed);
      return tf.sum(tf.mul(tf.tanh(y), w)) as tf.Scalar;
    });
}

describe('finite-difference gradients', () => {
  it('Dense (kernel, bias, input)', () => {
    const d = new Dense(5, 3, new Rng(1), { activation: 'tanh' });
    const x = variableOf(tf.randomNormal([4, 5], 0, 1, 'float32', 2));
    const f = objective(() => d.apply(x));
    for (const v of [d.kernel, d.bias!, x]) expect(checkGradient(f, v).maxRelativeError).toBeLessThan(2e-2);
    x.dispose();
    d.dispose();
  });

  it('Conv2d, stride 2, same and explicit padding', () => {
    for (const padding of ['same', 1] as const) {
      const c = new Conv2d(2, 3, new Rng(3), { stride: 2, padding });
      const x = variableOf(tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 4));
      const f = objective(() => c.apply(x));
      for (const v of [c.kernel, c.bias!, x]) expect(checkGradient(f, v).maxRelativeError).toBeLessThan(2e-2);
      x.dispose();
      c.dispose();
    }
  });

  it('ConvTranspose2d with a fixed odd output size (4 -> 7) has correct gradients and checks its input', () => {
    const c = new ConvTranspose2d(2, 3, new Rng(7), { stride: 2, outputSize: [7, 7] });
    const x = variableOf(tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 8));
    const shape = tf.tidy(() => c.apply(x).shape);
    expect(shape).toEqual([2, 7, 7, 3]);
    const f = objective(() => c.apply(x));
    for (const v of [c.kernel, x]) expect(checkGradient(f, v).maxRelativeError).toBeLessThan(2e-2);
    expect(() => tf.tidy(() => c.apply(tf.zeros([1, 5, 5, 2])))).toThrow(/needs input 4x4, got 5x5/);
    x.dispose();
    c.dispose();
  });

  it('ConvTranspose2d doubles the size and has correct gradients', () => {
    const c = new ConvTranspose2d(3, 2, new Rng(5), { stride: 2 });
    const x = variableOf(tf.randomNormal([2, 3, 3, 3], 0, 1, 'float32', 6));
    const shape = tf.tidy(() => c.apply(x).shape);
    expect(shape).toEqual([2, 6, 6, 2]);
    const f = objective(() => c.apply(x));
    for (const v of [c.kernel, c.bias!, x]) expect(checkGradient(f, v).maxRelativeError).toBeLessThan(2e-2);
    x.dispose();
    c.dispose();
  });

  it('BatchNorm in training mode differentiates through the batch statistics', () => {
    const bn = new BatchNorm(3);
    const x = variableOf(tf.randomNormal([5, 3], 1, 2, 'float32', 7));
    const f = objective(() => bn.apply(x), 8);
    for (const v of [bn.gamma, bn.beta, x]) expect(checkGradient(f, v).maxRelativeError).toBeLessThan(3e-2);
    // Normalised output of the batch has ~zero mean and unit variance per channel.
    tf.tidy(() => {
      const { mean, variance } = tf.moments(bn.apply(x), 0);
      for (const m of mean.dataSync()) expect(Math.abs(m)).toBeLessThan(1e-5);
      for (const v of variance.dataSync()) expect(Math.abs(v - 1)).toBeLessThan(1e-3);
    });
    x.dispose();
    bn.dispose();
  });

  it('leakyRelu: value and gradient equal tfjs own leakyRelu, alpha at 0 and NaN kept', () => {
    const x = variableOf(tf.tensor1d([-2, -0.5, 0, 0.5, 3, Number.NaN]));
    for (const alpha of [0.2, 0.01]) {
      tf.tidy(() => {
        const dy = tf.tensor1d([1, 2, 3, 4, 5, 6]);
        const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(activate(v, 'leakyRelu', alpha), dy)))(x).arraySync() as number[];
        const theirs = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, alpha), dy)))(x).arraySync() as number[];
        // Slope alpha at x <= 0 and 1 above, times dy; tfjs maps NaN inputs to alpha * dy, this gradient keeps NaN.
        expect(ours.slice(0, 5)).toEqual(theirs.slice(0, 5));
        [alpha, alpha, alpha, 1, 1].forEach((slope, i) => expect(ours[i]).toBeCloseTo(slope * (i + 1), 6));
        expect(ours[5]).toBeNaN();
        expect(activate(x, 'leakyRelu', alpha).arraySync()).toEqual(tf.leakyRelu(x, alpha).arraySync());
      });
    }
    const w = variableOf(tf.randomNormal([4, 5], 0, 1, 'float32', 12));
    const f = objective(() => activate(w, 'leakyRelu', 0.2));
    expect(checkGradient(f, w).maxRelativeError).toBeLessThan(2e-2);
    w.dispose();
    x.dispose();
  });

  it('relu: value and gradient equal tfjs own relu (zero at x = 0, NaN kept), with no Cast in the gradient', async () => {
    const x = variableOf(tf.tensor1d([-2, -0.5, 0, 0.5, 3, Number.NaN, -1]));
    const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, Number.NaN]);
    const ours = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(activate(v, 'relu'), dy)))(x).arraySync() as number[]);
    const theirs = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x).arraySync() as number[]);
    expect(ours.slice(0, 5)).toEqual([0, 0, 0, 4, 5]);
    expect(ours.slice(0, 5)).toEqual(theirs.slice(0, 5));
    // NaN input, and a NaN dy where x <= 0 (tfjs's NaN * 0), stay NaN.
    expect(ours[5]).toBeNaN();
    expect(ours[6]).toBeNaN();
    expect(theirs[6]).toBeNaN();
    tf.tidy(() => {
      expect(activate(x, 'relu').arraySync()).toEqual(tf.relu(x).arraySync());
    });
    const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(activate(v, 'relu')))(x));
    expect(info.kernels.map((k) => k.name)).not.toContain('Cast');
    tf.dispose(info.result as tf.Tensor);
    const w = variableOf(tf.randomNormal([4, 5], 0, 1, 'float32', 13));
    const f = objective(() => activate(w, 'relu'));
    expect(checkGradient(f, w).maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([w, x, dy]);
  });

  it('SpectralNorm-wrapped Dense', () => {
    const sn = new SpectralNorm(new Dense(4, 3, new Rng(9), { activation: 'tanh' }), new Rng(10));
    sn.eval(); // fixed u, so the objective is a deterministic function of the kernel
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 11);
    const f = objective(() => sn.apply(x));
    expect(checkGradient(f, sn.layer.kernel).maxRelativeError).toBeLessThan(3e-2);
    x.dispose();
    sn.dispose();
  });
});

describe('SpectralNorm', () => {
  it('normalised weights have largest singular value ~1 (Dense, Conv2d, ConvTranspose2d)', () => {
    const layers = [
      new Dense(20, 12, new Rng(1)),
      new Dense(7, 1, new Rng(5)), // a single output (a discriminator head): u has one element
      new Conv2d(3, 8, new Rng(2)),
      new ConvTranspose2d(4, 6, new Rng(3)),
    ];
    for (const layer of layers) {
      const sn = new SpectralNorm(layer, new Rng(4), { powerIterations: 1 });
      for (let i = 0; i < 60; i++) tf.dispose(sn.normalizedKernel());
      // Largest singular value of the normalised matrix by many power iterations in plain JS.
      const w = tf.tidy(() => sn.weightMatrix(tf.tidy(() => sn.normalizedKernel())));
      const [rows, cols] = w.shape;
      const a = w.arraySync();
      w.dispose();
      let v = new Array(cols).fill(1);
      let sigma = 0;
      for (let it = 0; it < 500; it++) {
        const u = a.map((r) => r.reduce((s, x, j) => s + x * v[j], 0));
        const nv = new Array(cols).fill(0);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) nv[j] += a[i][j] * u[i];
        const n = Math.hypot(...nv);
        v = nv.map((x) => x / n);
        sigma = Math.hypot(...a.map((r) => r.reduce((s, x, j) => s + x * v[j], 0)));
      }
      expect(Math.abs(sigma - 1)).toBeLessThan(1e-2);
      sn.dispose();
    }
  });
});

describe('Module', () => {
  it('has stable dotted names, buffers, modes and idempotent dispose', () => {
    const rng = new Rng(1);
    const net = new Sequential([new Conv2d(1, 4, rng, { stride: 2 }), new BatchNorm(4), new Activation('relu'), new Flatten(), new Dense(4 * 4 * 4, 2, rng)]);
    expect([...net.namedParameters().keys()]).toEqual(['0.kernel', '0.bias', '1.gamma', '1.beta', '4.kernel', '4.bias']);
    expect([...net.namedBuffers().keys()]).toEqual(['1.runningMean', '1.runningVar']);
    expect(net.numParameters()).toBe(9 * 4 + 4 + 4 + 4 + 64 * 2 + 2);
    net.eval();
    expect((net.layers[1] as BatchNorm).training).toBe(false);
    tf.tidy(() => {
      expect(net.apply(tf.zeros([2, 8, 8, 1])).shape).toEqual([2, 2]);
    });
    net.dispose();
    net.dispose();
    expect(net.parameters().every((v) => v.isDisposed)).toBe(true);
  });

  it('same seed gives identical weights, another seed different ones', () => {
    const [a, b, c] = [5, 5, 6].map((seed) => new Dense(3, 2, new Rng(seed)));
    expect(Array.from(a.kernel.dataSync())).toEqual(Array.from(b.kernel.dataSync()));
    expect(Array.from(a.kernel.dataSync())).not.toEqual(Array.from(c.kernel.dataSync()));
    [a, b, c].forEach((d) => d.dispose());
  });

  it('BatchNorm updates running stats in training only; eval uses them', () => {
    const bn = new BatchNorm(2, { momentum: 0.5 });
    const x = tf.tensor2d([[1, 10], [3, 20]]);
    tf.dispose(bn.apply(x));
    expect(Array.from(bn.runningMean.dataSync())).toEqual([1, 7.5]); // 0.5*0 + 0.5*[2, 15]
    bn.eval();
    tf.dispose(bn.apply(x));
    expect(Array.from(bn.runningMean.dataSync())).toEqual([1, 7.5]);
    x.dispose();
    bn.dispose();
  });

  it('ResidualBlock keeps or projects the shape; bad inputs get clear errors', () => {
    const rng = new Rng(2);
    const same = new ResidualBlock(4, rng);
    const down = new ResidualBlock(4, rng, { outChannels: 8, stride: 2 });
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 1);
      expect(same.apply(x).shape).toEqual([2, 8, 8, 4]);
      expect(down.apply(x).shape).toEqual([2, 4, 4, 8]);
    });
    expect(() => tf.tidy(() => same.apply(tf.zeros([1, 4, 4, 3])))).toThrow(/expected input \[batch, h, w, 4\]/);
    expect(() => new Dense(0, 3, rng)).toThrow(/inFeatures must be a positive integer/);
    expect(() => new Activation('nope' as never)).toThrow(/allowed: linear, relu/);
    same.dispose();
    down.dispose();
  });

  it('a gradient step leaks no tensors', () => {
    const rng = new Rng(3);
    const net = new Sequential([new Dense(6, 8, rng, { activation: 'relu' }), new BatchNorm(8), new SpectralNorm(new Dense(8, 2, rng), rng)]);
    const opt = tf.train.adam(1e-2);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 1);
    const step = () => tf.dispose(opt.minimize(() => tf.tidy(() => tf.mean(tf.square(net.apply(x))) as tf.Scalar), true, net.parameters()) ?? undefined);
    step(); // creates the optimizer's slots
    const n = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(n);
    opt.dispose();
    x.dispose();
    net.dispose();
  });
});
