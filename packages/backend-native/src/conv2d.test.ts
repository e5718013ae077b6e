import '@elbo/core';
import { Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import './index';
import { onBoth, randomArray, worstError } from './test-utils';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('native');
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  outC: number;
  stride: number;
  pad: Pad;
  dilation?: number;
}

const cases: Case[] = [
  { x: [1, 5, 5, 1], k: [3, 3], outC: 1, stride: 1, pad: 'same' },
  { x: [2, 7, 6, 3], k: [3, 3], outC: 5, stride: 2, pad: 'same' },
  { x: [3, 9, 9, 2], k: [3, 3], outC: 4, stride: 2, pad: 'valid' },
  { x: [2, 8, 7, 3], k: [5, 3], outC: 2, stride: 1, pad: 'valid' },
  { x: [1, 6, 6, 4], k: [1, 1], outC: 3, stride: 1, pad: 'same' },
  { x: [2, 10, 10, 2], k: [3, 3], outC: 3, stride: 1, pad: 'same', dilation: 2 },
  { x: [2, 6, 5, 2], k: [3, 3], outC: 3, stride: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  // A long reduction for the filter gradient (K-split path of the GEMM).
  { x: [16, 28, 28, 1], k: [3, 3], outC: 8, stride: 2, pad: 'same' },
  // Enough images for the per-image (implicit im2col) path on up to 16 threads.
  { x: [33, 5, 6, 2], k: [3, 3], outC: 3, stride: 2, pad: 'same' },
  { x: [33, 7, 6, 3], k: [3, 2], outC: 1, stride: 1, pad: 'valid' },
  // One output channel from a multiple of 16 channels (the AVX-512 loops), of 8 (AVX2), dilated.
  { x: [3, 9, 8, 32], k: [3, 3], outC: 1, stride: 1, pad: 'same' },
  { x: [2, 10, 9, 24], k: [3, 3], outC: 1, stride: 2, pad: 'valid' },
  { x: [2, 7, 7, 16], k: [3, 3], outC: 1, stride: 1, pad: 'same', dilation: 2 },
];

describe('Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter match the cpu backend', () => {
  const rng = new Rng(2);
  for (const c of cases) {
    it(`x ${c.x} k ${c.k} -> ${c.outC}, stride ${c.stride}, pad ${JSON.stringify(c.pad)}, dilation ${c.dilation ?? 1}`, () => {
      const x = { shape: c.x, values: randomArray(rng, c.x.reduce((p, q) => p * q, 1)) };
      const wShape = [c.k[0], c.k[1], c.x[3], c.outC];
      const w = { shape: wShape, values: randomArray(rng, wShape.reduce((p, q) => p * q, 1)) };
      const r = onBoth([x, w], (xt, wt) => {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
        const y = f(xt, wt);
        // tfjs-core has no conv2d gradient for dilation > 1: forward only there.
        if ((c.dilation ?? 1) > 1) return [y];
        // A non-uniform upstream gradient so every dy element matters.
        const weight = tf.reshape(tf.linspace(-1, 2, y.size), y.shape);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), weight)))([xt, wt]);
        return [y, gx, gw];
      });
      expect(worstError(r)).toBeLessThan(TOL);
    });
  }

  it('conv2dTranspose (stride 2, same and valid, batch 2 and 33) forward and gradients', () => {
    for (const [pad, batch] of [['same', 2], ['valid', 2], ['same', 33]] as const) {
      const xShape = [batch, 4, 5, 3];
      const wShape = [3, 3, 2, 3]; // [k, k, outC, inC]
      const outShape: [number, number, number, number] = pad === 'same' ? [batch, 8, 10, 2] : [batch, 9, 11, 2];
      const x = { shape: xShape, values: randomArray(rng, batch * 4 * 5 * 3) };
      const w = { shape: wShape, values: randomArray(rng, 3 * 3 * 2 * 3) };
      const r = onBoth([x, w], (xt, wt) => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, 2, pad);
        const y = f(xt, wt);
        const weight = tf.reshape(tf.linspace(-1, 2, y.size), y.shape);
        return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), weight)))([xt, wt])];
      });
      expect(worstError(r), pad).toBeLessThan(TOL);
    }
  });

  it('a hand-computed case: 2x2 input, 2x2 ones filter, valid', () => {
    const y = tf.tidy(() => tf.conv2d(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid').arraySync());
    expect(y).toEqual([[[[10]]]]);
  });

  it('NCHW falls back to the cpu kernel and agrees', () => {
    const x = { shape: [1, 2, 5, 5], values: randomArray(rng, 50) };
    const w = { shape: [3, 3, 2, 3], values: randomArray(rng, 54) };
    // tfjs's cpu backend supports NCHW conv2d in forward only.
    const r = onBoth([x, w], (xt, wt) => tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same', 'NCHW'));
    expect(worstError(r)).toBeLessThan(TOL);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', rng.nextSeed());
    const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', rng.nextSeed());
    tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
    });
    tf.dispose([x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
