import * as tf from '@tensorflow/tfjs-core';
import { Activation, Dense, Rng, Sequential } from '@elbo/core';
import { checkGradient } from '@elbo/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { featureMaps, perceptualLoss } from './index';
import { close, expectNoLeaks, value, values } from './test-helpers';

expectNoLeaks(beforeEach, afterEach);

const P = [
  [0.5, -1, 2],
  [0, 1, 1],
];
const T = [
  [1, -1, 0],
  [0.5, 0, 1],
];

describe('perceptualLoss', () => {
  it('with a function extractor is the weighted sum of per-map squared (or absolute) differences', () => {
    const phi = (x: tf.Tensor) => [x, tf.square(x)];
    let d1 = 0;
    let d2 = 0;
    let a1 = 0;
    P.forEach((row, b) =>
      row.forEach((p, j) => {
        d1 += (p - T[b][j]) ** 2;
        d2 += (p * p - T[b][j] ** 2) ** 2;
        a1 += Math.abs(p - T[b][j]) + Math.abs(p * p - T[b][j] ** 2);
      }),
    );
    close(value(() => perceptualLoss(phi, tf.tensor2d(P), tf.tensor2d(T))), (d1 + d2) / 2, 1e-5);
    close(value(() => perceptualLoss(phi, tf.tensor2d(P), tf.tensor2d(T), { weights: [1, 0.25] })), (d1 + 0.25 * d2) / 2, 1e-5);
    close(value(() => perceptualLoss(phi, tf.tensor2d(P), tf.tensor2d(T), { reduction: 'mean' })), d1 / 6 + d2 / 6, 1e-5);
    close(value(() => perceptualLoss(phi, tf.tensor2d(P), tf.tensor2d(T), { distance: 'l1' })), a1 / 2, 1e-5);
  });

  it('taps a Sequential after the chosen layers and frees the untapped intermediates', () => {
    const rng = new Rng(3);
    const net = new Sequential([new Dense(3, 4, rng), new Activation('tanh'), new Dense(4, 2, rng)]);
    const x = tf.tensor2d(P);
    const before = tf.memory().numTensors;
    const maps = featureMaps(net, x, [1, 2]);
    expect(tf.memory().numTensors - before).toBe(2);
    const h = tf.tidy(() => tf.tanh(net.layers[0].apply(x)));
    expect(Array.from(maps[0].dataSync())).toEqual(Array.from(h.dataSync()));
    const out = net.apply(x);
    values(() => tf.sub(maps[1], out)).forEach((v) => close(v, 0, 1e-6));
    tf.dispose([...maps, h, out, x]);
    net.dispose();
  });

  it('has finite-difference gradients in the extractor weights; by default only the prediction gets a gradient', () => {
    const rng = new Rng(4);
    const net = new Sequential([new Dense(3, 4, rng, { activation: 'tanh' }), new Dense(4, 2, rng)]);
    const p = tf.tensor2d(P);
    const t = tf.tensor2d(T);
    const kernel = (net.layers[0] as Dense).kernel;
    // Finite differences move the target's features too, so compare with the undetached loss.
    expect(checkGradient(() => perceptualLoss(net, p, t, { layers: [0, 1], detachTarget: false }), kernel).maxRelativeError).toBeLessThan(1e-2);
    const grads = (detachTarget: boolean) =>
      tf.tidy(() => {
        const [gp, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => perceptualLoss(net, a, b, { detachTarget }))([p, t]);
        return [tf.sum(tf.abs(gp)).dataSync()[0], tf.sum(tf.abs(gt)).dataSync()[0]];
      });
    const [gpDetached, gtDetached] = grads(true);
    const [, gtAttached] = grads(false);
    expect(gpDetached).toBeGreaterThan(0);
    expect(gtDetached).toBe(0);
    expect(gtAttached).toBeGreaterThan(0);
    tf.dispose([p, t]);
    net.dispose();
  });

  it('rejects bad options with a clear error', () => {
    const rng = new Rng(5);
    const dense = new Dense(3, 2, rng);
    tf.tidy(() => {
      const p = tf.tensor2d(P);
      expect(() => perceptualLoss(dense, p, p, { layers: [0] })).toThrow(/layers needs a Sequential/);
      expect(() => perceptualLoss(new Sequential([dense]), p, p, { layers: [3] })).toThrow(/integers in \[0, 0\]/);
      expect(() => perceptualLoss((x) => [x], p, p, { weights: [1, 2] })).toThrow(/weights has 2 entries for 1 feature maps/);
      expect(() => perceptualLoss((x) => [x], p, p, { distance: 'cosine' as never })).toThrow(/distance must be 'l2' or 'l1'/);
      expect(() => perceptualLoss((x) => [x], p, tf.zeros([3, 3]))).toThrow(/same batch size/);
    });
    dense.dispose();
  });
});
