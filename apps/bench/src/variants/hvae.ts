/**
 * Bench for @elbo/hvae (issue 13): a Ladder VAE (latents 32-16-8, BatchNorm
 * blocks 256-128-64) and a one-layer VAE (its level-1 encoder and decoder,
 * 32 latents) trained with the same budget (epochs, batch size, Adam, KL
 * warm-up over the first 20% of steps, free bits 0.1 nats per dimension) on
 * dynamically binarised MNIST; reports the importance-sampled test NLL of both
 * (@elbo/metrics, on a fixed binarisation of the first 1000 test images of a
 * seeded subset), the test ELBO, the per-level KLs and the active units per
 * level (Burda et al. 2016), and writes sample / reconstruction grids.
 */
import { writeImageGrid } from '../png';
import { join } from 'node:path';
import {
  Activation,
  type Batch,
  type BaseModelConfig,
  BatchNorm,
  Dense,
  type DiagonalGaussian,
  Encoder,
  fit,
  GaussianHead,
  type GenerativeModel,
  LatentVariableModel,
  type Layer,
  type LossContext,
  type LossOutput,
  MlpDecoder,
  Rng,
  type Schedule,
  Sequential,
  StandardNormalPrior,
} from '@elbo/core';
import { freeBitsKl, linearWarmup } from '@elbo/losses';
import { createBatchSource, loadMnist, takeSubset } from '@elbo/datasets';
import { activeUnitsPerLevel, createHvae, type HierarchicalVae } from '@elbo/hvae';
import { importanceSampledNll } from '@elbo/metrics';
import * as tf from '@tensorflow/tfjs-core';

import type { VariantContext } from '../variant-context';

const BATCH = 100;
const LR = 1e-3;
/** Test examples and importance samples for the NLL (Burda et al. use all 10,000 and k = 5000). */
const TEST_COUNT = 1000;
const NLL_K = 100;
const HIDDEN = 256;

/** Free bits per latent dimension, the same for both models (keeps units open in a short run). */
const FREE_BITS = 0.1;

/**
 * The baseline's encoder: the hvae's bottom-up level-1 block (Dense without
 * bias, BatchNorm, leaky ReLU, twice) and a Gaussian head.
 */
class BnMlpEncoder extends Encoder {
  readonly body: Sequential;
  readonly head: GaussianHead;

  constructor(inDim: number, width: number, latentDim: number, rng: Rng) {
    super();
    const layers: Layer[] = [];
    for (const d of [inDim, width]) layers.push(new Dense(d, width, rng, { bias: false }), new BatchNorm(width), new Activation('leakyRelu'));
    this.body = this.addModule('body', new Sequential(layers));
    this.head = this.addModule('head', new GaussianHead(width, latentDim, rng));
  }

  forward(x: tf.Tensor): DiagonalGaussian {
    return this.head.forward(this.body.apply(tf.reshape(x, [x.shape[0], -1])));
  }
}

/**
 * The one-layer baseline: the hvae's level-1 encoder and its decoder (MLP,
 * bernoulli), latent size = the hvae's bottom level, N(0, I) prior, and the
 * same KL warm-up (@elbo/losses linearWarmup) and free bits.
 */
class OneLayerVae extends LatentVariableModel {
  readonly variant = 'bench-one-layer-vae';
  private readonly warmup: Schedule;

  constructor(config: BaseModelConfig & { hidden: number; klWarmupSteps: number }) {
    const rng = new Rng(config.seed ?? 0);
    const init = rng.fork('init');
    const enc = new BnMlpEncoder(784, config.hidden, config.latentDim, init);
    const dec = new MlpDecoder(config.latentDim, [784], init, { hiddenDims: [config.hidden, config.hidden], activation: 'leakyRelu', likelihood: 'bernoulli' });
    super(config, [784], enc, dec, new StandardNormalPrior([config.latentDim]), rng);
    this.warmup = linearWarmup({ beta: 1, annealSteps: config.klWarmupSteps });
  }

