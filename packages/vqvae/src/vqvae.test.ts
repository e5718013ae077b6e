import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Batch, type BatchSource, ConfigError, createModel, disposeBatch, fit, listVariants, loadModel, type LossOutput, saveModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { createVqVae, type VqVaeConfigInput, VqVae } from './index';
import { adamSteps, loadMnist, mnistBatch } from './test-helpers';

/** A small model so that the suite runs in seconds on tfjs-backend-cpu. */
const SMALL: VqVaeConfigInput = {
  variant: 'vqvae',
  seed: 7,
  inputShape: [28, 28, 1],
  hiddenDims: [64],
  latentDim: 4,
  codeGrid: [3, 3],
  numCodes: 16,
  deadCodeRestart: { every: 5, threshold: 0.5 },
  prior: { channels: 8, layers: 2, kernelSize: 3, outputHidden: 16 },
};

function build(overrides: Partial<VqVaeConfigInput> = {}): VqVae {
  return createModel({ ...SMALL, ...overrides }) as VqVae;
}

let batch: Batch;
beforeAll(() => {
  batch = mnistBatch(32);
});
afterAll(() => disposeBatch(batch));

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

describe('config and construction', () => {
  it('builds from config via createModel with defaults filled in', () => {
    expect(listVariants()).toContain('vqvae');
    const m = build();
    expect(m).toBeInstanceOf(VqVae);
    expect(m.variant).toBe('vqvae');
    expect(m.config.commitmentWeight).toBe(0.25);
    expect(m.usesKlWeight).toBe(false);
    expect(m.config.codebookUpdate).toBe('ema');
    expect(m.config.emaDecay).toBe(0.99);
    const names = [...m.namedVariables().keys()];
    for (const n of ['encoder.0.kernel', 'quantizer.codebook', 'quantizer.usage', 'decoder.out.kernel', 'prior.embedding', 'prior.layers.0.vertical.kernel', 'prior.out2.bias']) {
      expect(names).toContain(n);
    }
    m.dispose();
  });

  it('rejects bad configs with errors naming the field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ numCodes: 1 }, /field "numCodes" must be at least 2/],
      [{ codebookUpdate: 'kmeans' }, /field "codebookUpdate" must be one of "gradient", "ema"/],
      [{ codeGrid: [3] }, /field "codeGrid/],
      [{ prior: { kernelSize: 4 } }, /field "prior.kernelSize" must be odd/],
      [{ emaDecay: 1 }, /field "emaDecay"/],
      [{ codebookSize: 8 }, /unknown field\(s\) "codebookSize"/],
      [{ inputShape: undefined }, /field "inputShape"/],
      [{ hiddenDims: [64, 0] }, /field "hiddenDims.1"/],
      [{ batchNorm: true }, /unknown field\(s\) "batchNorm"/],
      // Old names fail naming the field that replaced them.
      [{ beta: 0.25 }, /field "beta" was renamed: use "commitmentWeight"/],
      [{ likelihoodOptions: { logScale: 0 } }, /field "likelihoodOptions" was renamed: use "likelihoodScale"/],
      [{ hiddenDim: 64 }, /field "hiddenDim" was renamed: use "hiddenDims"/],
      // A VQ-VAE has no KL term, so no KL weight.
      [{ klWeight: 1 }, /unknown field\(s\) "klWeight"/],
    ];
    for (const [patch, message] of bad) {
      expect(() => createModel({ ...SMALL, ...patch }), JSON.stringify(patch)).toThrow(ConfigError);
      expect(() => createModel({ ...SMALL, ...patch }), JSON.stringify(patch)).toThrow(message);
    }
  });

  it('createVqVae validates with the same schema and errors as createModel', () => {
    const direct = createVqVae(SMALL);
    const viaRegistry = build();
    expect(direct.config).toEqual(viaRegistry.config);
    direct.dispose();
    viaRegistry.dispose();
    for (const patch of [{ numCodes: 1 }, { hiddenDims: [] }, { prior: { kernelSize: 4 } }]) {
      let viaModel: unknown;
      try {
        createModel({ ...SMALL, ...patch });
      } catch (e) {
        viaModel = e;
      }
      expect(() => createVqVae({ ...SMALL, ...patch })).toThrow(ConfigError);
      expect(() => createVqVae({ ...SMALL, ...patch })).toThrow((viaModel as Error).message);
    }
  });

  it('parameters() follows the phase; namedVariables() always holds everything', () => {
    const m = build();
    const ae = m.parameters().map((v) => v.name);
    const all = m.namedVariables().size;
    m.setPhase('prior');
    const prior = m.parameters();
    expect(prior.length).toBeGreaterThan(0);
    expect(prior.every((v) => !ae.includes(v.name))).toBe(true);
    expect(m.namedVariables().size).toBe(all);
    expect(() => m.setPhase('decoder' as never)).toThrow(/phase must be 'autoencoder' or 'prior'/);
    m.dispose();
  });
});

