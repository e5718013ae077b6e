import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, createModel, Rng } from '@elbo/core';
import { createTcvae, klDecomposition, mwsLogDensities } from './index';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

const LOG_2PI = Math.log(2 * Math.PI);
const logNormal = (x: number, mu: number, logVar: number) => -0.5 * (LOG_2PI + logVar + (x - mu) ** 2 / Math.exp(logVar));
const logSumExp = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** The MWS estimates by plain double-precision loops over every (i, j, d), as written in Chen et al. (2018), appendix C.1. */
function bruteForce(z: number[][], mu: number[][], lv: number[][], n: number) {
  const m = z.length;
  const d = z[0].length;
  const logNM = Math.log(n * m);
  const out = { logQzx: [] as number[], logQz: [] as number[], logProdQzd: [] as number[], logPz: [] as number[] };
  for (let i = 0; i < m; i++) {
    let qzx = 0;
    let pz = 0;
    for (let k = 0; k < d; k++) {
      qzx += logNormal(z[i][k], mu[i][k], lv[i][k]);
      pz += logNormal(z[i][k], 0, 0);
    }
    const joint: number[] = [];
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += logNormal(z[i][k], mu[j][k], lv[j][k]);
      joint.push(s);
    }
    let prod = 0;
    for (let k = 0; k < d; k++) {
      const marg: number[] = [];
      for (let j = 0; j < m; j++) marg.push(logNormal(z[i][k], mu[j][k], lv[j][k]));
      prod += logSumExp(marg) - logNM;
    }
    out.logQzx.push(qzx);
    out.logQz.push(logSumExp(joint) - logNM);
    out.logProdQzd.push(prod);
    out.logPz.push(pz);
  }
  return out;
}

function randomMatrix(rng: Rng, m: number, d: number, scale: number, shift = 0): number[][] {
  return Array.from({ length: m }, () => Array.from({ length: d }, () => shift + scale * rng.normal()));
}