  loss(batch: Batch, context: LossContext = {}): LossOutput {
    const beta = context.beta ?? this.warmup(context.step ?? Number.MAX_SAFE_INTEGER);
    return tf.tidy(() => {
      const { reconstruction, kl, klPerDim } = this.elboParts(batch);
      return {
        loss: tf.add(reconstruction, tf.mul(freeBitsKl(klPerDim, FREE_BITS), beta)) as tf.Scalar,
        terms: { reconstruction, kl, elbo: tf.neg(tf.add(reconstruction, kl)) as tf.Scalar, beta: tf.scalar(beta) },
      };
    });
  }
}

/** Mean test ELBO terms (one posterior draw each), nats per example. */
function meanTerms(model: GenerativeModel, x: tf.Tensor, chunk = 200): Record<string, number> {
  const sums: Record<string, number> = {};
  for (let s = 0; s < x.shape[0]; s += chunk) {
    const n = Math.min(chunk, x.shape[0] - s);
    const out = tf.tidy(() => model.loss({ x: tf.slice(x, s, n) }, { beta: 1 }));
    for (const [name, v] of Object.entries(out.terms)) sums[name] = (sums[name] ?? 0) + v.dataSync()[0] * n;
    tf.dispose([out.loss, ...Object.values(out.terms)]);
  }
  for (const name of Object.keys(sums)) sums[name] /= x.shape[0];
  return sums;
}

/** Write [n, 784] images in [0, 1] as a cols-wide grid of 28x28 tiles. */
function writeGrid(path: string, images: tf.Tensor, cols: number): void {
  writeImageGrid(path, images, cols, [28, 28, 1]);
}

async function train(model: GenerativeModel, ctx: VariantContext, name: string, trainSet: ReturnType<typeof loadMnist>): Promise<number> {
  const source = createBatchSource(trainSet, { batchSize: BATCH, seed: ctx.seed, binarize: 'dynamic', dropLast: true });
  const t0 = performance.now();
  // No beta here: each model applies its own (identical) KL warm-up from the step.
  const result = await fit(model, source, { epochs: ctx.epochs, learningRate: LR, progress: false });
  for (const h of result.history) {
    ctx.log(`${name}: epoch ${h.epoch + 1}/${ctx.epochs} train loss ${h.train.loss.toFixed(2)} elbo ${h.train.elbo.toFixed(2)} (${h.samplesPerSecond.toFixed(0)} examples/s)`);
  }
  return (performance.now() - t0) / 1000;
}

