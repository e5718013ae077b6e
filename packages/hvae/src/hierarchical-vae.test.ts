import { ConfigError, createModel, DiagonalGaussian, listVariants } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeUnitsPerLevel } from './active-units';
import { createHvae, HierarchicalVae } from './index';
import { loadMnistSlice } from './test-mnist';

const BASE = {
  variant: 'hvae',
  inputShape: [784],
  latentDims: [6, 4, 2],
  hiddenDims: [48, 24, 12],
  blockDepth: 1,
  seed: 3,
} as const;

let x: tf.Tensor2D;

beforeAll(() => {
  const { pixels } = loadMnistSlice('train', 32);
  // Fixed binarisation at 0.5 so every test sees the same data.
  x = tf.tidy(() => tf.cast(tf.greater(tf.tensor2d(pixels, [32, 784]), 0.5), 'float32')) as tf.Tensor2D;
});

afterAll(() => x.dispose());

/** KL(N(mq, exp(lq)) || N(mp, exp(lp))) summed over dims, averaged over rows, in float64. */
function klClosedForm(mq: Float32Array, lq: Float32Array, mp: Float32Array | null, lp: Float32Array | null, rows: number): number {
  let total = 0;
  for (let j = 0; j < mq.length; j++) {
    const m2 = mp ? mp[j] : 0;
    const l2 = lp ? lp[j] : 0;
    total += 0.5 * (l2 - lq[j] + (Math.exp(lq[j]) + (mq[j] - m2) ** 2) / Math.exp(l2) - 1);
  }
  return total / rows;
}

