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

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 5],
  [5, 1, 9],
  [13, 17, 3],
  [33, 20, 65],
  [64, 37, 300],
  [7, 129, 260],
];

describe('BatchMatMul and _FusedMatMul match the cpu backend', () => {
  const rng = new Rng(1);
  for (const [m, n, k] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        it(`[${m}x${k}]${tA ? "'" : ''} x [${k}x${n}]${tB ? "'" : ''} forward and gradients`, () => {
          const a = { shape: tA ? [k, m] : [m, k], values: randomArray(rng, m * k) };
          const b = { shape: tB ? [n, k] : [k, n], values: randomArray(rng, k * n) };
          const w = { shape: [m, n], values: randomArray(rng, m * n) };
          const r = onBoth([a, b, w], (x, y, wt) => {
            const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, tA, tB), wt));
            const [ga, gb] = tf.grads(f)([x, y]);
            return [tf.matMul(x, y, tA, tB), ga, gb];
          });
          expect(worstError(r)).toBeLessThan(TOL);
        });
      }
    }
  }

  it('batched with broadcast batch dims and batch 1 (gradients where the batch dims agree: tfjs-core has no broadcast BatchMatMul gradient)', () => {
    const cases: [number[], number[]][] = [
      [[3, 5, 7], [3, 7, 4]],
      [[1, 5, 7], [3, 7, 4]],
      [[2, 3, 5, 7], [7, 9]],
      [[1, 1, 6], [1, 6, 1]],
      [[4, 1, 6], [4, 6, 1]],
    ];
    for (const [sa, sb] of cases) {
      const a = { shape: sa, values: randomArray(rng, sa.reduce((p, q) => p * q, 1)) };
      const b = { shape: sb, values: randomArray(rng, sb.reduce((p, q) => p * q, 1)) };
      const sameBatch = sa.length === sb.length && sa.slice(0, -2).every((d, i) => d === sb[i]);
      const r = onBoth([a, b], (x, y) => {
        if (!sameBatch) return [tf.matMul(x, y)];
        const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([x, y]);
        return [tf.matMul(x, y), ga, gb];
      });
      expect(worstError(r), `${sa} x ${sb}`).toBeLessThan(TOL);
    }
  });

  it('fused matMul with bias and each activation, forward and gradients', () => {
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true]] as const) {
        const [m, n, k] = [9, 21, 30];
        const a = { shape: tA ? [k, m] : [m, k], values: randomArray(rng, m * k) };
        const b = { shape: tB ? [n, k] : [k, n], values: randomArray(rng, k * n) };
        const bias = { shape: [n], values: randomArray(rng, n) };
        const r = onBoth([a, b, bias], (x, y, c) => {
          const f = (p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) =>
            tf.sum(tf.square(tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: s, activation, transposeA: tA, transposeB: tB, leakyreluAlpha: 0.1 })));
          const out = tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: c, activation, transposeA: tA, transposeB: tB, leakyreluAlpha: 0.1 });
          return [out, ...tf.grads(f)([x, y, c])];
        });
        expect(worstError(r), `${activation} tA=${tA} tB=${tB}`).toBeLessThan(TOL);
      }
    }
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([17, 9], 0, 1, 'float32', rng.nextSeed());
    const y = tf.randomNormal([9, 5], 0, 1, 'float32', rng.nextSeed());
    tf.tidy(() => {
      tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q)))([x, y]);
    });
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('int32 inputs fall back to the cpu kernel', () => {
    const out = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')).arraySync());
    expect(out).toEqual([[11]]);
  });
});
