import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Conv2d, ConvTranspose2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { createModel } from '../registry';
import { Rng } from '../rng';
import { arrayBatchSource, registerTinyVae, syntheticData } from '../testing/tiny-model';
import { fit } from '../train/fit';
import { Adam } from '../train/optimizers';
import { setPrefersPortableConvGrad, usePortableConvGrad } from './portable-grads';
import { useBackend } from './use-backend';
import { installNodeWebGpu, nodeWebGpuInfo } from './webgpu-node';

// WebGPU in Node needs Dawn's 'webgpu' package and an adapter: a GPU with a Vulkan driver, or Mesa's
// llvmpipe over OpenGL ES (Debian: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri). Where neither is
// present these tests are skipped, and the reason is printed, rather than failing machines without them.
const probe = await installNodeWebGpu().then(
  (info) => ({ ok: true as const, info }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);
if (!probe.ok) console.warn(`webgpu-node tests skipped: ${probe.reason}`);
else console.info(`webgpu-node: Dawn ${probe.info.dawnBackend} (${probe.info.featureLevel}) on ${probe.info.adapter}`);

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.runIf(probe.ok)('WebGPU in Node (Dawn)', () => {
  it("useBackend('webgpu') activates it and computes a matmul and its gradient read back asynchronously", async () => {
    // smokeTest: useBackend's own matmul + gradient check, read back asynchronously.
    const r = await useBackend('webgpu', { smokeTest: true });
    expect(r.name).toBe('webgpu');
    expect(nodeWebGpuInfo()?.adapter.length).toBeGreaterThan(0);
    const [y, g] = tf.tidy(() => {
      const a = tf.tensor2d([[1, 2], [3, 4]]);
      const b = tf.tensor2d([[5, 6], [7, 8]]);
      return [tf.matMul(a, b), tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, b)))(a)];
    });
    // Hand-computed: AB = [[19, 22], [43, 50]]; d sum(AB)/dA = 1 B^T has rows [11, 15].
    expect([...(await y.data())]).toEqual([19, 22, 43, 50]);
    expect([...(await g.data())]).toEqual([11, 15, 11, 15]);
    tf.dispose([y, g]);
    await useBackend('cpu');
  });

  it('a second install call returns the same setup', async () => {
    expect(await installNodeWebGpu()).toBe(nodeWebGpuInfo());
  });
});

/**
 * Core's shared conformance suite (testing/conformance.ts) reads results with dataSync(), which
 * tfjs-backend-webgpu implements through OffscreenCanvas, absent in Node. This is the same check
 * (a conv + dense net's forward pass, every parameter's gradient and one Adam step against the cpu
 * backend, then fit on a tiny VAE and a leak check) with asynchronous read-back.
 */
async function runNet(): Promise<{ y: Float32Array; grads: Float32Array[]; stepped: Float32Array[] }> {
  const rng = new Rng(3);
  const layers = [
    new Conv2d(2, 4, rng, { kernelSize: 3, stride: 2, padding: 'same', activation: 'relu' }),
    new Conv2d(4, 3, rng, { kernelSize: 3, stride: 1, padding: 'valid' }),
    new ConvTranspose2d(3, 2, rng, { kernelSize: 3, stride: 2, padding: 'same' }),
    new Dense(2 * 6 * 6, 5, rng, { activation: 'tanh' }),
    new Dense(5, 3, rng),
  ] as const;
  const [c1, c2, up, d1, d2] = layers;
  const params = layers.flatMap((l) => l.parameters());
  const forward = (x: tf.Tensor) => d2.apply(d1.apply(tf.reshape(up.apply(c2.apply(c1.apply(x))), [x.shape[0], -1])));
  const x = tf.randomNormal([3, 10, 10, 2], 0, 1, 'float32', 7);
  const lossOf = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.reshape(tf.linspace(0.5, 1.5, y.size), y.shape))) as tf.Scalar;
  try {
    const yT = tf.tidy(() => forward(x));
    const y = (await yT.data()) as Float32Array;
    yT.dispose();
    const { grads, value } = tf.variableGrads(() => tf.tidy(() => lossOf(forward(x))), params);
    const g = await Promise.all(params.map(async (p) => (await grads[p.name].data()) as Float32Array));
    const opt = new Adam(0.01);
    opt.apply(params, params.map((p) => grads[p.name]));
    tf.dispose([value, ...Object.values(grads)]);
    const stepped = await Promise.all(params.map(async (p) => (await p.data()) as Float32Array));
    opt.dispose();
    return { y, grads: g, stepped };
  } finally {
    x.dispose();
    layers.forEach((l) => l.dispose());
  }
}

