import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Adam, createOptimizer, type FusedAdamOptions, registerFusedAdamUpdate, Sgd } from './optimizers';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

function ownedVar(values: number[], shape: number[]): tf.Variable {
  const t = tf.tensor(values, shape);
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** Gradient of sum(w * x^2) / 2 + sum(x) at x: w * x + 1 (a fixed, x-dependent gradient). */
const gradOf = (x: tf.Variable, w: tf.Tensor) => tf.tidy(() => tf.add(tf.mul(w, x), 1));

describe('optimizers', () => {
  it('Adam follows tf.train.adam step for step', () => {
    const a = ownedVar([0.5, -1, 2, 0.1], [2, 2]);
    const b = ownedVar([0.5, -1, 2, 0.1], [2, 2]);
    const w = tf.tensor([1, 3, -2, 0.5], [2, 2]);
    const ours = new Adam(0.05, 0.8, 0.95, 1e-6);
    const ref = tf.train.adam(0.05, 0.8, 0.95, 1e-6);
    for (let i = 0; i < 25; i++) {
      const ga = gradOf(a, w);
      ours.apply([a], [ga]);
      ga.dispose();
      const gb = gradOf(b, w);
      ref.applyGradients([{ name: b.name, tensor: gb }]);
      gb.dispose();
    }
    const da = a.dataSync();
    const db = b.dataSync();
    for (let i = 0; i < 4; i++) expect(Math.abs(da[i] - db[i])).toBeLessThan(1e-5);
    expect(ours.iterations).toBe(25);
    tf.dispose([a, b, w]);
    ours.dispose();
    ref.dispose();
  });

  it('Adam uses a fused update registered for the active backend, with the same result', () => {
    const w = tf.tensor([1, 3, -2, 0.5], [2, 2]);
    const run = () => {
      const p = ownedVar([0.5, -1, 2, 0.1], [2, 2]);
      const opt = new Adam(0.05);
      for (let i = 0; i < 5; i++) {
        const g = gradOf(p, w);
        opt.apply([p], [g]);
        g.dispose();
      }
      const out = Array.from(p.dataSync());
      p.dispose();
      opt.dispose();
      return out;
    };
    const plain = run();
    const calls: FusedAdamOptions[] = [];
    // A stand-in written in the folded form a native kernel uses: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), eps_t = eps sqrt(1 - b2^t).
    registerFusedAdamUpdate('cpu', (param, m, v, grad, o) => {
      calls.push(o);
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, o.beta1), tf.mul(grad, 1 - o.beta1));
        const v1 = tf.add(tf.mul(v, o.beta2), tf.mul(tf.square(grad), 1 - o.beta2));
        const c2 = Math.sqrt(1 - o.beta2 ** o.step);
        param.assign(tf.sub(param, tf.div(tf.mul(m1, (o.learningRate * c2) / (1 - o.beta1 ** o.step)), tf.add(tf.sqrt(v1), o.epsilon * c2))));
        m.assign(m1);
        v.assign(v1);
      });
      return true;
    });
    try {
      const fused = run();
      expect(calls.map((c) => c.step)).toEqual([1, 2, 3, 4, 5]);
      fused.forEach((x, i) => expect(Math.abs(x - plain[i])).toBeLessThan(1e-6));
    } finally {
      registerFusedAdamUpdate('cpu', null);
    }
    w.dispose();
  });

  it('SGD with and without momentum matches hand-computed updates', () => {
    const p = ownedVar([1, 2], [2]);
    const g = tf.tensor1d([0.5, -1]);
    const sgd = new Sgd(0.1);
    sgd.apply([p], [g]);
    expect([...p.dataSync()].map((v) => +v.toFixed(6))).toEqual([0.95, 2.1]);
    const q = ownedVar([1, 2], [2]);
    const mom = new Sgd(0.1, 0.9);
    mom.apply([q], [g]); // b = g; q -= 0.1 g
    mom.apply([q], [g]); // b = 0.9 g + g = 1.9 g; q -= 0.19 g
    expect([...q.dataSync()].map((v) => +v.toFixed(5))).toEqual([+(1 - 0.29 * 0.5).toFixed(5), +(2 + 0.29).toFixed(5)]);
    tf.dispose([p, q, g]);
    sgd.dispose();
    mom.dispose();
  });

  it('state round-trips by parameter name, and bad configs are named', () => {
    const p = ownedVar([1, 2, 3], [3]);
    const g = tf.tensor1d([0.1, 0.2, 0.3]);
    const a = new Adam(0.1);
    a.apply([p], [g]);
    const state = new Map([...a.namedState(['w'])].map(([k, v]) => [k, tf.clone(v)] as const));
    expect([...state.keys()]).toEqual(['w/m', 'w/v']);
    const b = new Adam(0.1);
    b.setState([p], ['w'], a.iterations, state);
    expect(b.iterations).toBe(1);
    expect([...b.stateVariables()[0].dataSync()]).toEqual([...a.stateVariables()[0].dataSync()]);
    expect(() => b.setState([p], ['other'], 1, state)).toThrow(/missing "other\/m"/);
    tf.dispose([p, g, ...state.values()]);
    a.dispose();
    b.dispose();
    expect(() => new Adam(0.1, 1)).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => createOptimizer({ kind: 'rmsprop' as never }, 0.1)).toThrow(/'adam' or 'sgd'/);
  });

  it('a false gate leaves parameters and state unchanged, a true one applies the update (Adam, Adam around a fused update, SGD)', () => {
    const snapshot = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));
    const cases: { name: string; make: () => Adam | Sgd; fused?: 'plain' | 'gated' }[] = [
      { name: 'adam', make: () => new Adam(0.1) },
      { name: 'adam + fused', make: () => new Adam(0.1), fused: 'plain' },
      { name: 'adam + gated fused', make: () => new Adam(0.1), fused: 'gated' },
      { name: 'sgd + momentum', make: () => new Sgd(0.1, 0.9) },
    ];
    for (const c of cases) {
      const gates: (boolean | undefined)[] = [];
      if (c.fused) {
        registerFusedAdamUpdate(
          'cpu',
          (param, m, v, grad, o) => {
            gates.push(o.gate === undefined ? undefined : o.gate.dataSync()[0] === 1);
            if (o.gate && o.gate.dataSync()[0] !== 1) return true;
            tf.tidy(() => {
              const m1 = tf.add(tf.mul(m, o.beta1), tf.mul(grad, 1 - o.beta1));
              const v1 = tf.add(tf.mul(v, o.beta2), tf.mul(tf.square(grad), 1 - o.beta2));
              param.assign(tf.sub(param, tf.mul(o.learningRate, tf.div(m1, tf.add(tf.sqrt(v1), o.epsilon)))));
              m.assign(m1);
              v.assign(v1);
            });
            return true;
          },
          { gate: c.fused === 'gated' },
        );
      }
      try {
        const p = ownedVar([1, 2, 3], [3]);
        const opt = c.make();
        const g = tf.tensor1d([0.5, -1, 2]);
        const bad = tf.tensor1d([0.5, Number.NaN, Number.POSITIVE_INFINITY]);
        const yes = tf.scalar(true, 'bool');
        const no = tf.scalar(false, 'bool');
        opt.apply([p], [g], yes);
        const after1 = snapshot([p, ...opt.stateVariables()]);
        opt.apply([p], [bad], no);
        expect(snapshot([p, ...opt.stateVariables()]), c.name).toEqual(after1);
        const one = tf.scalar(1);
        opt.apply([p], [g], one); // a float gate works too
        one.dispose();
        const after3 = snapshot([p, ...opt.stateVariables()]);
        expect(after3[0], c.name).not.toEqual(after1[0]);
        expect(after3.flat().every(Number.isFinite), c.name).toBe(true);
        if (c.fused === 'gated') expect(gates).toEqual([true, false, true]);
        if (c.fused === 'plain') expect(gates).toEqual([undefined, undefined, undefined]);
        tf.dispose([p, g, bad, yes, no]);
        opt.dispose();
      } finally {
        registerFusedAdamUpdate('cpu', null);
      }
    }
  });
});
