import { Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codebookStats, codebookStatsFromCounts } from './codebook-stats';
import { VectorQuantizer } from './quantizer';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

function setCodebook(q: VectorQuantizer, rows: number[][]): void {
  tf.tidy(() => q.codebook.assign(tf.tensor2d(rows)));
}

const CODES = [
  [0, 0],
  [1, 0],
  [0, 2],
];

describe('VectorQuantizer', () => {
  it('picks the nearest code (hand case)', () => {
    const q = new VectorQuantizer(3, 2, new Rng(0));
    setCodebook(q, CODES);
    // Squared distances to (0,0), (1,0), (0,2):
    // (0.9, 0.1): 0.82, 0.02, 3.62 -> 1;  (0.1, 1.5): 2.26, 3.06, 0.26 -> 2;
    // (-0.2, 0.1): 0.05, 1.45, 3.65 -> 0;  (0.5, 1.0): 1.25, 1.25, 1.25 -> tie, lowest index 0.
    const idx = tf.tidy(() => Array.from(q.nearest(tf.tensor2d([[0.9, 0.1], [0.1, 1.5], [-0.2, 0.1], [0.5, 1.0]])).dataSync()));
    expect(idx).toEqual([1, 2, 0, 0]);
    const { zq, errors } = tf.tidy(() => {
      const out = q.quantize(tf.tensor2d([[0.9, 0.1], [0.1, 1.5]]));
      return { zq: Array.from(out.zq.dataSync()), errors: [...out.codebookError.dataSync(), ...out.commitmentError.dataSync()] };
    });
    expect(zq).toEqual([1, 0, 0, 2]);
    const want = [0.02, 0.26, 0.02, 0.26];
    errors.forEach((e, i) => expect(e).toBeCloseTo(want[i], 5));
    q.dispose();
  });

  it('straight-through: the gradient reaching ze equals the upstream gradient', () => {
    const q = new VectorQuantizer(3, 2, new Rng(0));
    setCodebook(q, CODES);
    const ze = tf.tensor2d([[0.9, 0.1], [0.1, 1.5], [-0.2, 0.1]]);
    const upstream = tf.tensor2d([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.25]]);
    const g = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(q.quantize(z).zq, upstream)))(ze);
    expect(Array.from(g.dataSync())).toEqual(Array.from(upstream.dataSync()));
    tf.dispose([ze, upstream, g]);
    q.dispose();
  });

  it('codebook loss trains only the codebook, commitment only the encoder output', () => {
    const q = new VectorQuantizer(3, 2, new Rng(0));
    setCodebook(q, CODES);
    const init = tf.tensor2d([[0.9, 0.1]]);
    const ze = tf.variable(init); // tf.variable copies: free the initial value
    init.dispose();
    const codebookLoss = tf.variableGrads(() => tf.sum(q.quantize(ze).codebookError) as tf.Scalar, [ze, q.codebook]);
    const commitment = tf.variableGrads(() => tf.sum(q.quantize(ze).commitmentError) as tf.Scalar, [ze, q.codebook]);
    // d/de1 ||sg(ze) - e1||^2 = 2 (e1 - ze) = (0.2, -0.2); other codes get 0.
    // Absent or all zero (tfjs reports a zero gradient through stopGradient).
    const none = (g: tf.Tensor | undefined) => g === undefined || g.dataSync().every((v) => v === 0);
    expect(none(codebookLoss.grads[ze.name])).toBe(true);
    const ge = Array.from(codebookLoss.grads[q.codebook.name].dataSync());
    [0, 0, 0.2, -0.2, 0, 0].forEach((v, i) => expect(ge[i]).toBeCloseTo(v, 5));
    // d/dze ||ze - sg(e1)||^2 = 2 (ze - e1) = (-0.2, 0.2); the codebook gets none.
    expect(none(commitment.grads[q.codebook.name])).toBe(true);
    const gz = Array.from(commitment.grads[ze.name].dataSync());
    [-0.2, 0.2].forEach((v, i) => expect(gz[i]).toBeCloseTo(v, 5));
    tf.dispose([codebookLoss.value, commitment.value, ...Object.values(codebookLoss.grads), ...Object.values(commitment.grads), ze]);
    q.dispose();
  });

  it('EMA update matches a hand computation with Laplace smoothing', () => {
    const gamma = 0.9;
    const eps = 0.1;
    const q = new VectorQuantizer(2, 2, new Rng(0), { update: 'ema', decay: gamma, epsilon: eps });
    expect(q.parameters()).toHaveLength(0); // the codebook is a buffer in EMA mode
    tf.tidy(() => {
      q.codebook.assign(tf.tensor2d([[0, 0], [1, 1]]));
      q.emaSum!.assign(tf.tensor2d([[0, 0], [1, 1]]));
    });
    // Three vectors: two go to code 0, one to code 1.
    const ze = tf.tensor2d([[0.2, 0.0], [0.0, 0.4], [0.8, 1.2]]);
    const idx = q.nearest(ze);
    expect(Array.from(idx.dataSync())).toEqual([0, 0, 1]);
    q.emaUpdate(ze, idx);
    // By hand: N = 0.9 * [1, 1] + 0.1 * [2, 1] = [1.1, 1.0]; n = 2.1.
    // m0 = 0.9 * (0, 0) + 0.1 * (0.2, 0.4) = (0.02, 0.04); m1 = 0.9 * (1, 1) + 0.1 * (0.8, 1.2) = (0.98, 1.02).
    // N~ = (N + 0.1) / (2.1 + 0.2) * 2.1 = [1.2, 1.1] * 2.1 / 2.3 = [1.095652, 1.004348].
    // e0 = m0 / 1.095652 = (0.018254, 0.036508); e1 = m1 / 1.004348 = (0.975758, 1.015584).
    const n = 2.1;
    const s0 = ((1.1 + eps) / (n + 2 * eps)) * n;
    const s1 = ((1.0 + eps) / (n + 2 * eps)) * n;
    const want = [0.02 / s0, 0.04 / s0, 0.98 / s1, 1.02 / s1];
    expect(want[0]).toBeCloseTo(0.018254, 5);
    const got = Array.from(q.codebook.dataSync());
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    const size = Array.from(q.emaClusterSize!.dataSync());
    [1.1, 1.0].forEach((v, i) => expect(size[i]).toBeCloseTo(v, 6));
    tf.dispose([ze, idx]);
    q.dispose();
  });

  it('restarts dead codes at encoder outputs and leaves live ones alone', () => {
    const q = new VectorQuantizer(4, 2, new Rng(0), { update: 'ema', decay: 0.5 });
    setCodebook(q, [[0, 0], [1, 0], [0, 1], [5, 5]]);
    const ze = tf.tensor2d([[0.1, 0.1], [0.9, 0.1], [0.2, 0.0], [1.1, -0.1]]);
    const idx = q.nearest(ze);
    // usage = 0.5 * 1 + 0.5 * counts = [1.5, 1.5, 0.5, 0.5]: codes 2 and 3 are below 1.
    q.trackUsage(idx);
    const restarted = q.restartDeadCodes(ze, 1, new Rng(3));
    expect(restarted).toEqual([2, 3]);
    const cb = q.codebook.arraySync() as number[][];
    const rows = ze.arraySync() as number[][];
    expect(cb[0]).toEqual([0, 0]);
    expect(cb[1]).toEqual([1, 0]);
    for (const k of restarted) expect(rows.some((r) => r.every((v, i) => Math.abs(v - cb[k][i]) < 1e-6))).toBe(true);
    const usage = Array.from(q.usage.dataSync());
    expect(usage.slice(2)).toEqual([1, 1]);
    tf.dispose([ze, idx]);
    q.dispose();
  });

  it('rejects bad arguments with clear messages', () => {
    expect(() => new VectorQuantizer(0, 2, new Rng(0))).toThrow(/numCodes must be a positive integer/);
    expect(() => new VectorQuantizer(2, 2, new Rng(0), { decay: 1 })).toThrow(/decay must be in \(0, 1\)/);
    const q = new VectorQuantizer(3, 2, new Rng(0));
    expect(() => tf.tidy(() => q.quantize(tf.zeros([4, 3])))).toThrow(/expected vectors \[n, 2\], got \[4, 3\]/);
    expect(() => tf.tidy(() => q.lookup(tf.tensor1d([0, 3], 'int32')))).toThrow(/must be in \[0, 3\)/);
    expect(() => tf.tidy(() => q.emaUpdate(tf.zeros([1, 2]), tf.zeros([1], 'int32')))).toThrow(/needs update 'ema'/);
    q.dispose();
  });
});

describe('codebook statistics', () => {
  it('perplexity of a uniform assignment equals the codebook size', () => {
    const k = 16;
    const uniform = Array.from({ length: 5 * k }, (_, i) => i % k);
    const s = codebookStats(uniform, k);
    expect(s.perplexity).toBeCloseTo(k, 10);
    expect(s.codesUsed).toBe(1);
  });

  it('one code gives perplexity 1; a hand case gives exp(H)', () => {
    expect(codebookStats([3, 3, 3], 8).perplexity).toBe(1);
    expect(codebookStats([3, 3, 3], 8).codesUsed).toBe(1 / 8);
    // p = (1/2, 1/4, 1/4): H = 1.5 ln 2, perplexity = 2^1.5.
    const s = codebookStatsFromCounts([2, 1, 1, 0]);
    expect(s.perplexity).toBeCloseTo(2 ** 1.5, 10);
    expect(s.codesUsed).toBe(0.75);
    expect(() => codebookStats([0, 4], 4)).toThrow(/outside \[0, 4\)/);
  });
});
