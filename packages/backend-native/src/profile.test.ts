import '@elbo/core';
import '@elbo/vae';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { profileTrainingStep } from './bench/index';
import './index';

describe('profileTrainingStep', () => {
  it('reports per-step kernel calls and times averaged over the profiled steps, without leaks', async () => {
    const before = tf.memory().numTensors;
    const one = await profileTrainingStep({ model: 'mlp', backend: 'native', path: 'loop', optimizer: 'native', batchSize: 4, steps: 1, warmup: 0 });
    const three = await profileTrainingStep({ model: 'mlp', backend: 'native', path: 'loop', optimizer: 'native', batchSize: 4, steps: 3, warmup: 1 });
    expect(tf.memory().numTensors).toBe(before);
    // Every step runs the same kernels, so per-step call counts do not depend on how many steps were profiled.
    const calls = (rows: { kernel: string; calls: number }[]) => Object.fromEntries(rows.map((r) => [r.kernel, r.calls]));
    expect(calls(three.rows)).toEqual(calls(one.rows));
    // Six Dense layers forward, and their gradients, go through the GEMM kernels.
    const gemmCalls = (calls(three.rows).BatchMatMul ?? 0) + (calls(three.rows)._FusedMatMul ?? 0);
    expect(gemmCalls).toBeGreaterThanOrEqual(6);
    expect(three.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    expect(three.wallMs).toBeGreaterThan(0);
  });

  it('profiles the product path: the steps fit runs after the warm-up, trainer kernels included', async () => {
    const before = tf.memory().numTensors;
    const r = await profileTrainingStep({ model: 'mlp', backend: 'native', batchSize: 4, steps: 2, warmup: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const calls = Object.fromEntries(r.rows.map((x) => [x.kernel, x.calls]));
    expect((calls.BatchMatMul ?? 0) + (calls._FusedMatMul ?? 0)).toBeGreaterThanOrEqual(6);
    expect(r.rows.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 6);
    expect(r.kernelShare).toBeGreaterThan(0);
  });

  it('rejects a bad step count by name', async () => {
    await expect(profileTrainingStep({ model: 'mlp', backend: 'native', steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
  });
});