describe('HierarchicalVae: construction and config', () => {
  it('is registered and builds from createModel with defaults filled in', () => {
    expect(listVariants()).toContain('hvae');
    const m = createModel(BASE) as HierarchicalVae;
    expect(m).toBeInstanceOf(HierarchicalVae);
    expect(m.variant).toBe('hvae');
    expect(m.config.latentDim).toBe(12);
    expect(m.config.likelihood).toBe('bernoulli');
    expect(m.numLevels).toBe(3);
    // Stable dotted names for checkpoints.
    const names = [...m.namedVariables().keys()];
    expect(names).toContain('bottomUp.block0.0.kernel');
    expect(names).toContain('bottomUp.head2.logVar.bias');
    expect(names).toContain('topDown.head0.mu.kernel');
    expect(names).toContain('decoder.out.kernel');
    // BatchNorm (default on) running statistics are saved with the weights.
    expect(names).toContain('bottomUp.block0.1.runningMean');
    expect(names).toContain('topDown.block0.1.runningVar');
    expect(names.some((n) => n.startsWith('topDown.block2'))).toBe(false);
    // The stored config validates again (what a checkpoint relies on).
    const again = createModel(m.config) as HierarchicalVae;
    expect(again.config).toEqual(m.config);
    m.dispose();
    again.dispose();
  });

  it('keeps hiddenDims as the per-level MLP widths with the conv architecture (convChannels are the stem channels)', () => {
    const m = createHvae({ ...BASE, architecture: 'conv', inputShape: [28, 28, 1], convChannels: [4, 8] });
    expect(m.config.hiddenDims).toEqual([48, 24, 12]);
    expect(m.config.convChannels).toEqual([4, 8]);
    m.dispose();
  });

  it('likelihoodScale sets the Gaussian log-variance of p(x | z_1): fixed, or learned per pixel by the decoder', () => {
    const recon = (likelihoodScale: number) => {
      const m = createHvae({ ...BASE, likelihood: 'gaussian', likelihoodScale });
      const v = tf.tidy(() => m.loss({ x }).terms.reconstruction.dataSync()[0]);
      m.dispose();
      return v;
    };
    // Same seed, same draws: only the fixed log-variance differs, and with it -log p(x | z_1).
    expect(recon(-2)).not.toBeCloseTo(recon(0), 1);
    const learned = createHvae({ ...BASE, likelihood: 'gaussian', likelihoodScale: 'learned' });
    const fixed = createHvae({ ...BASE, likelihood: 'gaussian' });
    expect(learned.namedVariables().get('decoder.out.kernel')!.shape[1]).toBe(2 * fixed.namedVariables().get('decoder.out.kernel')!.shape[1]!);
    learned.dispose();
    fixed.dispose();
  });

  it('defaults hiddenDims to 8 x latentDims (the paper 512-256-128-64-32 for 64-32-16-8-4)', () => {
    const m = createHvae({ variant: 'hvae' });
    expect(m.config.latentDims).toEqual([64, 32, 16, 8, 4]);
    expect(m.config.hiddenDims).toEqual([512, 256, 128, 64, 32]);
    m.dispose();
  });

  it.each([
    [{ latentDims: [8] }, /latentDims.*at least 2 levels/],
    [{ hiddenDims: [8, 8] }, /field "hiddenDims" must have one MLP width per level \(3, like latentDims\)/],
    [{ hiddenDims: [8, 8, 8, 8] }, /field "hiddenDims" must have one MLP width per level/],
    [{ latentDim: 5 }, /latentDim.*sum of latentDims \(12\)/],
    [{ blockDepth: 10_000_000 }, /field "blockDepth"/],
    [{ architecture: 'conv' }, /inputShape.*\[height, width, channels\]/],
    [{ likelihood: 'poisson' }, /likelihood.*"bernoulli", "gaussian", "laplace"/],
    [{ latentDims: [4, 2], hiddenDims: [8, 0] }, /field "hiddenDims.1"/],
    // Old names fail naming the field that replaced them.
    [{ hiddenDim: 400 }, /field "hiddenDim" was renamed: use "hiddenDims"/],
    [{ beta: 2 }, /field "beta" was renamed: use "klWeight"/],
    [{ klWarmupSteps: 100 }, /field "klWarmupSteps" was renamed: use "klWeight" \(\{ "type": "linear", "annealSteps": <steps> \}\)/],
    [{ likelihoodOptions: { logScale: 'learned' } }, /field "likelihoodOptions" was renamed: use "likelihoodScale"/],
    [{ klWeight: { type: 'linear' } }, /field "klWeight/],
    [{ klWeight: -1 }, /field "klWeight"/],
    [{ latentDims: [4, -2] }, /latentDims\.1/],
    [{ freeBits: -1 }, /freeBits/],
  ])('rejects a bad config %j with a clear error', (patch, message) => {
    expect(() => createModel({ ...BASE, ...patch })).toThrow(ConfigError);
    expect(() => createModel({ ...BASE, ...patch })).toThrow(message);
  });
});

describe('HierarchicalVae: maths', () => {
  it('per-level KLs in loss() equal the closed form at the drawn latents, and q is the precision-weighted merge', () => {
    const m = createHvae(BASE);
    const state = m.rng.getState();
    const before = tf.memory().numTensors;
    const out = m.loss({ x });
    const terms = Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]]));
    tf.dispose([out.loss, ...Object.values(out.terms)]);
    expect(tf.memory().numTensors).toBe(before);

    // Replay the same draws (same rng state) and read every level's parameters.
    m.rng.setState(state);
    type Level = { mq: Float32Array; lq: Float32Array; mp: Float32Array | null; lp: Float32Array | null; mh: Float32Array; lh: Float32Array };
    const levels: Level[] = [];
    tf.tidy(() => {
      const post = m.encode(x);
      const steps = post.walk((_, q) => q.rsample(m.rng));
      steps.forEach((s, i) => {
        const hat = post.bottomUp[i];
        const p = s.p instanceof DiagonalGaussian ? s.p : null;
        levels.push({
          mq: s.q.loc.dataSync().slice() as Float32Array,
          lq: s.q.logVar.dataSync().slice() as Float32Array,
          mp: p ? (p.loc.dataSync().slice() as Float32Array) : null,
          lp: p ? (p.logVar.dataSync().slice() as Float32Array) : null,
          mh: hat.loc.dataSync().slice() as Float32Array,
          lh: hat.logVar.dataSync().slice() as Float32Array,
        });
      });
    });
    expect(levels).toHaveLength(3);
    expect(levels[2].mp).toBeNull(); // the top level's prior is N(0, I)
    let klSum = 0;
    levels.forEach((l, i) => {
      const kl = klClosedForm(l.mq, l.lq, l.mp, l.lp, 32);
      klSum += kl;
      expect(Math.abs(terms[`kl_${i + 1}`] - kl)).toBeLessThan(1e-4 * Math.max(1, kl));
      expect(kl).toBeGreaterThan(0);
      if (l.mp && l.lp) {
        // q_i = precision-weighted merge of the bottom-up estimate and the top-down prior.
        for (let j = 0; j < l.mq.length; j++) {
          const ph = Math.exp(-l.lh[j]);
          const pp = Math.exp(-l.lp[j]);
          expect(Math.exp(l.lq[j])).toBeCloseTo(1 / (ph + pp), 4);
          expect(l.mq[j]).toBeCloseTo((l.mh[j] * ph + l.mp[j] * pp) / (ph + pp), 4);
        }
      } else {
        expect(Array.from(l.mq)).toEqual(Array.from(l.mh));
      }
    });
    expect(terms.kl).toBeCloseTo(klSum, 3);
    expect(terms.elbo).toBeCloseTo(-(terms.reconstruction + terms.kl), 3);
    m.dispose();
  });

  it('importance log-weights equal log p(x|z1) + log p(z) - log q(z|x) computed via the posterior and prior densities', () => {
    const m = createHvae(BASE);
    const xs = tf.slice(x, 0, 4);
    const state = m.rng.getState();
    const w = tf.tidy(() => m.importanceLogWeights(xs, 1).dataSync().slice());
    m.rng.setState(state);
    const direct = tf.tidy(() => {
      const post = m.encode(xs);
      const z = tf.concat(post.walk((_, q) => q.sample(m.rng)).map((s) => s.z), 1);
      return tf.sub(tf.add(m.decode(z).logProb(xs), m.priorLogProb(z)), post.logProb(z)).dataSync().slice();
    });
    expect(w).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(w[i]).toBeCloseTo(direct[i], 2);
    // E_q[log w] is the ELBO: the mean over many draws matches loss()'s elbo term within Monte-Carlo error.
    const meanW = tf.tidy(() => tf.mean(m.importanceLogWeights(xs, 200)).dataSync()[0]);
    const elbos: number[] = [];
    for (let r = 0; r < 50; r++) {
      const out = m.loss({ x: xs });
      elbos.push(out.terms.elbo.dataSync()[0]);
      tf.dispose([out.loss, ...Object.values(out.terms)]);
    }
    const meanElbo = elbos.reduce((a, b) => a + b, 0) / elbos.length;
    expect(Math.abs(meanW - meanElbo)).toBeLessThan(0.01 * Math.abs(meanElbo));
    // The k draws take one top-down walk (one conditional prior per level below the top), which also gives log q and log p.
    const conditional = m.topDown.conditional.bind(m.topDown);
    let calls = 0;
    m.topDown.conditional = (level, zAbove) => {
      calls++;
      return conditional(level, zAbove);
    };
    tf.dispose(m.importanceLogWeights(xs, 5));
    expect(calls).toBe(m.numLevels - 1);
    xs.dispose();
    m.dispose();
  });

  it('a linear klWeight schedule ramps the weight, a context klWeight overrides it, free bits floor each level', () => {
    const m = createHvae({ ...BASE, klWeight: { type: 'linear', annealSteps: 100, weight: 2 }, freeBits: 50 });
    expect(m.usesKlWeight).toBe(true);
    expect(m.klWeightFor({ step: 0 })).toBe(0);
    expect(m.klWeightFor({ step: 25 })).toBeCloseTo(0.5, 12);
    expect(m.klWeightFor({ step: 1000 })).toBe(2);
    expect(m.klWeightFor({})).toBe(2);
    expect(m.klWeightFor({ step: 10, klWeight: 0.3 })).toBe(0.3);
    const out = m.loss({ x }, { step: 50 });
    const t = Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]]));
    const lossValue = out.loss.dataSync()[0];
    tf.dispose([out.loss, ...Object.values(out.terms)]);
    expect(t.klWeight).toBe(1);
    expect(t).not.toHaveProperty('beta');
    const floored = [1, 2, 3].reduce((s, i) => s + Math.max(50, t[`kl_${i}`]), 0);
    expect(lossValue).toBeCloseTo(t.reconstruction + 1 * floored, 2);
    m.dispose();
  });

  it("free bits per dimension floor each latent dimension's batch-mean KL", () => {
    const lambda = 0.5;
    const m = createHvae({ ...BASE, freeBits: lambda, freeBitsMode: 'dimension' });
    const state = m.rng.getState();
    const out = m.loss({ x }, { klWeight: 1 });
    const lossValue = out.loss.dataSync()[0];
    const rec = out.terms.reconstruction.dataSync()[0];
    tf.dispose([out.loss, ...Object.values(out.terms)]);
    m.rng.setState(state);
    // Replay the same draws and floor each dimension's batch-mean KL by hand.
    const expected = tf.tidy(() => {
      const pass = m.forwardPass(x);
      let total = 0;
      for (const k of pass.klPerDim) for (const v of tf.mean(k, 0).dataSync()) total += Math.max(lambda, v);
      return total;
    });
    expect(lossValue).toBeCloseTo(rec + expected, 2);
    m.dispose();
  });
});

