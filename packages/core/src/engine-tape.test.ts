import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import './tfjs-setup';
import { shareSavedTensors } from './engine-tape';

const close = (a: tf.Tensor, b: number[], tol = 1e-5) => {
  const got = Array.from(a.dataSync());
  expect(got.length).toBe(b.length);
  got.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(tol * Math.max(1, Math.abs(b[i]))));
};

describe('saved tensors share their data', () => {
  const xs = [-1.5, -0.2, 0.3, 1.1];

  it('is installed by the setup module, once', () => {
    expect((tf.engine() as unknown as Record<symbol, unknown>)[Symbol.for('elbo.sharedSavedTensors')]).toBe(true);
    const patched = (tf.engine() as unknown as { clone: unknown }).clone;
    expect(shareSavedTensors()).toBe(true);
    expect((tf.engine() as unknown as { clone: unknown }).clone).toBe(patched);
    expect(shareSavedTensors()).toBe(true);
  });

  it('gives closed-form first-order gradients with no Identity kernel calls', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor1d(xs);
    // d/dx sum(exp(x) * x^2) = exp(x) * (x^2 + 2x)
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.exp(t), tf.square(t)));
    let g: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      g = tf.grad(f)(x);
      return g;
    });
    close(g!, xs.map((v) => Math.exp(v) * (v * v + 2 * v)));
    expect(profile.kernels.map((k) => k.name)).not.toContain('Identity');
    tf.dispose([x, g!]);
  });

  it('keeps a saved tensor alive when the code that made it disposes it before the backward pass', () => {
    const x = tf.tensor1d(xs);
    // d/dx sum(exp(x)^2) = 2 exp(2x); Mul saves y, which f disposes.
    const g = tf.grad((t: tf.Tensor) => {
      const y = tf.exp(t);
      const z = tf.mul(y, y);
      y.dispose();
      return tf.sum(z);
    })(x);
    close(g, xs.map((v) => 2 * Math.exp(2 * v)));
    tf.dispose([x, g]);
  });

  it('leaves second-order gradients to tfjs clone (d2/dx2 x^3 = 6x)', () => {
    const x = tf.tensor1d(xs);
    const g2 = tf.grad(tf.grad((t: tf.Tensor) => tf.pow(t, 3)))(x);
    close(g2, xs.map((v) => 6 * v));
    tf.dispose([x, g2]);
  });

  it('holds no tensors or buffers after training steps', () => {
    const w = tf.variable(tf.tensor2d([[0.5, -0.3], [0.2, 0.8]]));
    const x = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.5]]);
    const opt = tf.train.adam(0.01);
    const step = () => opt.minimize(() => tf.mean(tf.square(tf.relu(tf.matMul(x, w)))), false, [w]);
    step();
    const before = tf.memory();
    for (let i = 0; i < 5; i++) step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect((after as { numDataBuffers: number }).numDataBuffers).toBe((before as { numDataBuffers: number }).numDataBuffers);
    tf.dispose([w, x]);
    opt.dispose();
  });
});