describe('encode / decode', () => {
  it('encode gives code indices; decode accepts them; reconstruct = decode(encode)', () => {
    const m = build();
    const x = tf.slice(batch.x, 0, 4);
    tf.tidy(() => {
      const idx = m.encodeIndices(x);
      expect(idx.shape).toEqual([4, 3, 3]);
      expect(idx.dtype).toBe('int32');
      const q = m.encode(x);
      expect(Array.from(q.mode().dataSync())).toEqual(Array.from(idx.dataSync()));
      expect(Array.from(q.sample(m.rng).dataSync())).toEqual(Array.from(idx.dataSync()));
      const fromIdx = m.decode(idx).mean();
      expect(fromIdx.shape).toEqual([4, 28, 28, 1]);
      const rec = m.reconstruct(x);
      expect(tf.max(tf.abs(tf.sub(rec, fromIdx))).dataSync()[0]).toBe(0);
      // Code vectors decode like their indices.
      const vectors = m.quantizer.lookup(idx);
      expect(tf.max(tf.abs(tf.sub(m.decode(vectors).mean(), fromIdx))).dataSync()[0]).toBe(0);
      expect(() => m.decode(tf.zeros([2, 4, 4], 'int32'))).toThrow(/decode takes code indices \[batch, 3, 3\] int32/);
      expect(() => m.encodeIndices(tf.zeros([2, 784]))).toThrow(/x must be \[batch, 28, 28, 1\]/);
      expect(m.interpolate(tf.slice(x, 0, 1), tf.slice(x, 1, 1), 5).shape).toEqual([5, 28, 28, 1]);
    });
    x.dispose();
    m.dispose();
  });
});