describe('HierarchicalVae: shapes, sampling, encode/decode', () => {
  it('gives the right shape at every level and for every public method, leaking nothing', () => {
    const m = createHvae(BASE);
    const before = tf.memory().numTensors;
    const shapes = tf.tidy(() => {
      const post = m.encode(x);
      return {
        bottomUp: post.bottomUp.map((g) => g.shape),
        levels: post.levels().map((g) => [g.loc.shape, g.logVar.shape]),
        mean: post.mean().shape,
        rsample: post.rsample(m.rng).shape,
        logProb: post.logProb(post.sample(m.rng)).shape,
        decodeAll: m.decode(post.mean()).mean().shape,
        decodeZ1: m.decode(tf.zeros([5, 6])).mean().shape,
        reconstruct: m.reconstruct(x).shape,
        sample: m.sample(7).shape,
        sampleDraw: m.sample(3, { mode: 'sample' }).shape,
        latents: m.sampleLatents(4).shape,
        prior: m.priorLogProb(m.sampleLatents(4)).shape,
        interpolate: m.interpolate(tf.slice(x, 0, 1), tf.slice(x, 1, 1), 5).shape,
        weights: m.importanceLogWeights(tf.slice(x, 0, 3), 4).shape,
      };
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(shapes.bottomUp).toEqual([[32, 6], [32, 4], [32, 2]]);
    expect(shapes.levels).toEqual([[[32, 6], [32, 6]], [[32, 4], [32, 4]], [[32, 2], [32, 2]]]);
    expect(shapes.mean).toEqual([32, 12]);
    expect(shapes.rsample).toEqual([32, 12]);
    expect(shapes.logProb).toEqual([32]);
    expect(shapes.decodeAll).toEqual([32, 784]);
    expect(shapes.decodeZ1).toEqual([5, 784]);
    expect(shapes.reconstruct).toEqual([32, 784]);
    expect(shapes.sample).toEqual([7, 784]);
    expect(shapes.sampleDraw).toEqual([3, 784]);
    expect(shapes.latents).toEqual([4, 12]);
    expect(shapes.prior).toEqual([4]);
    expect(shapes.interpolate).toEqual([5, 784]);
    expect(shapes.weights).toEqual([4, 3]);
    expect(() => tf.tidy(() => void m.decode(tf.zeros([2, 5])))).toThrow(/z must be \[batch, 12\] \(all levels\) or \[batch, 6\]/);
    expect(() => tf.tidy(() => void m.encode(tf.zeros([2, 28, 28])))).toThrow(/x must be \[batch, 784\]/);
    expect(() => m.sample(0)).toThrow(/positive integer/);
    expect(() => m.sample(2, { temperature: -1 })).toThrow(/temperature/);
    m.dispose();
  });

  it('temperature scales the prior noise at every level: T = 0 gives the prior mean path', () => {
    const m = createHvae(BASE);
    const [a, b, top] = tf.tidy(() => {
      const z0 = m.sampleLatents(3, 0);
      const z1 = m.sampleLatents(3, 0);
      return [z0.dataSync().slice(), z1.dataSync().slice(), tf.slice(z0, [0, 10], [-1, 2]).dataSync().slice()];
    });
    expect(Array.from(a, (v) => v + 0)).toEqual(Array.from(b, (v) => v + 0)); // +0 folds -0 into 0
    expect(Array.from(top, (v) => v + 0)).toEqual([0, 0, 0, 0, 0, 0]);
    // Spread of the top level grows with the temperature.
    const spread = (t: number) => tf.tidy(() => tf.moments(tf.slice(m.sampleLatents(2000, t), [0, 10], [-1, 2])).variance.dataSync()[0]);
    expect(spread(0.5)).toBeCloseTo(0.25, 1);
    expect(spread(1)).toBeCloseTo(1, 1);
    m.dispose();
  });
});

describe('HierarchicalVae: training, determinism, save/load, leaks', () => {
  it('same seed gives the same numbers; a different seed does not', () => {
    const values = (seed: number) => {
      const m = createHvae({ ...BASE, seed });
      const out = m.loss({ x });
      const v = [out.loss.dataSync()[0], ...tf.tidy(() => Array.from(m.sample(2).dataSync().slice(0, 5)))];
      tf.dispose([out.loss, ...Object.values(out.terms)]);
      m.dispose();
      return v;
    };
    expect(values(9)).toEqual(values(9));
    expect(values(9)[0]).not.toBe(values(10)[0]);
  });

  it('the loss goes down on a fixed MNIST batch, with no tensor leak per training step', () => {
    const m = createHvae(BASE);
    const opt = tf.train.adam(3e-3);
    const step = () => {
      const cost = opt.minimize(() => m.loss({ x }).loss, true, m.parameters()) as tf.Scalar;
      const v = cost.dataSync()[0];
      cost.dispose();
      return v;
    };
    const first = step(); // creates the optimizer's slots
    const before = tf.memory().numTensors;
    const losses = [first];
    for (let i = 0; i < 40; i++) losses.push(step());
    expect(tf.memory().numTensors).toBe(before);
    const head = (losses[0] + losses[1] + losses[2]) / 3;
    const tail = (losses.at(-1)! + losses.at(-2)! + losses.at(-3)!) / 3;
    expect(tail).toBeLessThan(head - 50);
    opt.dispose();
    m.dispose();
  });

  it('copying namedVariables into a fresh model from the same config gives identical outputs', () => {
    const a = createHvae(BASE);
    // Move a's weights off their initial values first.
    const opt = tf.train.adam(1e-2);
    for (let i = 0; i < 3; i++) opt.minimize(() => a.loss({ x }).loss, true, a.parameters())?.dispose();
    opt.dispose();
    const b = createHvae({ ...a.config, seed: a.config.seed + 1 });
    const src = a.namedVariables();
    const dst = b.namedVariables();
    expect([...dst.keys()]).toEqual([...src.keys()]);
    for (const [name, v] of src) dst.get(name)!.assign(v);
    b.rng.setState(a.rng.getState());
    const outA = tf.tidy(() => [a.reconstruct(x).dataSync().slice(), a.sample(4).dataSync().slice()]);
    const outB = tf.tidy(() => [b.reconstruct(x).dataSync().slice(), b.sample(4).dataSync().slice()]);
    expect(Array.from(outB[0])).toEqual(Array.from(outA[0]));
    expect(Array.from(outB[1])).toEqual(Array.from(outA[1]));
    a.dispose();
    b.dispose();
  });

  it('active units: counted per level; a level whose posterior ignores x is reported collapsed', () => {
    const m = createHvae(BASE);
    const before = tf.memory().numTensors;
    const r = activeUnitsPerLevel(m, x, { samples: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.perLevel).toHaveLength(3);
    expect(r.variances.map((v) => v.length)).toEqual([6, 4, 2]);
    expect(r.total).toBe(r.perLevel.reduce((a, b) => a + b, 0));
    // The top level's statistic is the variance over x of its exact posterior mean.
    const direct = tf.tidy(() => tf.moments(m.encode(x).bottomUp[2].loc, 0).variance.dataSync().slice());
    for (let j = 0; j < 2; j++) expect(r.variances[2][j]).toBeCloseTo(direct[j], 5);
    expect(r.perLevel[2]).toBe(Array.from(direct).filter((v) => v > 0.01).length);
    // Zero the top head's mean weights: q(z_L | x) no longer depends on x.
    const k = m.namedVariables().get('bottomUp.head2.mu.kernel')!;
    tf.tidy(() => k.assign(tf.zerosLike(k)));
    const collapsed = activeUnitsPerLevel(m, x, { samples: 4 });
    expect(collapsed.perLevel[2]).toBe(0);
    expect(Math.max(...collapsed.variances[2])).toBeLessThan(1e-10);
    m.dispose();
  });
});

describe('HierarchicalVae: BatchNorm modes', () => {
  it('in eval mode an example is encoded the same alone or in a batch; in train mode the batch statistics are used', () => {
    const m = createHvae(BASE);
    const opt = tf.train.adam(1e-2);
    // A few steps move the running statistics away from their initial values.
    for (let i = 0; i < 3; i++) opt.minimize(() => m.loss({ x }).loss, true, m.parameters())?.dispose();
    opt.dispose();
    const rowOf = (batch: tf.Tensor) => tf.tidy(() => tf.slice(m.encode(batch).mean(), 0, 1).dataSync().slice());
    const x2 = tf.slice(x, 0, 2);
    const x8 = tf.slice(x, 0, 8);
    m.eval();
    const alone = Array.from(rowOf(x2));
    const inBatch = Array.from(rowOf(x8));
    alone.forEach((v, i) => expect(v).toBeCloseTo(inBatch[i], 5));
    m.train();
    const trainAlone = Array.from(rowOf(x2));
    const trainBatch = Array.from(rowOf(x8));
    expect(trainAlone.some((v, i) => Math.abs(v - trainBatch[i]) > 1e-3)).toBe(true);
    tf.dispose([x2, x8]);
    m.dispose();
  });
});

describe('HierarchicalVae: conv variant', () => {
  it('builds, gives per-level shapes, finite loss and a training step on 28x28x1 input', () => {
    const m = createHvae({ ...BASE, architecture: 'conv', inputShape: [28, 28, 1], convChannels: [4, 8] });
    const xi = tf.reshape(tf.slice(x, 0, 4), [4, 28, 28, 1]);
    const before = tf.memory().numTensors;
    const r = tf.tidy(() => ({
      levels: m.encode(xi).levels().map((g) => g.loc.shape),
      recon: m.reconstruct(xi).shape,
      sample: m.sample(2).shape,
    }));
    expect(r.levels).toEqual([[4, 6], [4, 4], [4, 2]]);
    expect(r.recon).toEqual([4, 28, 28, 1]);
    expect(r.sample).toEqual([2, 28, 28, 1]);
    const opt = tf.train.adam(1e-3);
    const l0 = opt.minimize(() => m.loss({ x: xi }).loss, true, m.parameters()) as tf.Scalar;
    expect(Number.isFinite(l0.dataSync()[0])).toBe(true);
    l0.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    xi.dispose();
    m.dispose();
  });
});
