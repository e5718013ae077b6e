import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { checkGradient } from '../testing/gradcheck';
import { conv2dFilterGrad, portableConv2d, portableConv2dTranspose, portableMatMul } from './portable-grads';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

// Truth: tfjs's own gradients on the cpu backend (Conv2DBackpropFilter, transposed matMul).
describe('portable gradients match tfjs on cpu', () => {
  const convCases: [string, number, number, number, 'same' | 'valid' | number][] = [
    // name, size, kernel, stride, padding
    ['3x3 stride 1 same', 6, 3, 1, 'same'],
    ['3x3 stride 2 same, even size', 8, 3, 2, 'same'],
    ['3x3 stride 2 same, odd size', 7, 3, 2, 'same'],
    ['4x4 stride 2 same (asymmetric pad)', 9, 4, 2, 'same'],
    ['3x3 stride 2 valid, unread border', 8, 3, 2, 'valid'],
    ['5x5 stride 3 valid', 11, 5, 3, 'valid'],
    ['3x3 stride 2 explicit pad 1', 8, 3, 2, 1],
  ];
  it.each(convCases)('conv2d filter and input gradient: %s', (_, size, k, s, pad) => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const f = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const tfPad = typeof pad === 'number' ? ([[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[0, 0], [number, number], [number, number], [0, 0]]) : pad;
      const yRef = tf.conv2d(x, f, s, tfPad);
      const w = tf.randomNormal(yRef.shape, 0, 1, 'float32', 3);
      const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, tfPad), w)))([x, f]);
      const got = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(portableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), w)))([x, f]);
      expect(maxAbsDiff(portableConv2d(x, f, s, pad), yRef)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got[0], ref[0])).toBeLessThan(1e-4);
      expect(maxAbsDiff(got[1], ref[1])).toBeLessThan(1e-4);
      // Direct use of the filter gradient, against tfjs's Conv2DBackpropFilter kernel.
      expect(maxAbsDiff(conv2dFilterGrad(x, w as tf.Tensor4D, k, s, pad), ref[1])).toBeLessThan(1e-4);
    });
  });

  it.each([
    ['3x3 stride 2 same', 4, 3, 2, 'same'],
    ['4x4 stride 2 same', 5, 4, 2, 'same'],
    ['3x3 stride 2 valid', 4, 3, 2, 'valid'],
    ['3x3 stride 1 same', 5, 3, 1, 'same'],
  ] as [string, number, number, number, 'same' | 'valid'][])('conv2dTranspose gradients: %s', (_, size, k, s, pad) => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const f = tf.randomNormal([k, k, 2, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const outSize = pad === 'same' ? size * s : (size - 1) * s + k;
      const outShape: [number, number, number, number] = [2, outSize, outSize, 2];
      const w = tf.randomNormal(outShape, 0, 1, 'float32', 6);
      const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, s, pad), w)))([x, f]);
      const got = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(portableConv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, s, pad), w)))([x, f]);
      expect(maxAbsDiff(got[0], ref[0])).toBeLessThan(1e-4);
      expect(maxAbsDiff(got[1], ref[1])).toBeLessThan(1e-4);
    });
  });

  it('matMul gradients with explicit transposes', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1) as tf.Tensor2D;
      const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
      const w = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
      const ref = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D), w)))([a, b]);
      const got = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(portableMatMul(p as tf.Tensor2D, q as tf.Tensor2D), w)))([a, b]);
      expect(maxAbsDiff(got[0], ref[0])).toBeLessThan(1e-5);
      expect(maxAbsDiff(got[1], ref[1])).toBeLessThan(1e-5);
    });
  });

  it('the portable conv filter gradient agrees with finite differences', () => {
    const x = tf.randomNormal([1, 7, 7, 2], 0, 1, 'float32', 8) as tf.Tensor4D;
    const init = tf.randomNormal([3, 3, 2, 2], 0, 0.3, 'float32', 9);
    const f = tf.variable(init);
    init.dispose();
    const r = checkGradient(() => tf.tidy(() => tf.sum(tf.tanh(portableConv2d(x, f as unknown as tf.Tensor4D, 2, 'same'))) as tf.Scalar), f, { eps: 1e-2 });
    expect(r.maxRelativeError).toBeLessThan(2e-3);
    x.dispose();
    f.dispose();
  });
});
