import { createOptimizer } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fusedAdamUpdate } from './index';
import { requireAddon } from './native-addon';

type Minimize = (loss: () => tf.Scalar, vars: tf.Variable[]) => void;

/** @elbo/core's Adam (on 'native' it runs the fused update this package registers) as a minimise step. */
function coreAdam(learningRate: number): { minimize: Minimize; dispose(): void } {
  const adam = createOptimizer({ kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, learningRate);
  return {
    minimize(loss, vars) {
      const { value, grads } = tf.variableGrads(loss, vars);
      adam.apply(vars, vars.map((v) => grads[v.name]));
      tf.dispose([value, ...Object.values(grads)]);
    },
    dispose: () => adam.dispose(),
  };
}

/** Parameters after `steps` steps minimising sum((w - target)^2 * scale). */
function run(minimize: Minimize, steps: number): Float32Array {
  const init = tf.tensor1d([0.5, -2, 3, 0, 1e-3, 7]);
  const w = tf.variable(init);
  init.dispose();
  const target = tf.tensor1d([1, 1, -1, 0, 0, 2]);
  const scale = tf.tensor1d([1, 10, 0.1, 1, 1e3, 1]);
  for (let i = 0; i < steps; i++) minimize(() => tf.sum(tf.mul(tf.square(tf.sub(w, target)), scale)) as tf.Scalar, [w]);
  const out = Float32Array.from(w.dataSync());
  tf.dispose([w, target, scale]);
  return out;
}

describe("core's Adam with the fused update", () => {
  for (const backend of ['native', 'cpu']) {
    it(`follows tf.train.adam step for step (${backend})`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const reference = tf.train.adam(0.05, 0.9, 0.999, 1e-7);
      const fused = coreAdam(0.05);
      const a = run((loss, vars) => reference.minimize(loss, false, vars), 10);
      const b = run(fused.minimize, 10);
      reference.dispose();
      fused.dispose();
      // The bias corrections are folded into lr and epsilon (same maths, different float32 rounding).
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(5e-5 * Math.max(1, Math.abs(a[i])));
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a hand-computed first step: w - lr * sign(g) (bias-corrected m/sqrt(v) = g/|g|)', async () => {
    await tf.setBackend('native');
    const init = tf.tensor1d([1, -1]);
    const w = tf.variable(init);
    init.dispose();
    const opt = coreAdam(0.1);
    const coef = tf.tensor1d([3, -0.5]);
    opt.minimize(() => tf.sum(tf.mul(w, coef)) as tf.Scalar, [w]);
    const got = Array.from(w.dataSync());
    expect(got[0]).toBeCloseTo(0.9, 5);
    expect(got[1]).toBeCloseTo(-0.9, 5);
    tf.dispose([w, coef]);
    opt.dispose();
  });

  it('never overwrites an array a caller holds from dataSync()', async () => {
    await tf.setBackend('native');
    const init = tf.tensor1d([1, 2, 3]);
    const w = tf.variable(init);
    init.dispose();
    const held = w.dataSync();
    const copy = Array.from(held);
    const opt = coreAdam(0.1);
    opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
    expect(Array.from(held)).toEqual(copy);
    expect(Array.from(w.dataSync())).not.toEqual(copy);
    w.dispose();
    opt.dispose();
  });
});

describe('fusedAdamUpdate', () => {
  it('matches the Adam formula computed by hand in float64 over three steps, and leaks nothing', async () => {
    await tf.setBackend('native');
    const before = tf.memory().numTensors;
    const w0 = [0.5, -1, 2, 0];
    const grads = [[0.1, -0.2, 3, 0], [0.05, 0.3, -1, 1e-3], [-0.2, 0.1, 0.5, 0]];
    const o = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const make = (vals: number[]) => {
      const t = tf.tensor1d(vals);
      const v = tf.variable(t);
      t.dispose();
      return v;
    };
    const [p, m, v] = [make(w0), make([0, 0, 0, 0]), make([0, 0, 0, 0])];
    const ref = { w: [...w0], m: [0, 0, 0, 0], v: [0, 0, 0, 0] };
    grads.forEach((gv, s) => {
      const g = tf.tensor1d(gv);
      expect(fusedAdamUpdate(p, m, v, g, { ...o, step: s + 1 })).toBe(true);
      g.dispose();
      const t = s + 1;
      for (let i = 0; i < 4; i++) {
        ref.m[i] = o.beta1 * ref.m[i] + (1 - o.beta1) * gv[i];
        ref.v[i] = o.beta2 * ref.v[i] + (1 - o.beta2) * gv[i] ** 2;
        const mh = ref.m[i] / (1 - o.beta1 ** t);
        const vh = ref.v[i] / (1 - o.beta2 ** t);
        ref.w[i] -= (o.learningRate * mh) / (Math.sqrt(vh) + o.epsilon);
      }
    });
    const got = { w: Array.from(p.dataSync()), m: Array.from(m.dataSync()), v: Array.from(v.dataSync()) };
    for (let i = 0; i < 4; i++) {
      expect(got.w[i]).toBeCloseTo(ref.w[i], 5);
      expect(got.m[i]).toBeCloseTo(ref.m[i], 6);
      expect(got.v[i]).toBeCloseTo(ref.v[i], 7);
    }
    tf.dispose([p, m, v]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a long odd-length update (vector, threaded and tail paths) matches float64 per element, in place as out of place, NaN kept', () => {
    const addon = requireAddon();
    // Past two threads' grain, and not a multiple of any vector width.
    const n = 70_001;
    const rnd = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + k * 78.233) * (k === 3 ? 2 : 1));
    const [w, m, g] = [rnd(0), rnd(1), rnd(3)];
    const v = rnd(2).map((x) => x * x);
    g[12_345] = Number.NaN;
    g[n - 1] = Number.POSITIVE_INFINITY;
    const [b1, b2, lrT, epsT] = [0.9, 0.999, 0.01, 1e-7];
    const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    addon.adam(w, m, v, g, out[0], out[1], out[2], b1, b2, lrT, epsT);
    const fb1 = Math.fround(b1), fc1 = Math.fround(1 - b1), fb2 = Math.fround(b2), fc2 = Math.fround(1 - b2);
    for (let i = 0; i < n; i += 97) {
      const mi = fb1 * m[i] + fc1 * g[i];
      const vi = fb2 * v[i] + fc2 * g[i] * g[i];
      const wi = w[i] - (Math.fround(lrT) * mi) / (Math.sqrt(vi) + Math.fround(epsT));
      expect(out[1][i]).toBeCloseTo(mi, 6);
      expect(out[2][i]).toBeCloseTo(vi, 6);
      expect(out[0][i]).toBeCloseTo(wi, 6);
    }
    for (const i of [12_345, n - 1]) expect(Number.isNaN(out[0][i])).toBe(true);
    // Outputs aliasing their inputs (an in-place update) give the same bits.
    addon.adam(w, m, v, g, w, m, v, b1, b2, lrT, epsT);
    expect(Buffer.compare(Buffer.from(w.buffer), Buffer.from(out[0].buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(m.buffer), Buffer.from(out[1].buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(v.buffer), Buffer.from(out[2].buffer))).toBe(0);
  });

  it('updates arrays nothing else sees in place, with the same values, and never what a clone or a dataSync() array holds', async () => {
    await tf.setBackend('native');
    const before = tf.memory().numTensors;
    const backend = tf.backend() as unknown as { data: { get(id: tf.DataId): { values: Float32Array } } };
    const arrayOf = (t: tf.Tensor) => backend.data.get(t.dataId).values;
    // Large enough for the recycler (>= 1024 elements), so the update's outputs are arrays the backend owns.
    const n = 5000;
    const o = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const make = (f: (i: number) => number) => {
      const t = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => f(i)));
      const v = tf.variable(t);
      t.dispose();
      return v;
    };
    const grads = [1, 2, 3, 4].map((s) => tf.tensor1d(Float32Array.from({ length: n }, (_, i) => Math.sin(i * s))));
    // Reference: the same updates on separate variables, always out of place (their arrays are read out each step).
    const [rp, rm, rv] = [make((i) => Math.cos(i)), make(() => 0), make(() => 0)];
    const [p, m, v] = [make((i) => Math.cos(i)), make(() => 0), make(() => 0)];
    const ref: Float32Array[] = [];
    grads.forEach((g, s) => {
      expect(fusedAdamUpdate(rp, rm, rv, g, { ...o, step: s + 1 })).toBe(true);
      ref.push(Float32Array.from(rp.dataSync()));
    });
    // Step 1 replaces the initial arrays (not the backend's own); step 2 then updates in place.
    expect(fusedAdamUpdate(p, m, v, grads[0], { ...o, step: 1 })).toBe(true);
    const owned = arrayOf(p);
    expect(fusedAdamUpdate(p, m, v, grads[1], { ...o, step: 2 })).toBe(true);
    expect(arrayOf(p)).toBe(owned);
    // A clone (as the NaN guard's snapshot) shares the array: the next update must leave it alone.
    const snapshot = tf.clone(p);
    const snapValues = Float32Array.from(arrayOf(snapshot));
    expect(fusedAdamUpdate(p, m, v, grads[2], { ...o, step: 3 })).toBe(true);
    expect(arrayOf(p)).not.toBe(owned);
    expect(Array.from(snapshot.dataSync())).toEqual(Array.from(snapValues));
    // An array read out with dataSync() is the caller's from then on.
    const held = p.dataSync() as Float32Array;
    const heldCopy = Float32Array.from(held);
    expect(fusedAdamUpdate(p, m, v, grads[3], { ...o, step: 4 })).toBe(true);
    expect(Array.from(held)).toEqual(Array.from(heldCopy));
    expect(Array.from(p.dataSync())).toEqual(Array.from(ref[3]));
    tf.dispose([rp, rm, rv, p, m, v, snapshot, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('declines (returns false, changes nothing) on another backend', async () => {
    await tf.setBackend('cpu');
    const t = tf.tensor1d([1]);
    const p = tf.variable(t);
    const m = tf.variable(t);
    const v = tf.variable(t);
    expect(fusedAdamUpdate(p, m, v, t, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, step: 1 })).toBe(false);
    expect(Array.from(p.dataSync())).toEqual([1]);
    tf.dispose([t, p, m, v]);
    await tf.setBackend('native');
  });
});

describe("core's Adam on 'native'", () => {
  it('uses the fused update registered on import and matches the tensor-op path on cpu', async () => {
    const { Adam } = await import('@elbo/core');
    const stepWith = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const init = tf.tensor1d([0.5, -2, 3, 0, 1e-3, 7]);
      const w = tf.variable(init);
      init.dispose();
      const opt = new Adam(0.05);
      for (let i = 0; i < 5; i++) {
        const g = tf.tidy(() => tf.mul(tf.sub(w, tf.tensor1d([1, 1, -1, 0, 0, 2])), 2));
        opt.apply([w], [g]);
        g.dispose();
      }
      const out = Float32Array.from(w.dataSync());
      opt.dispose();
      w.dispose();
      return out;
    };
    let calls = 0;
    const core = await import('@elbo/core');
    core.registerFusedAdamUpdate('native', (...args) => {
      calls++;
      return fusedAdamUpdate(...args);
    });
    const native = await stepWith('native');
    core.registerFusedAdamUpdate('native', fusedAdamUpdate, { gate: true });
    const cpu = await stepWith('cpu');
    expect(calls).toBe(5);
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(native[i] - cpu[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(cpu[i])));
  });
});

describe('fusedAdamUpdate with the NaN guard gate', () => {
  it('a false gate changes nothing and a true gate updates, both reporting the update as handled', async () => {
    await tf.setBackend('native');
    const p = tf.variable(tf.tensor1d([1, 2]));
    const m = tf.variable(tf.zeros([2]));
    const v = tf.variable(tf.zeros([2]));
    const g = tf.tensor1d([0.5, -0.5]);
    const options = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, step: 1 };
    const closed = tf.scalar(false, 'bool');
    expect(fusedAdamUpdate(p, m, v, g, { ...options, gate: closed })).toBe(true);
    expect(Array.from(p.dataSync())).toEqual([1, 2]);
    expect(Array.from(m.dataSync())).toEqual([0, 0]);
    const open = tf.scalar(true, 'bool');
    expect(fusedAdamUpdate(p, m, v, g, { ...options, gate: open })).toBe(true);
    const after = p.dataSync();
    expect(after[0]).toBeCloseTo(0.9, 5);
    expect(after[1]).toBeCloseTo(2.1, 5);
    tf.dispose([p, m, v, g, closed, open]);
  });
});
