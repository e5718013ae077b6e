import { Dense, FUSED_DENSE_KERNEL, Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import './index';
import { relError } from './test-utils';

beforeAll(async () => {
  await tf.setBackend('native');
});

/** Gradients of sum(y * r) with respect to x, W and b, y = act(x W + b). */
function gradsOf(f: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor, x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, r: tf.Tensor): Float32Array[] {
  const g = tf.grads((xi, wi, bi) => tf.sum(tf.mul(f(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), r)));
  const out = g([x, w, b]);
  const values = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return values;
}

describe("core's Dense on 'native' runs the fused dense kernel", () => {
  for (const activation of ['relu', 'linear'] as const) {
    it(`${activation}: forward and the gradients of x, W and b match the unfused ops to 1e-4`, () => {
      const layer = new Dense(33, 17, new Rng(1), { activation });
      const before = tf.memory().numTensors;
      const x = tf.randomNormal([9, 33], 0, 1, 'float32', 2) as tf.Tensor2D;
      const r = tf.randomNormal([9, 17], 0, 1, 'float32', 3);
      const w = tf.clone(layer.kernel) as tf.Tensor2D;
      const b = tf.clone(layer.bias as tf.Variable) as tf.Tensor1D;
      const fused = (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => tf.engine().runKernel(FUSED_DENSE_KERNEL, { x: xi, kernel: wi, bias: bi }, { activation }) as tf.Tensor;
      const unfused = (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => {
        const y = tf.add(tf.matMul(xi, wi), bi);
        return activation === 'relu' ? tf.relu(y) : y;
      };
      const yLayer = layer.apply(x);
      const yRef = tf.tidy(() => unfused(x, w, b));
      expect(relError(yLayer.dataSync() as Float32Array, yRef.dataSync() as Float32Array)).toBeLessThan(1e-5);
      const a = gradsOf(fused, x, w, b, r);
      const e = gradsOf(unfused, x, w, b, r);
      for (let i = 0; i < 3; i++) expect(relError(a[i], e[i]), ['x', 'W', 'b'][i]).toBeLessThan(1e-4);
      tf.dispose([yLayer, yRef, x, r, w, b]);
      expect(tf.memory().numTensors).toBe(before);
      layer.dispose();
    });
  }

  it('applies bias and relu on each thread part of the output: split by columns, by rows, serial; no bias; NaN kept', () => {
    const before = tf.memory().numTensors;
    // [M, K] x [K, N]: 8 rows by 300 columns splits by columns, 200 by 40 by rows, 9 by 17 runs on one thread.
    for (const [m, k, n] of [[8, 200, 300], [200, 100, 40], [9, 33, 17]]) {
      for (const activation of ['relu', 'linear'] as const) {
        for (const withBias of [true, false]) {
          tf.tidy(() => {
            const x = tf.randomNormal([m, k], 0, 1, 'float32', m + k);
            // A NaN in one input row reaches one output row through relu unchanged.
            const xv = x.dataSync().slice();
            xv[k + 3] = Number.NaN;
            const xn = tf.tensor2d(xv, [m, k]);
            const w = tf.randomNormal([k, n], 0, 0.1, 'float32', n);
            const b = tf.randomNormal([n], 0, 1, 'float32', 7);
            const inputs: tf.NamedTensorMap = withBias ? { x: xn, kernel: w, bias: b } : { x: xn, kernel: w };
            const fused = tf.engine().runKernel(FUSED_DENSE_KERNEL, inputs, { activation }) as tf.Tensor;
            const lin = withBias ? tf.add(tf.matMul(xn, w), b) : tf.matMul(xn, w);
            const ref = activation === 'relu' ? tf.relu(lin) : lin;
            const got = fused.dataSync() as Float32Array;
            expect(Array.from(got.slice(n, 2 * n)).every(Number.isNaN), `${m}x${k}x${n} NaN row`).toBe(true);
            expect(relError(got, ref.dataSync() as Float32Array), `${m}x${k}x${n} ${activation} bias=${withBias}`).toBeLessThan(1e-6);
          });
        }
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the kernel Dense runs, and a layer whose input needs no gradient skips the input gradient', async () => {
    const layer = new Dense(8, 4, new Rng(4), { activation: 'relu' });
    const x = tf.randomNormal([5, 8], 0, 1, 'float32', 5);
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x)) as tf.Scalar, layer.parameters());
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(FUSED_DENSE_KERNEL);
    expect(names).toContain('ElboFusedDenseGrad');
    expect(names).not.toContain('_FusedMatMul');
    expect(names).not.toContain('BatchMatMul');
    x.dispose();
    layer.dispose();
  });

  it('keeps NaN where the unfused ops give NaN (the NaN guard relies on it)', () => {
    const x = tf.tensor2d([[Number.NaN, 1], [2, 3]]);
    const w = tf.tensor2d([[1, -1], [0.5, 2]]);
    const b = tf.tensor1d([0, 0]);
    const r = tf.ones([2, 2]);
    const fused = (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => tf.engine().runKernel(FUSED_DENSE_KERNEL, { x: xi, kernel: wi, bias: bi }, { activation: 'relu' }) as tf.Tensor;
    const unfused = (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => tf.relu(tf.add(tf.matMul(xi, wi), bi));
    const a = gradsOf(fused, x, w, b, r);
    const e = gradsOf(unfused, x, w, b, r);
    for (let i = 0; i < 3; i++) expect(Array.from(a[i]).map(Number.isNaN)).toEqual(Array.from(e[i]).map(Number.isNaN));
    tf.dispose([x, w, b, r]);
  });

  it('takes a float32 input the cpu backend cast from bool without copying (its values stay a Uint8Array)', () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor2d([[0, 2, 1], [3, 0, 0]]);
    const mask = tf.tidy(() => tf.cast(tf.greater(a, 0.5), 'float32'));
    const layer = new Dense(3, 2, new Rng(3));
    const y = layer.apply(mask);
    const expected = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d([[0, 1, 1], [1, 0, 0]]), layer.kernel), layer.bias as tf.Tensor));
    expect(relError(y.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-6);
    tf.dispose([a, mask, y, expected]);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
