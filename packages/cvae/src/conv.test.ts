import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCvae } from './index';
import { mnistSlice } from './test-support/mnist-slice';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('conv cvae', () => {
  it.each([
    ['conv', 0],
    ['resnet', 3],
  ] as const)('%s with conditionEmbedding %i: condition broadcast as channels; shapes, loss goes down, no leak per step', (architecture, conditionEmbedding) => {
    const m = createCvae({ architecture, inputShape: [28, 28, 1], numClasses: 10, latentDim: 3, convChannels: [4, 8], conditionEmbedding, seed: 2 });
    const fed = conditionEmbedding || 10;
    // First encoder conv sees 1 image channel + the broadcast condition channels.
    expect(m.namedVariables().get('encoder.body.0.kernel')?.shape).toEqual([3, 3, 1 + fed, 4]);
    expect(m.namedVariables().get('decoder.fc.kernel')?.shape[0]).toBe(3 + fed);
    const { images, labels } = mnistSlice(8);
    const x = tf.tensor4d(images, [8, 28, 28, 1]);
    const y = tf.tensor1d(labels, 'int32');
    tf.tidy(() => {
      expect(m.reconstruct(x, y).shape).toEqual([8, 28, 28, 1]);
      expect(m.sample(3, 5).shape).toEqual([3, 28, 28, 1]);
      expect(m.swapCondition(x, y, 1).shape).toEqual([8, 28, 28, 1]);
      expect(() => m.encode(x, tf.zeros([8, 4]))).toThrow(/got width 4, expected 10/);
    });
    const opt = tf.train.adam(1e-2);
    const state = m.rng.getState();
    const lossNow = () => tf.tidy(() => m.loss({ x, y }).loss.dataSync()[0]);
    const first = lossNow();
    let afterFirst = 0;
    for (let i = 0; i < 4; i++) {
      tf.dispose(opt.minimize(() => m.loss({ x, y }).loss, true, m.parameters()) ?? undefined);
      if (i === 0) afterFirst = tf.memory().numTensors;
      else expect(tf.memory().numTensors).toBe(afterFirst);
    }
    m.rng.setState(state);
    expect(lossNow()).toBeLessThan(first);
    opt.dispose();
    tf.dispose([x, y]);
    m.dispose();
  });
});