describe('training', () => {
  it('autoencoder loss (EMA codebook, the default) goes down over a few steps on a fixed MNIST batch, with named terms', () => {
    const m = build();
    const terms = tf.tidy(() => {
      const out = m.eval().loss(batch);
      return Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]]));
    });
    m.train();
    expect(Object.keys(terms).sort()).toEqual(['codesUsed', 'commitment', 'perplexity', 'reconstruction']);
    // Untrained decoder: logits near 0, so about 784 ln 2 = 543.4 nats per example.
    expect(terms.reconstruction).toBeGreaterThan(500);
    expect(terms.perplexity).toBeGreaterThanOrEqual(1);
    expect(terms.perplexity).toBeLessThanOrEqual(16);
    expect(m.parameters().map((v) => v.name)).not.toContain(m.quantizer.codebook.name);
    const start = m.quantizer.codebook.dataSync().slice();
    const losses = adamSteps(m, batch, 20, 1e-3);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.9);
    // The codebook moved by the EMA (and the data-dependent initialisation), not by Adam.
    expect(m.quantizer.codebook.dataSync().some((v, i) => Math.abs(v - start[i]) > 1e-4)).toBe(true);
    expect(m.quantizer.isInitialized).toBe(true);
    m.dispose();
  });

  it('the loss is reconstruction + commitmentWeight * commitment (+ codebook in gradient mode), with no KL term or klWeight', () => {
    for (const [codebookUpdate, commitmentWeight] of [['ema', 2], ['gradient', 0.5]] as const) {
      const m = build({ codebookUpdate, commitmentWeight }).eval();
      const { loss, t } = tf.tidy(() => {
        const out = m.loss(batch, { klWeight: 7 });
        return { loss: out.loss.dataSync()[0], t: Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]])) };
      });
      expect(t).not.toHaveProperty('kl');
      expect(t).not.toHaveProperty('klWeight');
      expect(loss).toBeCloseTo(t.reconstruction + commitmentWeight * t.commitment + (t.codebook ?? 0), 3);
      m.dispose();
    }
  });

  it('likelihoodScale reaches the decoder: learned doubles its outputs', () => {
    const learned = build({ likelihood: 'gaussian', likelihoodScale: 'learned' });
    const fixed = build({ likelihood: 'gaussian' });
    expect(learned.namedVariables().get('decoder.out.kernel')!.shape[1]).toBe(2 * fixed.namedVariables().get('decoder.out.kernel')!.shape[1]!);
    learned.dispose();
    fixed.dispose();
  });

  it('gradient mode: the codebook is a parameter, the codebook term is reported, small steps lower the loss', () => {
    const m = build({ codebookUpdate: 'gradient' });
    expect(m.parameters().map((v) => v.name)).toContain(m.quantizer.codebook.name);
    const keys = tf.tidy(() => Object.keys(m.loss(batch).terms).sort());
    expect(keys).toEqual(['codebook', 'codesUsed', 'commitment', 'perplexity', 'reconstruction']);
    const losses = adamSteps(m, batch, 10, 3e-4);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    m.dispose();
  });

  it('training-mode loss restarts dead codes at this batch\'s encoder outputs on schedule; eval mode changes no state', () => {
    const m = build({ deadCodeRestart: { every: 2, threshold: 1e9 } }); // every code counts as dead
    const x = tf.slice(batch.x, 0, 8);
    const one = { x };
    const codebookNow = () => m.quantizer.codebook.arraySync() as number[][];
    const dispose = (o: LossOutput) => tf.dispose([o.loss, ...Object.values(o.terms)]);
    m.eval();
    const frozen = codebookNow();
    dispose(m.loss(one, { step: 1 }));
    expect(codebookNow()).toEqual(frozen);
    m.train();
    dispose(m.loss(one, { step: 0 })); // data init only: (0 + 1) % 2 != 0
    const afterInit = codebookNow();
    dispose(m.loss(one, { step: 1 })); // (1 + 1) % 2 == 0: restart all 16 codes
    const restarted = codebookNow();
    expect(restarted).not.toEqual(afterInit);
    const ze = tf.tidy(() => tf.reshape(m.encodeContinuous(x), [-1, 4]).arraySync() as number[][]);
    for (const code of restarted) expect(ze.some((row) => row.every((v, i) => Math.abs(v - code[i]) < 1e-5))).toBe(true);
    x.dispose();
    m.dispose();
  });

  it('prior phase: NLL of the encoded batch goes down and only the prior changes', () => {
    const m = build();
    adamSteps(m, batch, 3, 3e-3);
    m.setPhase('prior');
    const codebook = m.quantizer.codebook.dataSync().slice();
    const first = tf.tidy(() => m.loss(batch).terms.priorNll.dataSync()[0]);
    // A fresh PixelCNN is near uniform: about log K nats per code.
    expect(first / m.positions).toBeGreaterThan(Math.log(16) * 0.7);
    const losses = adamSteps(m, batch, 15, 1e-2);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.9);
    expect(Array.from(m.quantizer.codebook.dataSync())).toEqual(Array.from(codebook));
    m.dispose();
  });
});

describe('reproducibility and checkpoints', () => {
  it('same seed, same numbers (loss after training, samples)', () => {
    const run = () => {
      const m = build();
      const losses = adamSteps(m, batch, 3, 3e-3);
      const s = m.sample(2);
      const values = Array.from(s.dataSync());
      s.dispose();
      m.dispose();
      return { losses, values };
    };
    const a = run();
    const b = run();
    expect(a.losses).toEqual(b.losses);
    expect(a.values).toEqual(b.values);
  });

  it('copying namedVariables and the rng state into a fresh model gives identical outputs', () => {
    const m = build();
    adamSteps(m, batch, 3, 3e-3);
    m.setPhase('prior');
    adamSteps(m, batch, 2, 3e-3);
    m.eval();
    const copy = build();
    copy.eval();
    const src = m.namedVariables();
    for (const [name, v] of copy.namedVariables()) v.assign(src.get(name)!);
    copy.rng.setState(m.rng.getState());
    const x = tf.slice(batch.x, 0, 4);
    const [r1, r2] = [m.reconstruct(x), copy.reconstruct(x)];
    const [s1, s2] = [m.sample(3), copy.sample(3)];
    const [i1, i2] = [m.encodeIndices(x), copy.encodeIndices(x)];
    expect(Array.from(r2.dataSync())).toEqual(Array.from(r1.dataSync()));
    expect(Array.from(s2.dataSync())).toEqual(Array.from(s1.dataSync()));
    expect(Array.from(i2.dataSync())).toEqual(Array.from(i1.dataSync()));
    tf.dispose([x, r1, r2, s1, s2, i1, i2]);
    m.dispose();
    copy.dispose();
  });
});