describe('minibatch-weighted sampling estimator', () => {
  it('matches a brute-force double-precision computation on a tiny batch', () => {
    const rng = new Rng(5);
    const [m, d, n] = [4, 3, 50];
    const z = randomMatrix(rng, m, d, 1);
    const mu = randomMatrix(rng, m, d, 0.8);
    const lv = randomMatrix(rng, m, d, 0.5, -0.5);
    const want = bruteForce(z, mu, lv, n);
    const got = tf.tidy(() => {
      const l = mwsLogDensities(tf.tensor2d(z), tf.tensor2d(mu), tf.tensor2d(lv), n);
      return { logQzx: Array.from(l.logQzx.dataSync()), logQz: Array.from(l.logQz.dataSync()), logProdQzd: Array.from(l.logProdQzd.dataSync()), logPz: Array.from(l.logPz.dataSync()) };
    });
    for (const key of ['logQzx', 'logQz', 'logProdQzd', 'logPz'] as const) {
      for (let i = 0; i < m; i++) expect(got[key][i], `${key}[${i}]`).toBeCloseTo(want[key][i], 4);
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const terms = tf.tidy(() => {
      const k = klDecomposition(tf.tensor2d(z), tf.tensor2d(mu), tf.tensor2d(lv), n);
      return { mi: k.mi.dataSync()[0], tc: k.tc.dataSync()[0], dimKl: k.dimKl.dataSync()[0] };
    });
    expect(terms.mi).toBeCloseTo(mean(want.logQzx) - mean(want.logQz), 4);
    expect(terms.tc).toBeCloseTo(mean(want.logQz) - mean(want.logProdQzd), 4);
    expect(terms.dimKl).toBeCloseTo(mean(want.logProdQzd) - mean(want.logPz), 4);
  });

  it('closed form for identical posteriors: MI = log N, TC = (D - 1) log N (the MWS bias), dimKl = KL - D log N', () => {
    // Every example has the same posterior, so the true MI and TC are 0; the estimator gives the
    // amounts above exactly, because each logsumexp over j is log M + log q(z_i | x_1).
    const [m, d, n] = [6, 3, 1000];
    const rng = new Rng(9);
    const mu1 = randomMatrix(rng, 1, d, 0.5)[0];
    const lv1 = randomMatrix(rng, 1, d, 0.3, -0.4)[0];
    const z = randomMatrix(rng, m, d, 1);
    const mu = Array.from({ length: m }, () => mu1);
    const lv = Array.from({ length: m }, () => lv1);
    const got = tf.tidy(() => {
      const k = klDecomposition(tf.tensor2d(z), tf.tensor2d(mu), tf.tensor2d(lv), n);
      return { mi: k.mi.dataSync()[0], tc: k.tc.dataSync()[0], dimKl: k.dimKl.dataSync()[0] };
    });
    expect(got.mi).toBeCloseTo(Math.log(n), 4);
    expect(got.tc).toBeCloseTo((d - 1) * Math.log(n), 4);
    // dimKl = mean_i [log q(z_i | x_1) - log p(z_i)] - D log N, by hand from the Gaussian densities.
    let mc = 0;
    for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) mc += logNormal(z[i][k], mu1[k], lv1[k]) - logNormal(z[i][k], 0, 0);
    expect(got.dimKl).toBeCloseTo(mc / m - d * Math.log(n), 3);
  });

  it('sees more total correlation in posteriors spread along a diagonal than in posteriors on a grid', () => {
    // 16 narrow posteriors: on a line z1 = z2 (strongly dependent aggregate) vs on a 4 x 4 grid (independent
    // aggregate with the same marginal spread). Draws are the means themselves, so only the layout differs.
    const line = Array.from({ length: 16 }, (_, i) => [(i - 7.5) / 2, (i - 7.5) / 2]);
    const grid = Array.from({ length: 16 }, (_, i) => [((i % 4) - 1.5) * 2, (Math.floor(i / 4) - 1.5) * 2]);
    const tcOf = (pts: number[][]) =>
      tf.tidy(() => {
        const x = tf.tensor2d(pts);
        return klDecomposition(x, x, tf.fill([16, 2], Math.log(0.01)), 16).tc.dataSync()[0];
      });
    const [tLine, tGrid] = [tcOf(line), tcOf(grid)];
    // By hand (posteriors so narrow that only coinciding coordinates contribute): on the line every
    // coordinate is distinct, log q(z_i) = log q(z_i|x_i) - log(NM) and log prod q(z_id) = log q(z_i|x_i)
    // - 2 log(NM), so TC = log(NM); on the grid each coordinate is shared by 4 posteriors, so
    // log prod q(z_id) gains 2 log 4 and TC = log(NM) - log 16. The true TCs of the two 16-point
    // aggregates are log 16 and 0: the MWS bias is the same log N for both, and the difference is exact.
    expect(tLine).toBeCloseTo(Math.log(16 * 16), 3);
    expect(tGrid).toBeCloseTo(Math.log(16 * 16) - Math.log(16), 3);
    expect(tLine - tGrid).toBeCloseTo(Math.log(16), 3);
  });

  it('gives clear errors for bad arguments', () => {
    tf.tidy(() => {
      const z = tf.zeros([3, 2]);
      expect(() => mwsLogDensities(z, z, z, 0)).toThrow(/datasetSize must be a positive integer, got 0/);
      expect(() => mwsLogDensities(z, tf.zeros([3, 3]), z, 5)).toThrow(/loc must be \[3, 2\] like z, got \[3, 3\]/);
      expect(() => mwsLogDensities(tf.zeros([3]), z, z, 5)).toThrow(/z must be \[batch, latentDim\]/);
    });
  });
});