export async function run(ctx: VariantContext): Promise<{ metrics: Record<string, number>; files: string[] }> {
  const fullTrain = loadMnist({ split: 'train' });
  const trainSet = ctx.trainLimit ? takeSubset(fullTrain, ctx.trainLimit, ctx.seed) : fullTrain;
  // One fixed Bernoulli draw of the test images (the dynamically binarised MNIST protocol of Burda et al. 2016).
  const test = takeSubset(loadMnist({ split: 'test', binarize: { type: 'bernoulli', seed: ctx.seed + 1 } }), TEST_COUNT, ctx.seed);
  const xTest = tf.tensor2d(test.images, [test.count, 784]);
  const stepsPerEpoch = Math.floor(trainSet.count / BATCH);
  // Warm-up over the first 20% of the run (the paper warms up over 200 of its epochs).
  const warmup = Math.max(1, Math.round(0.2 * stepsPerEpoch * ctx.epochs));
  ctx.log(`hvae bench: ${trainSet.count} training examples, ${ctx.epochs} epoch(s), batch ${BATCH}, KL warm-up ${warmup} steps, free bits ${FREE_BITS} nats/dim, NLL on ${test.count} test images with k = ${NLL_K}`);

  const latentDims = [32, 16, 8];
  const hvae: HierarchicalVae = createHvae({
    variant: 'hvae',
    inputShape: [784],
    latentDims,
    hiddenDims: [HIDDEN, 128, 64],
    blockDepth: 2,
    batchNorm: true,
    likelihood: 'bernoulli',
    klWarmupSteps: warmup,
    freeBits: FREE_BITS,
    freeBitsMode: 'dimension',
    seed: ctx.seed,
  });
  const vae = new OneLayerVae({ variant: 'bench-one-layer-vae', latentDim: latentDims[0], hidden: HIDDEN, klWarmupSteps: warmup, seed: ctx.seed });
  ctx.log(`parameters: hvae ${hvae.numParameters()}, one-layer vae ${vae.numParameters()}`);

  const metrics: Record<string, number> = {};
  const files: string[] = [];
  const perExample: Record<string, Float64Array> = {};
  for (const [name, model] of [['hvae', hvae], ['vae1', vae]] as const) {
    metrics[`${name}.trainSeconds`] = await train(model, ctx, name, trainSet);
    model.eval();
    const terms = meanTerms(model, xTest);
    metrics[`${name}.testElbo`] = terms.elbo;
    metrics[`${name}.testReconstruction`] = terms.reconstruction;
    metrics[`${name}.testKl`] = terms.kl;
    for (const [term, v] of Object.entries(terms)) if (term.startsWith('kl_')) metrics[`${name}.testKl_${term.slice(3)}`] = v;
    const t0 = performance.now();
    // The IWAE estimator of @elbo/metrics; it calls each model's importanceLogWeights (exact hierarchical densities for the hvae).
    const nll = importanceSampledNll(model, xTest, { samples: NLL_K, chunk: NLL_K, batchSize: 50, seed: ctx.seed });
    metrics[`${name}.testNll`] = nll.nll;
    perExample[name] = nll.logLikelihood;
    ctx.log(`${name}: test NLL ${metrics[`${name}.testNll`].toFixed(2)} nats (k=${NLL_K}), test ELBO ${terms.elbo.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    const samples = join(ctx.outDir, `${name}-samples.png`);
    const recon = join(ctx.outDir, `${name}-reconstructions.png`);
    tf.tidy(() => writeGrid(samples, model.sample(64), 8));
    // Originals and reconstructions in alternating rows.
    tf.tidy(() => {
      const xs = tf.slice(xTest, 0, 32);
      const r = model.reconstruct(xs);
      const rows = [];
      for (let i = 0; i < 4; i++) rows.push(tf.slice(xs, i * 8, 8), tf.slice(r, i * 8, 8));
      writeGrid(recon, tf.concat(rows, 0), 8);
    });
    files.push(samples, recon);
  }
  const au = activeUnitsPerLevel(hvae, xTest, { samples: 10 });
  au.perLevel.forEach((n, i) => {
    metrics[`hvae.activeUnits_${i + 1}`] = n;
  });
  metrics['vae1.activeUnits'] = tf.tidy(() => {
    const v = tf.moments(vae.encode(xTest).mean(), 0).variance.dataSync();
    return Array.from(v).filter((a) => a > 0.01).length;
  });
  ctx.log(`active units per level (bottom-up): hvae ${au.perLevel.join('-')} of ${latentDims.join('-')}; one-layer vae ${metrics['vae1.activeUnits']} of ${latentDims[0]}`);
  const cold = join(ctx.outDir, 'hvae-samples-t0.7.png');
  tf.tidy(() => writeGrid(cold, hvae.sample(64, { temperature: 0.7 }), 8));
  files.push(cold);
  metrics['nllGain'] = metrics['vae1.testNll'] - metrics['hvae.testNll'];
  // Paired over the same test images: standard error of the mean per-example gain.
  const d = Array.from(perExample.hvae, (v, i) => v - perExample.vae1[i]);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  metrics['nllGainStdErr'] = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1) / d.length);
  ctx.log(
    `test NLL: hvae ${metrics['hvae.testNll'].toFixed(2)} vs one-layer ${metrics['vae1.testNll'].toFixed(2)} nats (gain ${metrics.nllGain.toFixed(2)} ± ${metrics.nllGainStdErr.toFixed(2)} s.e., paired; papers after full training: 81.7 ladder, 86.76 one-layer)`,
  );
  xTest.dispose();
  hvae.dispose();
  vae.dispose();
  return { metrics, files };
}