/** A fixed in-memory source of MNIST digits (tensors made lazily; the trainer disposes them). */
function mnistSource(count: number, batchSize: number): BatchSource {
  const { images } = loadMnist(count, 1000);
  return {
    size: count,
    batchSize,
    *batches() {
      for (let i = 0; i < count; i += batchSize) {
        const n = Math.min(batchSize, count - i);
        yield { x: tf.tensor4d(images.subarray(i * 784, (i + n) * 784), [n, 28, 28, 1]) };
      }
    },
  };
}

describe('with the core trainer and checkpoints', () => {
  it('fit refuses a KL weight (a VQ-VAE has no KL term), naming klWeight and the variant', async () => {
    const m = build();
    const source = mnistSource(8, 8);
    await expect(fit(m, source, { epochs: 1, klWeight: 1, progress: false })).rejects.toThrow(/"klWeight".*"vqvae"/);
    m.dispose();
  });

  it('fits the autoencoder then the prior with core fit, and saveModel/loadModel keeps codebook and prior', async () => {
    const m = build();
    const source = mnistSource(96, 32);
    const ae = await fit(m, source, { epochs: 2, learningRate: 2e-3, progress: false });
    expect(ae.history).toHaveLength(2);
    // Per-epoch diagnostics come with the terms.
    for (const k of ['reconstruction', 'commitment', 'perplexity', 'codesUsed']) expect(Number.isFinite(ae.history[1].train[k])).toBe(true);
    expect(ae.history[1].train.loss).toBeLessThan(ae.history[0].train.loss);
    const stats = m.evaluateCodebook(source);
    expect(stats.perplexity).toBeGreaterThan(1);
    expect(stats.codesUsed).toBeGreaterThan(0);
    expect(stats.counts.reduce((a, b) => a + b, 0)).toBe(96 * m.positions);
    m.setPhase('prior');
    const pr = await fit(m, source, { epochs: 2, learningRate: 5e-3, progress: false });
    expect(pr.history[1].train.priorNll).toBeLessThan(pr.history[0].train.priorNll);
    m.eval();
    const dir = mkdtempSync(join(tmpdir(), 'elbo-vqvae-'));
    try {
      await saveModel(m, dir);
      const loaded = (await loadModel(dir)) as VqVae;
      loaded.eval();
      loaded.rng.setState(m.rng.getState());
      expect(loaded).toBeInstanceOf(VqVae);
      for (const [name, v] of m.namedVariables()) {
        expect(Array.from(loaded.namedVariables().get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
      }
      const x = tf.slice(batch.x, 0, 4);
      const outs = [m.reconstruct(x), loaded.reconstruct(x), m.sample(3), loaded.sample(3)];
      expect(Array.from(outs[1].dataSync())).toEqual(Array.from(outs[0].dataSync()));
      expect(Array.from(outs[3].dataSync())).toEqual(Array.from(outs[2].dataSync()));
      tf.dispose([x, ...outs]);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    m.dispose();
  });
});

describe('memory', () => {
  it('leaks no tensors in loss, a train step, sampling and evaluation', () => {
    const m = build({ codebookUpdate: 'ema', deadCodeRestart: { every: 1, threshold: 100 } });
    const opt = tf.train.adam(1e-3);
    const step = () => {
      const l = opt.minimize(() => m.loss(batch).loss, true, m.parameters());
      l?.dispose();
    };
    step(); // creates Adam's slot variables
    const n0 = tf.memory().numTensors;
    const disposeLoss = (out: LossOutput) => tf.dispose([out.loss, ...Object.values(out.terms)]);
    disposeLoss(m.loss(batch));
    step(); // every: 1 with a high threshold: dead-code restarts run in this step
    const s = m.sample(2);
    s.dispose();
    const x = tf.slice(batch.x, 0, 2);
    tf.dispose([m.reconstruct(x), m.encodeIndices(x), tf.tidy(() => m.interpolate(tf.slice(x, 0, 1), tf.slice(x, 1, 1), 3))]);
    m.codebookStats(x);
    m.evaluateCodebook({ size: 2, batchSize: 2, batches: () => [{ x: x.clone() }] });
    x.dispose();
    m.setPhase('prior');
    disposeLoss(m.loss(batch));
    expect(tf.memory().numTensors).toBe(n0);
    opt.dispose();
    m.dispose();
  });
});
