import { type BatchSource, type BenchContext, disposeBatch, type VariantBench } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { VqVae } from './vqvae';

/** Test digits for the prior's NLL (a PixelCNN pass per digit costs more than the autoencoder). */
const PRIOR_TEST_COUNT = 2000;

/**
 * Reconstruction NLL over a source and the prior's NLL over its first
 * `priorLimit` examples (nats per example), model in eval mode; the phase is restored.
 */
function phaseTerms(model: VqVae, source: BatchSource, priorLimit: number): { reconstruction: number; priorNll: number } {
  const phase = model.phase;
  const scalar = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync()[0]);
  let rec = 0;
  let prior = 0;
  let n = 0;
  let nPrior = 0;
  try {
    for (const batch of source.batches(0)) {
      try {
        const b = batch.x.shape[0];
        model.setPhase('autoencoder');
        rec += b * scalar(() => model.loss(batch).terms.reconstruction);
        if (nPrior < priorLimit) {
          model.setPhase('prior');
          prior += b * scalar(() => model.loss(batch).terms.priorNll);
          nPrior += b;
        }
        n += b;
      } finally {
        disposeBatch(batch);
      }
    }
  } finally {
    model.setPhase(phase);
  }
  return { reconstruction: rec / n, priorNll: prior / nPrior };
}

/**
 * How elbo-bench trains and pictures a VQ-VAE: the autoencoder first (learning rate 1e-3), then the
 * gated PixelCNN prior on the codes of the training set (3e-3); codebook perplexity and usage each
 * epoch and on the test set, and the prior's test NLL. The bench's samples.png are the prior's
 * samples (model.sample draws codes from the PixelCNN), so no extra picture is needed.
 */
export const vqvaeBench: VariantBench<VqVae> = {
  config: () => ({
    inputShape: [28, 28, 1],
    hiddenDims: [512, 256],
    latentDim: 8,
    codeGrid: [4, 4],
    numCodes: 64,
    codebookUpdate: 'ema',
    prior: { channels: 32, layers: 5, kernelSize: 3, outputHidden: 64 },
  }),
  phases: [
    { name: 'autoencoder', enter: (m) => m.setPhase('autoencoder'), learningRate: 1e-3 },
    { name: 'prior', enter: (m) => m.setPhase('prior'), learningRate: 3e-3 },
  ],
  epochLog(model, ctx) {
    // The codebook over (up to 5,000 of) the training set, not a batch average.
    const stats = model.evaluateCodebook(ctx.data.train(), { limit: 5000 });
    return `codebook perplexity ${stats.perplexity.toFixed(1)} of ${model.numCodes}, codes used ${(100 * stats.codesUsed).toFixed(0)}%`;
  },
  metrics(model, ctx: BenchContext) {
    const stats = model.evaluateCodebook(ctx.data.test({ batchSize: 500 }));
    const terms = phaseTerms(model, ctx.data.test({ batchSize: 500 }), PRIOR_TEST_COUNT);
    const metrics = {
      testPerplexity: stats.perplexity,
      testCodesUsed: stats.codesUsed,
      testReconstructionNll: terms.reconstruction,
      testPriorNll: terms.priorNll,
      testPriorBitsPerCode: terms.priorNll / (model.positions * Math.LN2),
    };
    ctx.log(
      `vqvae: perplexity ${metrics.testPerplexity.toFixed(1)} of ${model.numCodes}, codes used ${(100 * metrics.testCodesUsed).toFixed(0)}%, ` +
        `reconstruction NLL ${metrics.testReconstructionNll.toFixed(2)} nats, prior NLL ${metrics.testPriorNll.toFixed(2)} nats (${metrics.testPriorBitsPerCode.toFixed(2)} bits/code)`,
    );
    return metrics;
  },
};
