import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeBackendName, Adam, Conv2d, ConvTranspose2d, createModel, Dense, fit, Rng, setPrefersPortableConvGrad, usePortableConvGrad, useBackend } from '@elbo/core';
import { arrayBatchSource, registerTinyVae, syntheticData } from './tiny-model';

/**
 * The backend conformance suite: forward passes, gradients, one Adam step
 * and leak checks of core's layers on `backendName`, each compared with the
 * tfjs cpu backend. Run it in a vitest file of any backend package:
 *
 * @example
 * import { describeBackendConformance } from '@elbo/core/testing';
 * describeBackendConformance('native');
 */
export function describeBackendConformance(backendName: string, options: { tolerance?: number } = {}): void {
  const tol = options.tolerance ?? 2e-4;

  /** A small conv net touching Dense, Conv2d (stride 1 and 2, 'same' and 'valid') and ConvTranspose2d. */
  function makeNet(seed: number) {
    const rng = new Rng(seed);
    const c1 = new Conv2d(2, 4, rng, { kernelSize: 3, stride: 2, padding: 'same', activation: 'relu' });
    const c2 = new Conv2d(4, 3, rng, { kernelSize: 3, stride: 1, padding: 'valid' });
    const up = new ConvTranspose2d(3, 2, rng, { kernelSize: 3, stride: 2, padding: 'same' });
    const d1 = new Dense(2 * 6 * 6, 5, rng, { activation: 'tanh' });
    const d2 = new Dense(5, 3, rng);
    const params = [c1, c2, up, d1, d2].flatMap((l) => l.parameters());
    const forward = (x: tf.Tensor) =>
      tf.tidy(() => {
        const h = up.apply(c2.apply(c1.apply(x))); // [b, 5, 5, 3] -> ... -> [b, 6, 6, 2]
        return d2.apply(d1.apply(tf.reshape(h, [x.shape[0], -1])));
      });
    const dispose = () => [c1, c2, up, d1, d2].forEach((l) => l.dispose());
    return { params, forward, dispose };
  }

  const input = () => tf.randomNormal([3, 10, 10, 2], 0, 1, 'float32', 7);
  const lossOf = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.reshape(tf.linspace(0.5, 1.5, y.size), y.shape))) as tf.Scalar;

  /** Forward output, loss gradients and the params after one Adam step, as plain arrays. */
  function run(): { y: Float32Array; grads: Float32Array[]; stepped: Float32Array[] } {
    const net = makeNet(3);
    const x = input();
    try {
      const y = tf.tidy(() => net.forward(x).dataSync() as Float32Array);
      const { grads, value } = tf.variableGrads(() => lossOf(net.forward(x)), net.params);
      const g = net.params.map((p) => grads[p.name].dataSync().slice() as Float32Array);
      const opt = new Adam(0.01);
      opt.apply(net.params, net.params.map((p) => grads[p.name]));
      tf.dispose([value, ...Object.values(grads)]);
      const stepped = net.params.map((p) => p.dataSync().slice() as Float32Array);
      opt.dispose();
      return { y: y.slice(), grads: g, stepped };
    } finally {
      x.dispose();
      net.dispose();
    }
  }

  function maxRelDiff(a: Float32Array, b: Float32Array): number {
    let m = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-3, scale));
    return m;
  }

  describe(`backend conformance: ${backendName}`, () => {
    let previous = 'cpu';
    let reference: ReturnType<typeof run>;
    let actual: ReturnType<typeof run>;

    beforeAll(async () => {
      previous = activeBackendName();
      await useBackend('cpu');
      // The reference uses tfjs's own cpu kernels (Conv2DBackpropFilter included), not core's portable gradients.
      const portable = usePortableConvGrad();
      setPrefersPortableConvGrad('cpu', false);
      try {
        reference = run();
      } finally {
        setPrefersPortableConvGrad('cpu', portable);
      }
      await useBackend(backendName);
      actual = run();
    });

    afterAll(async () => {
      await tf.setBackend(previous);
    });

    it('is the active backend', () => {
      expect(tf.getBackend()).toBe(backendName);
    });

    it('forward pass matches the cpu backend', () => {
      expect(actual.y.length).toBe(reference.y.length);
      expect(maxRelDiff(actual.y, reference.y)).toBeLessThan(tol);
    });

    it('gradients of every parameter match the cpu backend', () => {
      expect(actual.grads.length).toBe(reference.grads.length);
      reference.grads.forEach((g, i) => {
        // A zero gradient everywhere would hide a broken backward pass.
        expect(g.some((v) => v !== 0)).toBe(true);
        expect(maxRelDiff(actual.grads[i], g)).toBeLessThan(tol);
      });
    });

    it('one Adam step gives the same parameters as on cpu', () => {
      reference.stepped.forEach((p, i) => expect(maxRelDiff(actual.stepped[i], p)).toBeLessThan(tol));
    });

    it('fit trains a tiny VAE with finite losses and leaks nothing', async () => {
      const variant = registerTinyVae('tiny-conformance');
      const model = createModel({ variant, inputDim: 6, hiddenDim: 8, latentDim: 2, seed: 1 });
      const before = tf.memory().numTensors;
      const r = await fit(model, arrayBatchSource(syntheticData(32, 6, 1), 6, 8), { epochs: 2, learningRate: 1e-2, progress: false });
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      expect(r.steps).toBe(8);
      expect(r.nonFinite).toEqual([]);
      expect(r.history.every((h) => Number.isFinite(h.train.loss))).toBe(true);
    });

    it('a forward, backward and optimizer step leak no tensors', () => {
      const net = makeNet(5);
      const x = input();
      const opt = new Adam(0.01);
      opt.init(net.params);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        tf.tidy(() => {
          const { grads, value } = tf.variableGrads(() => lossOf(net.forward(x)), net.params);
          opt.apply(net.params, net.params.map((p) => grads[p.name]));
          tf.dispose([value, ...Object.values(grads)]);
        });
      }
      const after = tf.memory().numTensors;
      opt.dispose();
      x.dispose();
      net.dispose();
      expect(after).toBe(before);
    });
  });
}
