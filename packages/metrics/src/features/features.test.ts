import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { describe, expect, it } from 'vitest';
import { fid, inceptionScore } from '../generation/fid';
import { modelSamples } from '../generation/sources';
import { mnistTestSlice, parkMiller } from '../test-helpers';
import type { GenerativeModel } from '@elbo/core';
import { decodeMnistClassifier, encodeMnistClassifier } from './classifier-io';
import type { FeatureExtractor } from './feature-extractor';
import { Im2colConv2d } from './im2col-conv2d';
import { mnistClassifier } from './load-mnist-classifier';
import { MnistClassifier } from './mnist-classifier';
import { im2col, maxPool2x2 } from './patch-ops';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = d.dataSync()[0];
  d.dispose();
  return v;
}

describe('im2col convolution and 2x2 max pooling', () => {
  it('equal tf.conv2d / tf.maxPool forward and their gradients (the reference kernels)', () => {
    const before = tf.memory().numTensors;
    const conv = new Im2colConv2d(3, 4, 3, new Rng(1), 'linear');
    const x = tf.tensor4d(Array.from(parkMiller(12, 2 * 6 * 8 * 3), (v) => v - 0.5), [2, 6, 8, 3]);
    const filter = tf.reshape(conv.kernel, [3, 3, 3, 4]) as tf.Tensor4D;
    const ref = (t: tf.Tensor4D, f: tf.Tensor4D) => tf.tidy(() => tf.add(tf.conv2d(t, f, 1, 'same'), conv.bias));
    const y = conv.apply(x);
    const yRef = ref(x, filter);
    expect(maxAbsDiff(y, yRef)).toBeLessThan(1e-5);
    // Gradients of a pooled, weighted sum w.r.t. the input and the kernel.
    const w = tf.tensor4d(Array.from(parkMiller(13, 2 * 3 * 4 * 4)), [2, 3, 4, 4]);
    const [gx, gk] = tf.grads((t: tf.Tensor, k: tf.Tensor) => {
      const k2 = tf.reshape(k, [27, 4]);
      return tf.sum(tf.mul(maxPool2x2(tf.add(tf.reshape(tf.matMul(im2colOf(t as tf.Tensor4D), k2), [2, 6, 8, 4]), conv.bias) as tf.Tensor4D), w));
    })([x, conv.kernel]);
    const [gxRef, gkRef] = tf.grads((t: tf.Tensor, k: tf.Tensor) =>
      tf.sum(tf.mul(tf.maxPool(ref(t as tf.Tensor4D, tf.reshape(k, [3, 3, 3, 4]) as tf.Tensor4D) as tf.Tensor4D, 2, 2, 'valid'), w)),
    )([x, conv.kernel]);
    expect(maxAbsDiff(gx, gxRef)).toBeLessThan(1e-5);
    expect(maxAbsDiff(gk, gkRef)).toBeLessThan(1e-4);
    tf.dispose([x, filter, y, yRef, w, gx, gk, gxRef, gkRef]);
    conv.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

function im2colOf(t: tf.Tensor4D): tf.Tensor2D {
  return im2col(t, 3);
}

describe('MnistClassifier', () => {
  it('round-trips through the weights-manifest format to identical outputs and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const a = new MnistClassifier(undefined, new Rng(5)).eval();
    const { modelJson, weightData } = await encodeMnistClassifier(a, { note: 'test' });
    const b = decodeMnistClassifier(JSON.parse(JSON.stringify(modelJson)), weightData);
    const x = tf.tensor2d(Array.from(parkMiller(14, 3 * 784)), [3, 784]);
    const la = a.logits(x);
    const lb = b.logits(x);
    expect(maxAbsDiff(la, lb)).toBe(0);
    tf.dispose([x, la, lb]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => decodeMnistClassifier({ ...modelJson, format: 'x' } as never, new ArrayBuffer(0))).toThrow(/format/);
  });

});