/** Largest difference relative to the reference's largest magnitude. */
function maxRelDiff(a: Float32Array, ref: Float32Array): number {
  const scale = Math.max(1e-3, ...ref.map(Math.abs));
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]) / scale), 0);
}

describe.runIf(probe.ok)('webgpu conformance in Node (against cpu)', () => {
  // The shared suite's tolerance; llvmpipe measured 2e-7 (forward) to 5e-7 (gradients) here.
  const tol = 2e-4;

  it('forward pass, every gradient and one Adam step match the cpu backend', async () => {
    await useBackend('cpu');
    // The reference uses tfjs's own cpu kernels (Conv2DBackpropFilter included), not core's portable gradients.
    const portable = usePortableConvGrad();
    setPrefersPortableConvGrad('cpu', false);
    const reference = await runNet().finally(() => setPrefersPortableConvGrad('cpu', portable));
    await useBackend('webgpu');
    const actual = await runNet();
    expect(tf.getBackend()).toBe('webgpu');
    const worst = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((v, i) => maxRelDiff(v, b[i])));
    console.info(
      `webgpu vs cpu, max relative difference: forward ${maxRelDiff(actual.y, reference.y).toExponential(1)}, ` +
        `gradients ${worst(actual.grads, reference.grads).toExponential(1)}, Adam step ${worst(actual.stepped, reference.stepped).toExponential(1)}`,
    );
    expect(actual.y.length).toBe(reference.y.length);
    expect(maxRelDiff(actual.y, reference.y)).toBeLessThan(tol);
    expect(actual.grads).toHaveLength(10);
    reference.grads.forEach((g, i) => {
      // A zero gradient everywhere would hide a broken backward pass.
      expect(g.some((v) => v !== 0)).toBe(true);
      expect(maxRelDiff(actual.grads[i], g), `gradient ${i}`).toBeLessThan(tol);
    });
    reference.stepped.forEach((p, i) => expect(maxRelDiff(actual.stepped[i], p), `parameter ${i}`).toBeLessThan(tol));
    await useBackend('cpu');
  });

  it('fit trains a tiny VAE with finite, falling losses and leaks nothing', async () => {
    await useBackend('webgpu');
    const variant = registerTinyVae('tiny-webgpu-node');
    const model = createModel({ variant, inputDim: 6, hiddenDim: 8, latentDim: 2, seed: 1 });
    const before = tf.memory().numTensors;
    const r = await fit(model, arrayBatchSource(syntheticData(32, 6, 1), 6, 8), { epochs: 3, learningRate: 1e-2, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    expect(r.steps).toBe(12);
    expect(r.nonFinite).toEqual([]);
    expect(r.history.every((h) => Number.isFinite(h.train.loss))).toBe(true);
    expect(r.history[2].train.loss).toBeLessThan(r.history[0].train.loss);
    await useBackend('cpu');
  });
});

describe('installNodeWebGpu arguments', () => {
  it('names the bad option', async () => {
    // Only reachable before a successful install; afterwards the first setup is returned unchanged.
    if (nodeWebGpuInfo() !== null) return expect(await installNodeWebGpu({ dawnBackends: [] })).toBe(nodeWebGpuInfo());
    await expect(installNodeWebGpu({ dawnBackends: [] })).rejects.toThrow(/dawnBackends must be a non-empty list/);
  });
});
