import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@elbo/core';
import { DSPRITES_SIZE } from '@elbo/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors';
import { parseFlags } from '../flags';
import { buildModel } from '../train-run';
import { type Budget, LADDER_EPOCHS, PROTOCOLS } from './protocols';
import { ablationText, reproduceOptions, runFolder, seedConfig } from './run';

beforeAll(async () => {
  await useBackend('cpu');
});

// Full MNIST at batch 20: 3,000 steps per epoch.
const burdaBudget: Budget = { epochs: 3280, stepsPerEpoch: 3000, trainCount: 60000 };

/** Dense layer parameters: weights and biases. */
const dense = (i: number, o: number) => i * o + o;

describe('Burda et al. protocols', () => {
  it('burda-vae builds 784-200-200 tanh, 50 latents, Bernoulli, no batch norm, with the hand-counted parameters', async () => {
    const p = PROTOCOLS['burda-vae'];
    const model = await buildModel(p.config(3, burdaBudget, p.weights));
    try {
      const c = model.config as unknown as Record<string, unknown>;
      expect(c).toMatchObject({ variant: 'vae', architecture: 'mlp', inputShape: [784], hiddenDims: [200, 200], activation: 'tanh', latentDim: 50, likelihood: 'bernoulli', batchNorm: false, iwaeSamples: 1, klWeight: 1, seed: 3 });
      // Encoder 784-200-200 and the mean and log-variance heads; decoder 50-200-200-784.
      const encoder = dense(784, 200) + dense(200, 200) + 2 * dense(200, 50);
      const decoder = dense(50, 200) + dense(200, 200) + dense(200, 784);
      expect(encoder + decoder).toBe(425_284);
      expect(model.numParameters()).toBe(encoder + decoder);
    } finally {
      model.dispose();
    }
    expect(p).toMatchObject({ batchSize: 20, adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-4 }, fullEpochs: 3280, evaluation: { kind: 'nll', samples: 5000 }, paper: { value: 86.76 }, pytorch: true });
    expect(p.source).toMatch(/Burda.*Importance Weighted Autoencoders.*2016/);
    const lr = p.learningRate(burdaBudget) as (step: number) => number;
    expect(lr(2999)).toBe(1e-3);
    expect(lr(3000)).toBeCloseTo(1e-3 * 10 ** (-1 / 7), 15);
  });

  it('burda-iwae-k5 and -k50 are the same model trained on the IWAE bound', () => {
    for (const [name, k, paper] of [['burda-iwae-k5', 5, 85.54], ['burda-iwae-k50', 50, 84.78]] as const) {
      const p = PROTOCOLS[name];
      const base = PROTOCOLS['burda-vae'].config(0, burdaBudget, {});
      expect(p.config(0, burdaBudget, {})).toEqual({ ...base, iwaeSamples: k });
      expect(p.paper!.value).toBe(paper);
    }
  });
});

