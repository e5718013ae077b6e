import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import './tfjs-setup';
import { oneHotFloat, stopGradient } from './ops';

describe('ops', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  // wasm 4.22's OneHot with dtype float32 returns the int bit pattern; oneHotFloat must not.
  it.each(['cpu', 'wasm'])('oneHotFloat gives exact 0/1 float rows on %s', async (backend) => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const rows = tf.tidy(() => oneHotFloat(tf.tensor2d([[2, 0]], undefined, 'int32'), 3).arraySync());
    expect(rows).toEqual([[[0, 0, 1], [1, 0, 0]]]);
    expect(tf.tidy(() => oneHotFloat([1], 2).dataSync()[1])).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stopGradient passes values and blocks gradients', async () => {
    await tf.setBackend('cpu');
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.add(tf.mul(x, 2), stopGradient(tf.mul(x, 5)))))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([2, 2]);
    expect(tf.tidy(() => stopGradient(tf.tensor1d([3])).dataSync()[0])).toBe(3);
    g.dispose();
  });
});
