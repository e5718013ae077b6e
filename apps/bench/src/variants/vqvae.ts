/**
 * Bench for @elbo/vqvae (issue 12): a VQ-VAE trained on MNIST, then a gated
 * PixelCNN prior trained on the codes of the training set. What it must show:
 * test reconstruction MSE, codebook perplexity and the fraction of codes in
 * use, a PNG grid of samples drawn from the prior and a PNG grid of
 * reconstructions. Also reports the prior's test NLL and the reconstruction
 * NLL.
 */
import { writeImageGridArray } from '../png';
import { join } from 'node:path';
import { type BatchSource, createModel, disposeBatch, fit } from '@elbo/core';
import { createBatchSource, loadMnist, takeSubset } from '@elbo/datasets';
import { VqVae } from '@elbo/vqvae';
import * as tf from '@tensorflow/tfjs-core';

import type { VariantContext } from '../variant-context';

const BATCH = 128;
const AE_LR = 1e-3;
const PRIOR_LR = 3e-3;
/** Test digits for reconstruction MSE and codebook statistics. */
const TEST_COUNT = 10000;
/** Test digits for the prior's NLL (a PixelCNN pass per digit costs more than the autoencoder). */
const PRIOR_TEST_COUNT = 2000;
const SAMPLE_ROWS = 8;

/** Write [n, 784] images in [0, 1] as a rows x cols grid PNG (1 px gaps). */
function writeGrid(images: Float32Array, rows: number, cols: number, path: string): void {
  writeImageGridArray(path, images, rows * cols, cols, [28, 28, 1]);
}

/**
 * Per-pixel reconstruction MSE and the reconstruction NLL over a source, and
 * the prior's NLL over its first `priorLimit` examples; model in eval mode.
 */
function evaluate(model: VqVae, source: BatchSource, priorLimit: number): { mse: number; reconstruction: number; priorNll: number } {
  model.eval();
  const phase = model.phase;
  const scalar = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync()[0]);
  let sse = 0;
  let rec = 0;
  let prior = 0;
  let n = 0;
  let nPrior = 0;
  for (const batch of source.batches(0)) {
    const b = batch.x.shape[0];
    sse += scalar(() => tf.sum(tf.square(tf.sub(model.reconstruct(batch.x), batch.x))));
    model.setPhase('autoencoder');
    rec += b * scalar(() => model.loss(batch).terms.reconstruction);
    if (nPrior < priorLimit) {
      model.setPhase('prior');
      prior += b * scalar(() => model.loss(batch).terms.priorNll);
      nPrior += b;
    }
    n += b;
    disposeBatch(batch);
  }
  model.setPhase(phase);
  model.train();
  return { mse: sse / (n * 784), reconstruction: rec / n, priorNll: prior / nPrior };
}