describe('ladder protocol', () => {
  const steps = Math.ceil(60000 / 256);
  const budget = (epochs: number): Budget => ({ epochs, stepsPerEpoch: steps, trainCount: 60000 });

  it('builds the hvae of Sønderby et al. with the warm-up over the first 200 of 2000 epochs', async () => {
    const p = PROTOCOLS.ladder;
    expect(p).toMatchObject({ batchSize: 256, fullEpochs: 2000, paper: { value: 81.74 }, evaluation: { kind: 'nll', samples: 5000 } });
    expect(p.learningRate(budget(2000))).toBe(0.002);
    const model = await buildModel(p.config(0, budget(LADDER_EPOCHS), {}));
    try {
      expect(model.config).toMatchObject({ variant: 'hvae', latentDims: [64, 32, 16, 8, 4], hiddenDims: [512, 256, 128, 64, 32], blockDepth: 2, batchNorm: true, activation: 'leakyRelu', likelihood: 'bernoulli' });
      expect((model.config as unknown as { klWeight: unknown }).klWeight).toEqual({ type: 'linear', annealSteps: 200 * steps, weight: 1 });
    } finally {
      model.dispose();
    }
    expect(p.budgetNote(budget(2000))).toMatch(/first 200 epochs/);
  });

  it('scales the warm-up to the first 10% of a shorter run and says so', () => {
    const p = PROTOCOLS.ladder;
    const c = p.config(0, budget(100), {}) as { klWeight: { annealSteps: number } };
    expect(c.klWeight.annealSteps).toBe(10 * steps);
    expect(p.budgetNote(budget(100))).toMatch(/first 10% of the run: 2350 steps \(10\.0 of 100 epochs; the paper: 200 of 2,000\)/);
    expect((p.config(0, budget(1), {}) as { klWeight: { annealSteps: number } }).klWeight.annealSteps).toBe(Math.round(0.1 * steps));
  });

  it('has a one-layer baseline trained exactly as the ladder: its bottom level alone, the same data, optimiser and warm-up', async () => {
    const one = PROTOCOLS['ladder-1layer'];
    const lad = PROTOCOLS.ladder;
    expect(one.paper).toBeUndefined();
    expect({ batchSize: one.batchSize, adam: one.adam, evaluation: one.evaluation, fullEpochs: one.fullEpochs }).toEqual({ batchSize: lad.batchSize, adam: lad.adam, evaluation: lad.evaluation, fullEpochs: lad.fullEpochs });
    expect(one.learningRate(budget(20))).toBe(lad.learningRate(budget(20)));
    const c = one.config(3, budget(20), {}) as { klWeight: unknown; seed: number };
    expect(c.klWeight).toEqual((lad.config(3, budget(20), {}) as { klWeight: unknown }).klWeight);
    const model = await buildModel(c);
    try {
      expect(model.config).toMatchObject({ variant: 'vae', hiddenDims: [512, 512], latentDim: 64, activation: 'leakyRelu', likelihood: 'bernoulli', seed: 3 });
      // 784-512-512 encoder with two 64-unit heads, 64-512-512-784 decoder.
      const dense = (i: number, o: number) => i * o + o;
      const expected = dense(784, 512) + dense(512, 512) + 2 * dense(512, 64) + dense(64, 512) + dense(512, 512) + dense(512, 784);
      expect(model.numParameters()).toBe(expected);
    } finally {
      model.dispose();
    }
  });
});

