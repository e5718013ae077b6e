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

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

describe('binary kernels match the cpu backend, gradients included', () => {
  const rng = new Rng(3);
  const ops: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
    Add: tf.add,
    Sub: tf.sub,
    Multiply: tf.mul,
    RealDiv: tf.div,
    Maximum: tf.maximum,
    Minimum: tf.minimum,
    SquaredDifference: tf.squaredDifference,
  };
  // full, scalar either side, bias-like trailing dims, per-row leading dims, and an odd broadcast (cpu fallback).
  const pairs: [number[], number[]][] = [
    [[37, 11], [37, 11]],
    [[5, 7], []],
    [[], [5, 7]],
    [[6, 9], [9]],
    [[2, 3, 4], [3, 4]],
    [[6, 9], [6, 1]],
    [[3, 1, 5], [1, 4, 1]],
    [[1], [130001]],
  ];
  for (const [name, f] of Object.entries(ops)) {
    it(name, () => {
      for (const [sa, sb] of pairs) {
        const a = { shape: sa, values: randomArray(rng, size(sa)) };
        // Keep divisors away from 0 so RealDiv's gradient is well conditioned.
        const b = { shape: sb, values: randomArray(rng, size(sb)).map((v) => (name === 'RealDiv' ? v + Math.sign(v) * 0.5 || 0.5 : v)) };
        // tfjs-core's Maximum/Minimum/SquaredDifference gradients do not reduce broadcast dims: forward only there.
        const noBroadcastGrad = ['Maximum', 'Minimum', 'SquaredDifference'].includes(name) && JSON.stringify(sa) !== JSON.stringify(sb);
        const r = onBoth([a, b], (x, y) =>
          noBroadcastGrad ? [f(x, y)] : [f(x, y), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(f(p, q))))([x, y])],
        );
        expect(worstError(r), `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`).toBeLessThan(TOL);
      }
    });
  }

  it('NaN propagates through Maximum and Minimum as on cpu', () => {
    const a = tf.tensor1d([NaN, 1, 2]);
    const b = tf.tensor1d([0, NaN, 3]);
    expect(Array.from(tf.maximum(a, b).dataSync())).toEqual([NaN, NaN, 3]);
    expect(Array.from(tf.minimum(a, b).dataSync())).toEqual([NaN, NaN, 2]);
    tf.dispose([a, b]);
  });

  it('int32 falls back to the cpu kernels', () => {
    const out = tf.tidy(() => Array.from(tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')).dataSync()));
    expect(out).toEqual([4, 6]);
  });
});

