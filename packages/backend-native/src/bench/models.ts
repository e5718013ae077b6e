import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, createModel, type GenerativeModel } from '@elbo/core';
import { THROUGHPUT_MODELS, type ThroughputModelName, throughputModel } from './product';

/** The throughput models (the same ones scripts/torch_bench.py builds in PyTorch). */
export type BenchModelName = ThroughputModelName;

/** Default batch sizes: 128 for the MLP VAE, 64 for the conv VAE. */
export const DEFAULT_BATCH: Record<BenchModelName, number> = { mlp: THROUGHPUT_MODELS.mlp.batchSize, conv: THROUGHPUT_MODELS.conv.batchSize };

/**
 * A throughput model as users build it: createModel with the shared
 * definition's config (the 'vae' variant must be registered: import @elbo/vae).
 */
export function buildBenchModel(name: BenchModelName, seed = 0): GenerativeModel {
  return createModel(throughputModel(name).config(seed));
}

/**
 * Seeded uniform [0, 1] inputs for a throughput model, `batches` per epoch:
 * for tests and kernel profiles, which need no real data (the benchmark
 * itself trains on MNIST).
 */
export function randomSource(name: BenchModelName, batchSize: number, seed = 0, batches = 1000): BatchSource {
  const shape = [batchSize, ...throughputModel(name).inputShape];
  return {
    size: batchSize * batches,
    batchSize,
    *batches(epoch: number): Iterable<Batch> {
      for (let i = 0; i < batches; i++) yield { x: tf.randomUniform(shape, 0, 1, 'float32', seed * 1_000_003 + epoch * 10_007 + i) };
    },
  };
}
