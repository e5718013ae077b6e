import { existsSync } from 'node:fs';
import type { BatchSource } from '@elbo/core';
import { ArrayBatchSource, loadMnist, mnistDataDir, type MnistData, takeSubset } from '@elbo/datasets';
import { UsageError } from '../errors';

/** Seed of the one fixed Bernoulli draw that binarises the test images (the same for every run and seed). */
export const TEST_BINARIZATION_SEED = 0;

export interface ReproduceMnist {
  /** Folder of the IDX files read (the PyTorch reference reads the same files). */
  dir: string;
  /** The first `trainLimit` training images (all 60,000 by default), grey levels. */
  train: MnistData;
  /** The first `testLimit` test images, binarised once by a fixed Bernoulli draw: [n * 784] of 0/1. */
  test: MnistData;
}

/**
 * MNIST as the MNIST protocols use it: the training images as grey levels
 * (binarised afresh in every batch), the first N of them with a limit; the
 * test set binarised once, then its first N images, so a smaller test subset
 * is a prefix of the full one.
 */
export function reproduceMnist(options: { mnistDir?: string; trainLimit?: number; testLimit?: number }): ReproduceMnist {
  if (options.mnistDir !== undefined && !existsSync(options.mnistDir)) throw new UsageError(`MNIST folder not found: ${options.mnistDir}`);
  const dir = options.mnistDir ?? mnistDataDir();
  let train = loadMnist({ split: 'train', dir });
  let test = loadMnist({ split: 'test', dir, binarize: { type: 'bernoulli', seed: TEST_BINARIZATION_SEED } });
  if (options.trainLimit !== undefined && options.trainLimit < train.count) train = takeSubset(train, options.trainLimit);
  if (options.testLimit !== undefined && options.testLimit < test.count) test = takeSubset(test, options.testLimit);
  return { dir, train, test };
}

/** The training batches of one seed: shuffled and dynamically binarised per epoch, both from the seed. */
export function mnistTrainSource(train: MnistData, batchSize: number, seed: number): BatchSource {
  return new ArrayBatchSource(train, { batchSize, seed, shape: 'flat', binarize: 'dynamic' });
}