export async function run(ctx: VariantContext): Promise<{ metrics: Record<string, number>; files: string[] }> {
  const full = loadMnist({ split: 'train' });
  const train = ctx.trainLimit !== undefined && ctx.trainLimit < full.count ? takeSubset(full, ctx.trainLimit, ctx.seed) : full;
  const test = takeSubset(loadMnist({ split: 'test' }), TEST_COUNT);
  const model = createModel({
    variant: 'vqvae',
    seed: ctx.seed,
    inputShape: [28, 28, 1],
    hiddenDims: [512, 256],
    latentDim: 8,
    codeGrid: [4, 4],
    numCodes: 64,
    codebookUpdate: 'ema',
    prior: { channels: 32, layers: 5, kernelSize: 3, outputHidden: 64 },
  });
  if (!(model instanceof VqVae)) throw new Error('vqvae bench: createModel did not build a VqVae');
  const trainSource = createBatchSource(train, { batchSize: BATCH, seed: ctx.seed, shape: 'image' });
  const testSource = () => createBatchSource(test, { batchSize: 500, shuffle: false, shape: 'image' });
  ctx.log(`vqvae: ${model.numParameters()} autoencoder parameters, ${train.count} training digits, ${ctx.epochs} epoch(s) per phase, backend ${tf.getBackend()}`);

  const started = Date.now();
  await fit(model, trainSource, {
    epochs: ctx.epochs,
    learningRate: AE_LR,
    progress: false,
    callbacks: [
      {
        onEpochEnd: (log) => {
          // Diagnostics each epoch: the codebook over the whole training set, not just a batch average.
          const stats = model.evaluateCodebook(trainSource, { limit: 5000 });
          ctx.log(
            `vqvae: epoch ${log.epoch + 1} loss ${log.train.loss.toFixed(2)} reconstruction ${log.train.reconstruction.toFixed(2)} ` +
              `perplexity ${stats.perplexity.toFixed(1)} codes used ${(100 * stats.codesUsed).toFixed(0)}% (${log.seconds.toFixed(1)} s)`,
          );
        },
      },
    ],
  });
  const aeSeconds = (Date.now() - started) / 1000;

  model.setPhase('prior');
  ctx.log(`vqvae: prior ${model.numParameters()} parameters`);
  const priorStarted = Date.now();
  await fit(model, trainSource, {
    epochs: ctx.epochs,
    learningRate: PRIOR_LR,
    progress: false,
    callbacks: [{ onEpochEnd: (log) => ctx.log(`vqvae: prior epoch ${log.epoch + 1} NLL ${log.train.priorNll.toFixed(2)} nats (${log.seconds.toFixed(1)} s)`) }],
  });
  const priorSeconds = (Date.now() - priorStarted) / 1000;

  const testStats = model.evaluateCodebook(testSource());
  const testTerms = evaluate(model, testSource(), PRIOR_TEST_COUNT);
  model.eval();

  const samplesPath = join(ctx.outDir, 'vqvae-samples.png');
  const sampleStarted = Date.now();
  const samples = tf.tidy(() => model.sample(SAMPLE_ROWS * SAMPLE_ROWS).dataSync() as Float32Array);
  const sampleSeconds = (Date.now() - sampleStarted) / 1000;
  writeGrid(samples, SAMPLE_ROWS, SAMPLE_ROWS, samplesPath);

  // Reconstructions: rows alternate test originals and their reconstructions.
  const reconPath = join(ctx.outDir, 'vqvae-reconstructions.png');
  const cols = 10;
  const grid = tf.tidy(() => {
    const first = test.images.subarray(0, 4 * cols * 784);
    const x = tf.tensor4d(first, [4 * cols, 28, 28, 1]);
    const r = model.reconstruct(x);
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < 4; i++) rows.push(tf.slice(x, i * cols, cols), tf.slice(r, i * cols, cols));
    return tf.concat(rows, 0).dataSync() as Float32Array;
  });
  writeGrid(grid, 8, cols, reconPath);

  const metrics = {
    testReconstructionMse: testTerms.mse,
    testReconstructionNll: testTerms.reconstruction,
    testPerplexity: testStats.perplexity,
    testCodesUsed: testStats.codesUsed,
    testPriorNll: testTerms.priorNll,
    testPriorBitsPerCode: testTerms.priorNll / (model.positions * Math.LN2),
    autoencoderSeconds: aeSeconds,
    priorSeconds,
    sampleSecondsFor64: sampleSeconds,
  };
  ctx.log(
    `vqvae: test MSE ${metrics.testReconstructionMse.toFixed(4)}, reconstruction NLL ${metrics.testReconstructionNll.toFixed(2)} nats, ` +
      `perplexity ${metrics.testPerplexity.toFixed(1)} of ${model.numCodes}, codes used ${(100 * metrics.testCodesUsed).toFixed(0)}%, ` +
      `prior NLL ${metrics.testPriorNll.toFixed(2)} nats (${metrics.testPriorBitsPerCode.toFixed(2)} bits/code)`,
  );
  model.dispose();
  return { metrics, files: [samplesPath, reconPath] };
}
