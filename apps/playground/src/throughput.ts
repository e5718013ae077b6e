import type { BatchSource } from '@elbo/core';
import '@elbo/vae';
import { measureFitThroughput, THROUGHPUT_MODELS, type ThroughputModelName } from '@elbo/backend-native/throughput';
import * as tf from '@tensorflow/tfjs-core';
import { ByteBatchSource } from './byte-batch-source';
import { loadMnistSubset } from './mnist-asset';

/**
 * The throughput measurement of `pnpm bench throughput`, in the browser: the
 * same models (@elbo/backend-native/throughput's definitions, built by
 * createModel and trained by fit; that entry never loads the native addon),
 * on the playground's MNIST subset. fit reads the loss back at the end, inside
 * the timing, so asynchronous backends (webgpu, webgl) are timed to completion.
 */
export type ThroughputModel = ThroughputModelName;

export interface BrowserThroughputResult {
  model: ThroughputModel;
  backend: string;
  batchSize: number;
  steps: number;
  samplesPerSec: number;
  msPerStep: number;
  /** Milliseconds from the start of fit to the end of the warm-up steps (shader compilation shows here). */
  warmupMs: number;
  finalLoss: number;
}

export const THROUGHPUT_BATCH: Record<ThroughputModel, number> = { mlp: THROUGHPUT_MODELS.mlp.batchSize, conv: THROUGHPUT_MODELS.conv.batchSize };

/**
 * Train one model for `warmup` untimed and `steps` timed steps on the active
 * backend and report samples/s. `source` makes the batches (default: the
 * playground's MNIST subset, fetched from `dataUrl`).
 */
export async function measureBrowserThroughput(options: {
  model: ThroughputModel;
  steps?: number;
  warmup?: number;
  seed?: number;
  batchSize?: number;
  source?: (batchSize: number) => BatchSource;
  dataUrl?: string;
}): Promise<BrowserThroughputResult> {
  const { model: name, steps = 20, warmup = 3, seed = 0 } = options;
  if (name !== 'mlp' && name !== 'conv') throw new Error(`measureBrowserThroughput: model must be 'mlp' or 'conv', got ${JSON.stringify(name)}`);
  const batchSize = options.batchSize ?? THROUGHPUT_BATCH[name];
  for (const [key, v, min] of [['steps', steps, 1], ['warmup', warmup, 0], ['batchSize', batchSize, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`measureBrowserThroughput: ${key} must be an integer >= ${min}, got ${v}`);
  }
  let source = options.source;
  if (!source) {
    const data = await loadMnistSubset(options.dataUrl ?? 'data/mnist-subset.bin');
    source = (b) => new ByteBatchSource(data.train, data.rows * data.cols, b, seed);
  }
  const started = performance.now();
  let warmupMs = 0;
  const r = await measureFitThroughput({
    model: name,
    source,
    batchSize,
    steps,
    warmup,
    seed,
    callbacks: [{ onStepEnd: (info) => void (info.step === warmup && (warmupMs = performance.now() - started)) }],
  });
  return { model: name, backend: tf.getBackend(), batchSize, steps, samplesPerSec: r.samplesPerSec, msPerStep: r.msPerStep, warmupMs, finalLoss: r.finalLoss };
}
