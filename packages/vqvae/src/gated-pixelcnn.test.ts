import { Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatedPixelCnn } from './gated-pixelcnn';
import { gatedTaps, MaskedConv2d } from './masked-conv';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('MaskedConv2d', () => {
  it('equals a direct zero-padded convolution with the masked kernel (loops in plain JS)', () => {
    const [h, w, cin, cout, b] = [3, 4, 2, 3, 2];
    const taps = gatedTaps(3, 'B').vertical; // rows -1..0, columns -1..1
    const conv = new MaskedConv2d(cin, cout, [h, w], taps, new Rng(1));
    const rng = new Rng(2);
    const x = Array.from({ length: h * w * b * cin }, () => rng.normal());
    // Channel-major layout: x [cin, P, b], kernel [cout, T, cin], y [cout, P, b].
    const got = tf.tidy(() => Array.from(conv.apply(tf.tensor3d(x, [cin, h * w, b])).dataSync()));
    const k = conv.kernel.dataSync();
    const bias = conv.bias.dataSync();
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let n = 0; n < b; n++) {
          for (let o = 0; o < cout; o++) {
            let want = bias[o];
            taps.forEach(([dy, dx], t) => {
              const si = i + dy;
              const sj = j + dx;
              if (si < 0 || si >= h || sj < 0 || sj >= w) return;
              for (let c = 0; c < cin; c++) want += x[(c * h * w + si * w + sj) * b + n] * k[(o * taps.length + t) * cin + c];
            });
            expect(got[(o * h * w + i * w + j) * b + n]).toBeCloseTo(want, 4);
          }
        }
      }
    }
    conv.dispose();
  });

  it('mask A taps exclude the current pixel; mask B taps include it', () => {
    const a = gatedTaps(5, 'A');
    expect(a.vertical.every(([dy]) => dy < 0)).toBe(true);
    expect(a.horizontal).toEqual([[0, -2], [0, -1]]);
    const b = gatedTaps(3, 'B');
    expect(b.vertical).toContainEqual([0, 1]);
    expect(b.horizontal).toEqual([[0, -1], [0, 0]]);
    expect(() => gatedTaps(4, 'A')).toThrow(/odd/);
  });
});

describe('GatedPixelCnn', () => {
  it('never sees the current or future codes: gradient of each output w.r.t. every later input is zero', () => {
    const [h, w, k] = [4, 4, 3];
    const net = new GatedPixelCnn(k, [h, w], new Rng(5), { channels: 6, layers: 3, outputHidden: 8 });
    const rng = new Rng(6);
    const input = tf.tensor4d(Array.from({ length: h * w * k }, () => rng.next()), [1, h, w, k]);
    const weights = tf.tensor1d(Array.from({ length: k }, () => rng.normal()));
    let checkedPast = 0;
    for (let p = 0; p < h * w; p++) {
      const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.slice(tf.reshape(net.logitsFromOneHot(x), [h * w, k]), [p, 0], [1, k]), weights)))(input);
      const g = grad.dataSync();
      grad.dispose();
      const magnitude = (q: number) => {
        let s = 0;
        for (let c = 0; c < k; c++) s += Math.abs(g[q * k + c]);
        return s;
      };
      for (let q = p; q < h * w; q++) expect(magnitude(q), `output ${p} depends on input ${q}`).toBe(0);
      // It does see the past: the left neighbour and (no blind spot) the pixel above-right.
      const [i, j] = [Math.floor(p / w), p % w];
      if (j > 0) {
        expect(magnitude(p - 1)).toBeGreaterThan(0);
        checkedPast++;
      }
      if (i > 0 && j < w - 1) {
        expect(magnitude(p - w + 1)).toBeGreaterThan(0);
        checkedPast++;
      }
    }
    expect(checkedPast).toBeGreaterThan(10);
    tf.dispose([input, weights]);
    net.dispose();
  });

  it('is a normalised distribution: probabilities of all 2x2 grids over 3 codes sum to 1', () => {
    const k = 3;
    const net = new GatedPixelCnn(k, [2, 2], new Rng(7), { channels: 4, layers: 2, outputHidden: 8 });
    const grids: number[] = [];
    for (let n = 0; n < k ** 4; n++) for (let d = 0, m = n; d < 4; d++, m = Math.floor(m / k)) grids.push(m % k);
    const total = tf.tidy(() => tf.sum(tf.exp(net.logProb(tf.tensor3d(grids, [k ** 4, 2, 2], 'int32')))).dataSync()[0]);
    expect(total).toBeCloseTo(1, 4);
    net.dispose();
  });

  it('samples follow the model: empirical frequencies of 1x2 grids match exp(logProb)', () => {
    const k = 2;
    const net = new GatedPixelCnn(k, [1, 2], new Rng(8), { channels: 4, layers: 2, outputHidden: 8 });
    const n = 2000;
    const codes = net.sample(n, new Rng(9));
    const values = codes.dataSync();
    const freq = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) freq[values[2 * i] * 2 + values[2 * i + 1]] += 1 / n;
    const probs = tf.tidy(() => Array.from(tf.exp(net.logProb(tf.tensor3d([0, 0, 0, 1, 1, 0, 1, 1], [4, 1, 2], 'int32'))).dataSync()));
    // Binomial standard error at n = 2000 is at most 0.011: allow 4 of them.
    probs.forEach((p, i) => expect(Math.abs(freq[i] - p)).toBeLessThan(0.045));
    codes.dispose();
    net.dispose();
  });

  it('sampling is seeded and leak-free; bad input is rejected', () => {
    const net = new GatedPixelCnn(5, [3, 3], new Rng(10), { channels: 4, layers: 2, outputHidden: 8 });
    const a = net.sample(4, new Rng(11));
    const b = net.sample(4, new Rng(11));
    expect(a.shape).toEqual([4, 3, 3]);
    expect(a.dtype).toBe('int32');
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync()).every((v) => v >= 0 && v < 5)).toBe(true);
    tf.dispose([a, b]);
    expect(() => tf.tidy(() => net.logits(tf.zeros([2, 3, 4], 'int32')))).toThrow(/expected codes \[batch, 3, 3\]/);
    expect(() => net.sample(2, new Rng(0), 0)).toThrow(/temperature must be > 0/);
    net.dispose();
  });
});