describe('dSprites protocols', () => {
  const budget: Budget = { epochs: 1, steps: 10, stepsPerEpoch: 11520, trainCount: DSPRITES_SIZE };

  it('beta-VAE: conv 32-32-64-64 at 64x64, 10 latents, Bernoulli, KL weight 4 by default', async () => {
    const p = PROTOCOLS['beta-vae-dsprites'];
    expect(p).toMatchObject({ batchSize: 64, fullSteps: 300_000, adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, evaluation: { kind: 'disentanglement', migPoints: 10000, sapTrain: 10000, sapTest: 5000 } });
    expect(p.learningRate(budget)).toBe(1e-4);
    const model = await buildModel(p.config(0, budget, p.weights));
    try {
      expect(model.config).toMatchObject({ variant: 'vae', architecture: 'conv', inputShape: [64, 64, 1], convChannels: [32, 32, 64, 64], latentDim: 10, likelihood: 'bernoulli', klWeight: 4, batchNorm: false });
    } finally {
      model.dispose();
    }
    expect(p.config(0, budget, { klWeight: 16 })).toMatchObject({ klWeight: 16 });
  });

  it('beta-TCVAE: the same network, total-correlation weight 6 by default, dataset size of the full grid', async () => {
    const p = PROTOCOLS['beta-tcvae-dsprites'];
    const model = await buildModel(p.config(0, budget, p.weights));
    try {
      expect(model.config).toMatchObject({ variant: 'tcvae', architecture: 'conv', convChannels: [32, 32, 64, 64], latentDim: 10, tcWeight: 6, miWeight: 1, dimKlWeight: 1, datasetSize: 737_280 });
    } finally {
      model.dispose();
    }
  });

  it('builds no tensor it does not free', async () => {
    const before = tf.memory().numTensors;
    for (const p of Object.values(PROTOCOLS)) (await buildModel(p.config(0, { ...budget, epochs: 10 }, p.weights))).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('reproduce flags', () => {
  const options = (argv: string[]) => {
    const { flags, positionals } = parseFlags(argv);
    return reproduceOptions(flags, positionals.slice(1));
  };
  const fails = (argv: string[], message: RegExp) => {
    let error: unknown;
    try {
      options(argv);
    } catch (e) {
      error = e;
    }
    expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  };

  it('an unknown protocol lists the known ones', () => {
    fails(['reproduce', 'kingma-vae'], /unknown protocol "kingma-vae" for reproduce \(protocols: burda-vae, burda-iwae-k5, burda-iwae-k50, ladder, ladder-1layer, beta-vae-dsprites, beta-tcvae-dsprites\)/);
    fails(['reproduce'], /unknown protocol ""/);
  });

  it('a bad flag value names the flag', () => {
    fails(['reproduce', 'burda-vae', '--epochs', '0'], /--epochs must be an integer >= 1/);
    fails(['reproduce', 'burda-vae', '--epochs', '4000'], /--epochs must be at most 3280/);
    fails(['reproduce', 'burda-vae', '--seeds', 'two'], /--seeds must be an integer >= 1/);
    fails(['reproduce', 'burda-vae', '--nll-samples', '0'], /--nll-samples must be an integer >= 1/);
    fails(['reproduce', 'burda-vae', '--test-limit=-3'], /--test-limit must be an integer >= 1/);
    fails(['reproduce', 'burda-vae', '--eval-every', 'x'], /--eval-every must be an integer >= 0/);
    fails(['reproduce', 'burda-vae', '--steps', '10'], /--steps is for the dSprites protocols/);
    fails(['reproduce', 'burda-vae', '--reference', 'jax'], /--reference must be pytorch/);
    fails(['reproduce', 'beta-vae-dsprites', '--reference', 'pytorch'], /--reference pytorch covers burda-vae, burda-iwae-k5, burda-iwae-k50, ladder only/);
    fails(['reproduce', 'burda-vae', '--kl-weight', '4'], /--kl-weight does not apply to burda-vae/);
    fails(['reproduce', 'beta-vae-dsprites', '--kl-weight', '5'], /--kl-weight must be one of the protocol's grid 1, 2, 4, 6, 8, 16/);
    fails(['reproduce', 'beta-tcvae-dsprites', '--kl-weight', '4'], /--kl-weight does not apply to beta-tcvae-dsprites \(it takes --tc-weight\)/);
    fails(['reproduce', 'beta-vae-dsprites', '--steps', '400000'], /--steps must be at most 300000/);
    fails(['reproduce', 'beta-vae-dsprites', '--steps', '10', '--epochs', '1'], /give --steps or --epochs, not both/);
    fails(['reproduce', 'beta-vae-dsprites', '--nll-samples', '10'], /are for the MNIST protocols/);
    fails(['reproduce', 'ladder', '--ablate', 'batchNorm=false'], /--ablate must be a JSON object of model config fields/);
    fails(['reproduce', 'ladder', '--ablate', '[1]'], /--ablate must be a JSON object/);
    fails(['reproduce', 'ladder', '--ablate', '{}'], /--ablate must be a JSON object/);
    fails(['reproduce', 'ladder', '--ablate', '{"variant":"vae"}'], /--ablate cannot change variant or seed/);
    fails(['reproduce', 'ladder', '--ablate', '{"batchNorm":false}', '--reference', 'pytorch'], /--ablate changes the protocol; the PyTorch reference runs it as written/);
  });

  it('--ablate sets model config fields over the protocol, in a folder of its own, and says so', async () => {
    const budget: Budget = { epochs: 10, stepsPerEpoch: 235, trainCount: 60000 };
    const plain = options(['reproduce', 'ladder', '--runs', 'r']);
    const o = options(['reproduce', 'ladder', '--runs', 'r', '--ablate', '{"batchNorm":false,"klWeight":1}']);
    expect(seedConfig(plain, 2, budget)).toEqual(PROTOCOLS.ladder.config(2, budget, {}));
    expect(seedConfig(o, 2, budget)).toEqual({ ...PROTOCOLS.ladder.config(2, budget, {}), batchNorm: false, klWeight: 1 });
    expect(runFolder(plain)).toBe(join('r', 'reproduce-ladder'));
    expect(runFolder(o)).toBe(join('r', 'reproduce-ladder-ablate-batchNorm-false-klWeight-1'));
    expect(ablationText(o.ablate!)).toBe('batchNorm=false, klWeight=1');
    const model = await buildModel(seedConfig(o, 2, budget));
    try {
      expect(model.config).toMatchObject({ variant: 'hvae', batchNorm: false, klWeight: 1, seed: 2 });
    } finally {
      model.dispose();
    }
  });

  it('defaults: the full protocol, one seed, k = 5000 on every test image', () => {
    const o = options(['reproduce', 'burda-iwae-k50']);
    expect(o).toMatchObject({ seeds: 1, nllSamples: 5000, evalEvery: 0, curveSamples: 100, curveLimit: 1000 });
    expect(o.epochs).toBeUndefined();
    expect(o.testLimit).toBeUndefined();
    expect(options(['reproduce', 'beta-tcvae-dsprites', '--tc-weight', '3']).weights).toEqual({ tcWeight: 3 });
  });
});
