import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Conv2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import { Rng } from '../rng';
import { describeBackendConformance } from '../testing/conformance';
import { backendInfo, useBackend } from './use-backend';

afterAll(async () => {
  await tf.setBackend('cpu');
});

// What useBackend can load here (optional packages: tfjs-node cannot install offline; the native backend
// depends on core, so it is found only where installed beside it or from the working directory).
const works = (name: string) => useBackend(name).then(
  () => true,
  () => false,
);
const has = { tfjsNode: await works('tensorflow'), native: await works('native') };
await tf.setBackend('cpu');

describe('useBackend', () => {
  it('activates cpu and reports it', async () => {
    const r = await useBackend('cpu');
    expect(r).toEqual({ name: 'cpu', reason: 'requested', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    const info = backendInfo();
    expect(info.name).toBe('cpu');
    expect(info.isNode).toBe(true);
    // A user who picked cpu has seen tfjs's "install tfjs-node" hint's advice; it is silenced.
    expect((tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse).toBe(false);
    // cpu has the kernel, but it is 7-20x slower than the portable filter gradient.
    expect(info.portableConvGrad).toBe(true);
    expect(info.missingKernels).toEqual([]);
  });

  it('loads the optional wasm package and switches layers to portable gradients there', async () => {
    const r = await useBackend('wasm');
    expect(r.name).toBe('wasm');
    const info = backendInfo();
    expect(info.missingKernels).toContain('Conv2DBackpropFilter');
    expect(info.portableConvGrad).toBe(true);
    expect(info.portableMatMulGrad).toBe(true);
    // A conv layer trains on wasm although the backend has no Conv2DBackpropFilter.
    const conv = new Conv2d(1, 2, new Rng(1), { stride: 2 });
    const x = tf.ones([1, 4, 4, 1]);
    const { value, grads } = tf.variableGrads(() => tf.sum(conv.apply(x)) as tf.Scalar, conv.parameters());
    expect(Object.keys(grads)).toHaveLength(2);
    tf.dispose([value, x, ...Object.values(grads)]);
    conv.dispose();
    await useBackend('cpu');
  });

  it('explains unknown names and missing optional packages', async () => {
    await expect(useBackend('no-such-backend')).rejects.toThrow(/unknown backend "no-such-backend".*'auto'.*'wasm'/);
    await expect(useBackend('')).rejects.toThrow(/non-empty string/);
    if (!has.tfjsNode) {
      await expect(useBackend('tensorflow')).rejects.toThrow(/@tensorflow\/tfjs-node is not installed.*npm i @tensorflow\/tfjs-node/);
    }
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'auto' skips what is not installed and says why", async () => {
    const r = await useBackend('auto');
    const expected = has.tfjsNode ? 'tensorflow' : has.native ? 'native' : 'wasm';
    expect(r.name).toBe(expected);
    expect(r.reason).toMatch(new RegExp(`auto picked '${expected}'`));
    if (expected === 'wasm') {
      expect(r.skipped.map((s) => s.name)).toEqual(['tensorflow', 'native']);
      expect(r.skipped[0].reason).toMatch(/not installed/);
    }
    const fallback = await useBackend('auto', { order: ['no-such-backend', 'cpu'] });
    expect(fallback.name).toBe('cpu');
    expect(fallback.skipped[0].reason).toMatch(/unknown backend/);
  });

  it('a Dense layer on wasm uses explicit transposes and matches cpu gradients', async () => {
    const grad = () => {
      const d = new Dense(6, 4, new Rng(2), { activation: 'relu' });
      const x = tf.randomNormal([5, 6], 0, 1, 'float32', 3);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(d.apply(x))) as tf.Scalar, d.parameters());
      const out = d.parameters().map((p) => grads[p.name].dataSync().slice());
      tf.dispose([value, x, ...Object.values(grads)]);
      d.dispose();
      return out;
    };
    await useBackend('cpu');
    const ref = grad();
    await useBackend('wasm');
    const got = grad();
    await useBackend('cpu');
    ref.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(got[i][j] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)))));
  });
});

describeBackendConformance('cpu');
describeBackendConformance('wasm');
describe.runIf(has.native)('native backend (installed)', () => {
  describeBackendConformance('native');
});