describe('beta-TCVAE loss', () => {
  const x = () => tf.randomUniform([16, 12], 0, 1, 'float32', 3);

  it('is reconstruction + klWeight (miWeight mi + tcWeight tc + dimKlWeight dimKl); mi + tc + dimKl is the Monte-Carlo KL; elbo = -(reconstruction + kl)', () => {
    const m = createTcvae({ inputShape: [12], hiddenDims: [16, 16], latentDim: 3, miWeight: 0.5, tcWeight: 6, dimKlWeight: 2, datasetSize: 500, seed: 4 });
    const xs = x();
    const t = tf.tidy(() => {
      const out = m.loss({ x: xs });
      return { loss: out.loss.dataSync()[0], ...Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]])) } as Record<string, number>;
    });
    expect(Object.keys(t).sort()).toEqual(['dimKl', 'elbo', 'kl', 'klWeight', 'loss', 'mi', 'reconstruction', 'tc']);
    expect(t.klWeight).toBe(1);
    expect(t.loss).toBeCloseTo(t.reconstruction + 0.5 * t.mi + 6 * t.tc + 2 * t.dimKl, 3);
    expect(t.elbo).toBeCloseTo(-(t.reconstruction + t.kl), 3);
    // The decomposition is of log q(z|x) - log p(z) at the drawn z: recompute it by hand from the same draw.
    const rngState = m.rng.getState();
    const mc = tf.tidy(() => {
      m.rng.setState(rngState);
      const q = m.encoder.forward(xs) as unknown as { loc: tf.Tensor; logVar: tf.Tensor; rsample: (r: Rng) => tf.Tensor; logProb: (z: tf.Tensor) => tf.Tensor };
      const z = q.rsample(m.rng);
      const lp = tf.mean(tf.sub(q.logProb(z), m.prior.logProb(z))).dataSync()[0];
      m.rng.setState(rngState);
      const out = m.loss({ x: xs });
      return { lp, sum: out.terms.mi.dataSync()[0] + out.terms.tc.dataSync()[0] + out.terms.dimKl.dataSync()[0] };
    });
    expect(mc.sum).toBeCloseTo(mc.lp, 3);
    // The trainer's klWeight (a schedule) overrides the config's and scales the whole decomposition, TC included.
    m.rng.setState(rngState);
    const half = tf.tidy(() => {
      const out = m.loss({ x: xs }, { klWeight: 0.5 });
      const v = (k: string) => out.terms[k].dataSync()[0];
      return { loss: out.loss.dataSync()[0], w: v('klWeight'), expected: v('reconstruction') + 0.5 * (0.5 * v('mi') + 6 * v('tc') + 2 * v('dimKl')) };
    });
    expect(half.w).toBe(0.5);
    expect(half.loss).toBeCloseTo(half.expected, 3);
    xs.dispose();
    m.dispose();
  });

  it('with every weight 1 the objective is the -ELBO with a Monte-Carlo KL (same expectation as the VAE loss)', () => {
    const m = createModel({ variant: 'tcvae', inputShape: [12], hiddenDims: [16, 16], latentDim: 3, tcWeight: 1, datasetSize: 100, seed: 2 });
    const xs = x();
    const t = tf.tidy(() => {
      const out = m.loss({ x: xs });
      const v = (k: string) => out.terms[k].dataSync()[0];
      return { loss: out.loss.dataSync()[0], recon: v('reconstruction'), mc: v('mi') + v('tc') + v('dimKl') };
    });
    expect(t.loss).toBeCloseTo(t.recon + t.mc, 3);
    xs.dispose();
    m.dispose();
  });

  it('training on a fixed batch lowers the loss and the total correlation term stays finite', () => {
    const m = createTcvae({ inputShape: [12], hiddenDims: [32, 32], latentDim: 4, tcWeight: 6, datasetSize: 200, seed: 7 });
    const xs = x();
    const noise = m.rng.getState();
    const value = () =>
      tf.tidy(() => {
        m.rng.setState(noise);
        const out = m.loss({ x: xs });
        return [out.loss.dataSync()[0], out.terms.tc.dataSync()[0]];
      });
    const [first] = value();
    const opt = tf.train.adam(1e-2);
    for (let s = 0; s < 40; s++) tf.dispose(opt.minimize(() => m.loss({ x: xs }, { step: s }).loss, true, m.parameters()) ?? undefined);
    const [last, tc] = value();
    opt.dispose();
    xs.dispose();
    m.dispose();
    expect(last, `loss ${first} -> ${last}`).toBeLessThan(first);
    expect(Number.isFinite(tc)).toBe(true);
  });
});

describe('tcvae config', () => {
  it.each([
    [{ beta: 6 }, /field "beta" was renamed: use "tcWeight"/],
    [{ alpha: 1 }, /field "alpha" was renamed: use "miWeight"/],
    [{ gamma: 1 }, /field "gamma" was renamed: use "dimKlWeight"/],
    [{ hiddenDim: 16 }, /field "hiddenDim" was renamed: use "hiddenDims"/],
    [{ tcWeight: -1 }, /field "tcWeight"/],
  ])('rejects %j naming the field, through createModel and createTcvae alike', (extra, message) => {
    const config = { inputShape: [12], latentDim: 2, datasetSize: 10, ...extra };
    expect(() => createModel({ variant: 'tcvae', ...config })).toThrow(ConfigError);
    expect(() => createModel({ variant: 'tcvae', ...config })).toThrow(message);
    expect(() => createTcvae(config as never)).toThrow(message);
  });
});