describe('unary kernels match the cpu backend, gradients included', () => {
  const rng = new Rng(4);
  const ops: Record<string, { f: (x: tf.Tensor) => tf.Tensor; positive?: boolean }> = {
    Neg: { f: tf.neg },
    Exp: { f: tf.exp },
    Log: { f: tf.log, positive: true },
    Sqrt: { f: tf.sqrt, positive: true },
    Square: { f: tf.square },
    Relu: { f: tf.relu },
    Abs: { f: tf.abs },
    Log1p: { f: tf.log1p, positive: true },
    Sigmoid: { f: tf.sigmoid },
    Softplus: { f: tf.softplus },
    Rsqrt: { f: tf.rsqrt, positive: true },
    Reciprocal: { f: tf.reciprocal, positive: true },
    LeakyRelu: { f: (x) => tf.leakyRelu(x, 0.3) },
    Relu6: { f: (x) => tf.relu6(tf.mul(x, 8)) },
    Elu: { f: tf.elu },
    Tanh: { f: tf.tanh },
    Step: { f: (x) => tf.step(x, 0.25) },
  };
  for (const [name, { f, positive }] of Object.entries(ops)) {
    it(name, () => {
      for (const shape of [[1], [7, 13], [70001]]) {
        const v = randomArray(rng, size(shape)).map((u) => (positive ? 0.1 + Math.abs(u) * 3 : u * 4));
        const r = onBoth([{ shape, values: v }], (x) => [f(x), tf.grad((p: tf.Tensor) => tf.sum(tf.mul(f(p), f(p))))(x)]);
        expect(worstError(r), `${name} ${shape}`).toBeLessThan(TOL);
      }
    });
  }

  it('Relu and Step keep NaN (the NaN guard relies on it)', () => {
    const x = tf.tensor1d([NaN, -1, 2]);
    expect(Array.from(tf.relu(x).dataSync())).toEqual([NaN, 0, 2]);
    expect(Array.from(tf.step(x, 0.5).dataSync())).toEqual([NaN, 0.5, 1]);
    x.dispose();
  });

  it('Log1p (a polynomial, not libm, natively) matches the cpu kernel per element over float32 magnitudes and at the edges', () => {
    // Per-element relative error, not relError's error relative to the largest output: log1p of tiny x is
    // tiny, and a large-scale comparison would hide a wrong result there.
    const values: number[] = [0, -0, -1, -2, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-30, -0.9999999, 3e38, -0.5, 1, 1e-8, -1e-8];
    for (let e = -40; e <= 40; e++) for (const m of [-0.93, -0.5, 0.17, 0.71, 0.99]) values.push(m * 2 ** e);
    const x = Float32Array.from(values); // m * 2^e < -1 gives NaN on both
    // Length 40001 so the kernel runs split across the pool, with the edge cases in every chunk.
    const big = new Float32Array(40001);
    for (let i = 0; i < big.length; i++) big[i] = x[i % x.length];
    const r = onBoth([{ shape: [big.length], values: big }], (t) => tf.log1p(t));
    for (let i = 0; i < big.length; i++) {
      const [a, b] = [r.native[0][i], r.cpu[0][i]];
      if (Number.isNaN(b) || !Number.isFinite(b)) {
        expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `log1p(${big[i]}) = ${a}, cpu ${b}`).toBe(true);
      } else {
        expect(Math.abs(a - b) / Math.max(Math.abs(b), 1e-38), `log1p(${big[i]}) = ${a}, cpu ${b}`).toBeLessThan(1e-6);
      }
    }
  });

  it('Tanh (a polynomial, not libm, natively) matches the cpu kernel per element over its range and at the edges', () => {
    const values: number[] = [0, -0, 0.625, -0.625, 0.62499, 0.62501, 9, -9, 9.5, 20, -20, 1e30, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-20];
    for (let i = 0; i <= 4000; i++) values.push(-12 + i * 0.006);
    const big = new Float32Array(40001);
    for (let i = 0; i < big.length; i++) big[i] = values[i % values.length];
    const r = onBoth([{ shape: [big.length], values: big }], (t) => tf.tanh(t));
    for (let i = 0; i < big.length; i++) {
      const [a, b] = [r.native[0][i], r.cpu[0][i]];
      if (Number.isNaN(b)) expect(a, `tanh(${big[i]})`).toBeNaN();
      else expect(Math.abs(a - b) / Math.max(Math.abs(b), 1e-38), `tanh(${big[i]}) = ${a}, cpu ${b}`).toBeLessThan(1e-6);
    }
    expect(Object.is(r.native[0][1], -0)).toBe(true);
  });

  it('Exp matches the cpu kernel per element over its range and at the edges', () => {
    const values: number[] = [0, -0, -87, 88, -87.01, 88.01, 88.7, 89, -103, -104, Infinity, -Infinity, NaN, 1e-45, -1e-45];
    for (let i = 0; i <= 2000; i++) values.push(-100 + i * 0.0937);
    const big = new Float32Array(40001);
    for (let i = 0; i < big.length; i++) big[i] = values[i % values.length];
    const r = onBoth([{ shape: [big.length], values: big }], (t) => tf.exp(t));
    for (let i = 0; i < big.length; i++) {
      const [a, b] = [r.native[0][i], r.cpu[0][i]];
      if (Number.isNaN(b) || !Number.isFinite(b)) {
        expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `exp(${big[i]}) = ${a}, cpu ${b}`).toBe(true);
      } else if (b < 1.2e-38) {
        // Subnormal results (x < -87): float expf against a rounded double exp, within one subnormal step.
        expect(Math.abs(a - b), `exp(${big[i]}) = ${a}, cpu ${b}`).toBeLessThanOrEqual(1.5e-45);
      } else {
        expect(Math.abs(a - b) / b, `exp(${big[i]}) = ${a}, cpu ${b}`).toBeLessThan(1e-6);
      }
    }
  });

  it('Softplus is stable at large |x| like the cpu kernel', () => {
    const r = onBoth([{ shape: [4], values: Float32Array.from([-100, -20, 20, 100]) }], (x) => tf.softplus(x));
    expect(worstError(r)).toBeLessThan(TOL);
    expect(r.native[0][3]).toBe(100);
  });
});

describe('Sum matches the cpu backend', () => {
  const rng = new Rng(5);
  const cases: [number[], number | number[], boolean][] = [
    [[13, 29], 1, false],
    [[13, 29], 0, false],
    [[13, 29], -1, true],
    [[4, 5, 6], [1, 2], false],
    [[4, 5, 6], [0, 1], true],
    [[4, 5, 6], 1, false], // middle axis: cpu fallback
    [[4, 5, 6], [0, 2], false], // non-contiguous: cpu fallback
    [[4, 5, 6], [0, 1, 2], false],
    [[300000], 0, false],
    [[64, 14, 14, 32], [0, 1, 2], false], // a conv bias gradient
  ];
  for (const [shape, axis, keepDims] of cases) {
    it(`shape ${shape} axis ${JSON.stringify(axis)} keepDims ${keepDims}`, () => {
      const r = onBoth([{ shape, values: randomArray(rng, size(shape)) }], (x) => [
        tf.sum(x, axis, keepDims),
        tf.grad((p: tf.Tensor) => tf.sum(tf.square(tf.sum(p, axis, keepDims))))(x),
      ]);
      expect(worstError(r)).toBeLessThan(TOL);
      const shapes = onBoth([{ shape, values: randomArray(rng, size(shape)) }], (x) => tf.tensor1d(tf.sum(x, axis, keepDims).shape));
      expect(Array.from(shapes.native[0])).toEqual(Array.from(shapes.cpu[0]));
    });
  }

  it('a hand-computed case', () => {
    const out = tf.tidy(() => tf.sum(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), 1).arraySync());
    expect(out).toEqual([6, 15]);
  });
});

describe('no leaks', () => {
  it('elementwise ops and Sum under tidy leave the tensor count unchanged', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([5, 7], 0, 1, 'float32', 11);
      tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.exp(tf.add(p, 1)), tf.relu(p))))(x);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
