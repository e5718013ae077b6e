import { type BenchContext, createModel, type GenerativeModel, listVariants, type VariantBench } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { activeUnitsPerLevel } from './active-units';
import type { HierarchicalVae } from './hierarchical-vae';

/** Test examples and importance samples for the NLL (Burda et al. use all 10,000 and k = 5000). */
const NLL_COUNT = 1000;
const NLL_K = 100;
/** Free bits per latent dimension (keeps units open in a short run). */
const FREE_BITS = 0.1;
const BATCH = 100;
const LATENT_DIMS = [32, 16, 8];
const HIDDEN = 256;

/** KL warm-up over the first 20% of the run's steps (the paper warms up over 200 of its epochs). */
function warmupSteps(plan: { trainCount: number; batchSize: number; epochs: number }): number {
  return Math.max(1, Math.round(0.2 * Math.floor(plan.trainCount / plan.batchSize) * plan.epochs));
}

/** One fixed Bernoulli draw of the images (the dynamically binarised MNIST protocol of Burda et al. 2016). */
function binarized(x: tf.Tensor, seed: number): tf.Tensor {
  // step(x - u): 1 where u < x, else 0, for u uniform on [0, 1).
  return tf.tidy(() => tf.step(tf.sub(x, tf.randomUniform(x.shape, 0, 1, 'float32', seed + 1))));
}

/**
 * The one-layer baseline, when a plain VAE variant is registered: the hvae's bottom level alone
 * (its latent size, two BatchNorm MLP layers of its width, leaky ReLU, Bernoulli), with the same
 * warm-up and free bits (per dimension where the variant offers that, else its default mode),
 * trained with the same budget. Undefined, with the reason, when none can be built.
 */
function baseline(model: HierarchicalVae, warmup: number): { model?: GenerativeModel; reason?: string } {
  if (!listVariants().includes('vae')) return { reason: 'no plain VAE variant registered' };
  const config = {
    variant: 'vae',
    architecture: 'mlp',
    inputShape: model.inputShape,
    hiddenDims: [model.config.hiddenDims[0], model.config.hiddenDims[0]],
    latentDim: model.config.latentDims[0],
    likelihood: 'bernoulli',
    activation: 'leakyRelu',
    batchNorm: true,
    klWeight: { type: 'linear', annealSteps: warmup },
    freeBits: FREE_BITS,
    seed: model.config.seed,
  };
  let reason = '';
  for (const c of [{ ...config, freeBitsMode: 'dimension' }, config]) {
    try {
      return { model: createModel(c) };
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  return { reason };
}

/**
 * How elbo-bench trains and reports a Ladder VAE: latents 32-16-8 with BatchNorm blocks 256-128-64
 * on dynamically binarised MNIST (batch 100, KL warm-up over the first 20% of steps, free bits 0.1
 * nats per dimension); the importance-sampled test NLL (k = 100, 1,000 test images binarised once),
 * the KL and active units per level, a one-layer VAE trained with the same budget for comparison,
 * and samples at several temperatures.
 */
export const hvaeBench: VariantBench<HierarchicalVae> = {
  batchSize: BATCH,
  binarize: 'dynamic',
  config: (plan) => ({
    inputShape: [784],
    latentDims: LATENT_DIMS,
    hiddenDims: [HIDDEN, 128, 64],
    blockDepth: 2,
    batchNorm: true,
    likelihood: 'bernoulli',
    klWeight: { type: 'linear', annealSteps: warmupSteps({ ...plan, batchSize: BATCH }) },
    freeBits: FREE_BITS,
    freeBitsMode: 'dimension',
  }),
  async metrics(model, ctx: BenchContext) {
    const x = ctx.data.testImages(NLL_COUNT);
    const xb = binarized(x, ctx.seed);
    x.dispose();
    const metrics: Record<string, number> = {};
    try {
      const terms = tf.tidy(() => {
        const out = model.loss({ x: xb }, { step: Number.MAX_SAFE_INTEGER, klWeight: 1 });
        return Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]]));
      });
      for (const [k, v] of Object.entries(terms)) if (k.startsWith('kl_')) metrics[`testKl_${k.slice(3)}`] = v;
      const au = activeUnitsPerLevel(model, xb, { samples: 10 });
      au.perLevel.forEach((n, i) => {
        metrics[`activeUnits_${i + 1}`] = n;
      });
      const nll = ctx.metrics.importanceSampledNll(model, xb, { samples: NLL_K, chunk: NLL_K, batchSize: 50, seed: ctx.seed });
      metrics.testNll = nll.nll;
      ctx.log(`hvae: test NLL ${nll.nll.toFixed(2)} nats (k = ${NLL_K}, ${xb.shape[0]} binarised test images); active units per level (bottom-up) ${au.perLevel.join('-')} of ${model.config.latentDims.join('-')}`);
      const warmup = (model.config.klWeight as { annealSteps?: number } | undefined)?.annealSteps ?? 1;
      const made = ctx.train ? baseline(model, warmup) : {};
      if (made.reason) ctx.log(`hvae: no one-layer baseline (${made.reason})`);
      const base = made.model;
      if (base && ctx.train) {
        try {
          await ctx.train(base, { batchSize: BATCH, binarize: 'dynamic' });
          base.eval();
          const b = ctx.metrics.importanceSampledNll(base, xb, { samples: NLL_K, chunk: NLL_K, batchSize: 50, seed: ctx.seed });
          metrics.oneLayerTestNll = b.nll;
          metrics.nllGain = b.nll - nll.nll;
          // Paired over the same test images: standard error of the mean per-example gain.
          const d = Array.from(nll.logLikelihood, (v, i) => v - b.logLikelihood[i]);
          const mean = d.reduce((a, c) => a + c, 0) / d.length;
          metrics.nllGainStdErr = Math.sqrt(d.reduce((a, c) => a + (c - mean) ** 2, 0) / (d.length - 1) / d.length);
          ctx.log(
            `hvae: test NLL ${nll.nll.toFixed(2)} vs one-layer ${b.nll.toFixed(2)} nats (gain ${metrics.nllGain.toFixed(2)} ± ${metrics.nllGainStdErr.toFixed(2)} s.e., paired; papers after full training: 81.7 ladder, 86.76 one-layer)`,
          );
        } finally {
          base.dispose();
        }
      }
    } finally {
      xb.dispose();
    }
    return metrics;
  },
  pictures(model, ctx) {
    // One row of 8 samples per temperature: colder draws are cleaner, warmer ones more varied.
    const temperatures = [0.5, 0.7, 0.85, 1];
    const grid = tf.tidy(() => tf.concat(temperatures.map((temperature) => model.sample(8, { temperature }))));
    const file = ctx.writeGrid('samples-by-temperature.png', grid, 8);
    grid.dispose();
    ctx.log(`hvae: samples-by-temperature.png rows: temperature ${temperatures.join(', ')}`);
    return [file];
  },
};
