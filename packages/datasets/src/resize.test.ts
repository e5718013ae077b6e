import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { describe, expect, it } from 'vitest';
import { resizeImage } from './resize';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
};

describe('resizeImage', () => {
  it('area: 4x4 to 2x2 gives the 2x2 block means', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    // Blocks: (0+1+4+5)/4, (2+3+6+7)/4, (8+9+12+13)/4, (10+11+14+15)/4.
    close(resizeImage(src, 4, 4, 1, 2, 2, 'area'), [2.5, 4.5, 10.5, 12.5]);
  });

  it('area: 3 to 2 weights the shared middle pixel by its overlap', () => {
    // Output 0 covers input [0, 1.5): (a + 0.5 b) / 1.5; output 1 covers [1.5, 3): (0.5 b + c) / 1.5.
    const [a, b, c] = [3, 6, 12];
    close(resizeImage(Float32Array.from([a, b, c]), 1, 3, 1, 1, 2, 'area'), [(a + 0.5 * b) / 1.5, (0.5 * b + c) / 1.5]);
  });

  it('keeps channels apart and a constant image constant', () => {
    const src = new Float32Array(5 * 7 * 3);
    for (let p = 0; p < 35; p++) src.set([0.1, 0.5, 0.9], p * 3);
    for (const method of ['area', 'bilinear'] as const) {
      const out = resizeImage(src, 5, 7, 3, 3, 11, method);
      const expected = new Float32Array(3 * 11 * 3);
      for (let p = 0; p < 33; p++) expected.set([0.1, 0.5, 0.9], p * 3);
      close(out, expected);
    }
  });

  it('bilinear matches tf.image.resizeBilinear with half-pixel centres, up and down', () => {
    const rng = new Rng(2);
    const src = Float32Array.from({ length: 9 * 6 * 2 }, () => rng.next());
    for (const [oh, ow] of [
      [17, 13],
      [4, 3],
      [9, 2],
    ]) {
      const ours = resizeImage(src, 9, 6, 2, oh, ow, 'bilinear');
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [9, 6, 2]), [oh, ow], false, true).dataSync());
      close(ours, ref, 1e-5);
    }
  });

  it('explains bad arguments', () => {
    expect(() => resizeImage(new Float32Array(4), 2, 2, 1, 0, 2)).toThrow('resizeImage: outH must be a positive integer, got 0');
    expect(() => resizeImage(new Float32Array(3), 2, 2, 1, 1, 1)).toThrow(/src has 3 values, expected 2x2x1 = 4/);
    expect(() => resizeImage(new Float32Array(4), 2, 2, 1, 1, 1, 'cubic' as never)).toThrow(/resize method must be 'area' or 'bilinear'/);
  });
});
