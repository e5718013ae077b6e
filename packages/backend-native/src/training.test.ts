import '@elbo/core';
import '@elbo/vae';
import { describeBackendConformance } from '@elbo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { buildBenchModel, measureFitThroughput, measureThroughput, randomSource } from './bench/index';
import './index';
import { relError } from './test-utils';

/** Parameters of the two throughput models as createModel builds them. */
function r0Params(): Record<string, number> {
  const count = (name: 'mlp' | 'conv') => {
    const m = buildBenchModel(name, 0);
    const n = m.parameters().reduce((s, p) => s + p.size, 0);
    m.dispose();
    return n;
  };
  return { mlp: count('mlp'), conv: count('conv') };
}

/** Loss and parameter gradients of the MLP bench model at its initial parameters, then the loss after one Adam step. */
async function lossAndGradients(backend: string): Promise<{ losses: number[]; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  // The same model seed on both backends: its noise draws (seeded tf.randomNormal) are backend-independent.
  const model = buildBenchModel('mlp', 1);
  const data = tf.randomUniform([8, ...model.inputShape], 0, 1, 'float32', 5);
  const vars = model.parameters();
  const { value, grads } = tf.variableGrads(() => model.loss({ x: data }).loss, vars);
  const g = vars.map((v) => Float32Array.from(grads[v.name].dataSync()));
  const losses = [value.dataSync()[0]];
  const opt = tf.train.adam(1e-3);
  opt.applyGradients(grads as Record<string, tf.Variable>);
  const after = model.loss({ x: data }).loss;
  losses.push(after.dataSync()[0]);
  tf.dispose([value, after, ...Object.values(grads)]);
  opt.dispose();
  data.dispose();
  model.dispose();
  return { losses, grads: g };
}

describe('training the bench models on native matches cpu', () => {
  // Parameters after Adam steps are not compared element by element: Adam divides by sqrt(v), so a
  // gradient that is ~1e-9 on both backends but of opposite sign moves a parameter by +-lr.
  it('MLP VAE: loss and every parameter gradient, and the loss after one Adam step', async () => {
    const cpu = await lossAndGradients('cpu');
    const native = await lossAndGradients('native');
    for (let i = 0; i < 2; i++) expect(Math.abs(native.losses[i] - cpu.losses[i]) / Math.abs(cpu.losses[i])).toBeLessThan(1e-4);
    expect(native.losses[1]).toBeLessThan(native.losses[0]);
    expect(native.grads.length).toBe(cpu.grads.length);
    for (let i = 0; i < cpu.grads.length; i++) expect(relError(native.grads[i], cpu.grads[i]), `gradient ${i}`).toBeLessThan(1e-4);
  });

  it('a training loop on native leaks no tensors', async () => {
    await tf.setBackend('native');
    const before = tf.memory().numTensors;
    const r = await measureThroughput({ model: 'conv', backend: 'native', batchSize: 4, steps: 2, warmup: 1, seed: 3 });
    expect(r.samplesPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the product path (createModel + fit) trains both throughput models on native and leaks no tensors', async () => {
    await tf.setBackend('native');
    const before = tf.memory().numTensors;
    for (const model of ['mlp', 'conv'] as const) {
      const r = await measureFitThroughput({ model, source: (b) => randomSource(model, b, 1, 4), batchSize: 4, steps: 3, warmup: 2 });
      expect(r).toMatchObject({ model, backend: 'native', batchSize: 4, steps: 3 });
      expect(r.samplesPerSec).toBeCloseTo((3 * 4 * 1000) / (r.msPerStep * 3), 6);
      // fit reads the loss back at the end of training: an untrained Bernoulli decoder on uniform inputs, about 784 ln 2 nats.
      expect(r.finalLoss).toBeGreaterThan(400);
      expect(r.finalLoss).toBeLessThan(700);
    }
    expect(r0Params()).toEqual({ mlp: 973_624, conv: 200_513 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

// Core's shared backend suite (forward, gradients, a train step, no leaks) on 'native'.
describe('core conformance suite', () => describeBackendConformance('native'));
