import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, Rng } from '@elbo/core';
import { binarizeBernoulli } from './binarize';
import { checkDataset, exampleSize, type ImageDataset } from './image-dataset';

export interface BatchOptions {
  /** Examples per batch (a positive integer). */
  batchSize: number;
  /** Drives shuffling and dynamic binarisation; default 0. */
  seed?: number;
  /** Reshuffle every epoch (default true); false keeps the dataset order. */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** `x` as [b, prod(shape)] ('flat', default) or [b, ...shape] ('image', e.g. [b, 28, 28, 1]). */
  shape?: 'flat' | 'image';
  /**
   * 'dynamic': a fresh Bernoulli(x) draw of every pixel each time it is served,
   * deterministic in (seed, epoch) (Burda et al. 2016). Default: serve x as stored.
   */
  binarize?: 'dynamic';
  /** Also put one-hot labels in `condition` ([b, numClasses] float32), for conditional models. */
  oneHot?: boolean;
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Validated batching options shared by the batch sources. */
export function resolveBatchOptions(options: BatchOptions, count: number) {
  if (options === null || typeof options !== 'object') throw new Error('batch options must be an object with at least batchSize');
  const batchSize = positiveInt(options.batchSize, 'batchSize');
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  const shape = options.shape ?? 'flat';
  if (shape !== 'flat' && shape !== 'image') throw new Error(`shape must be 'flat' or 'image', got ${JSON.stringify(shape)}`);
  if (options.binarize !== undefined && options.binarize !== 'dynamic') {
    throw new Error(`binarize must be 'dynamic' or absent (static binarisation is a loader option), got ${JSON.stringify(options.binarize)}`);
  }
  const dropLast = options.dropLast ?? false;
  if (dropLast && count < batchSize) throw new Error(`dropLast with batchSize ${batchSize} leaves no batch of a dataset of ${count} examples`);
  return { batchSize, seed, shape, dropLast, shuffle: options.shuffle ?? true, dynamic: options.binarize === 'dynamic', oneHot: options.oneHot ?? false };
}

/** The example order of one epoch: a seeded permutation, or 0..n-1 without shuffling. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epoch must be a non-negative integer, got ${epoch}`);
  if (shuffle) return new Rng(seed).fork(`epoch-${epoch}`).permutation(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * A `BatchSource` over an in-memory `ImageDataset` (MNIST, Fashion-MNIST, an
 * image folder). The data stays in typed arrays; each batch's tensors are
 * created only when the iterator reaches it and belong to the consumer
 * (`disposeBatch`). `batches(epoch)` depends only on (seed, epoch).
 *
 * Batch: `x` float32 [b, d] or [b, ...shape]; `y` int32 [b] labels when the
 * dataset has them; `condition` float32 [b, numClasses] with `oneHot`.
 *
 * @example
 * const source = new ArrayBatchSource(loadMnist(), { batchSize: 128, seed: 1, binarize: 'dynamic' });
 * for (const batch of source.batches(0)) { ...; disposeBatch(batch); }
 */
export class ArrayBatchSource implements BatchSource {
  readonly batchSize: number;
  /** Examples served per epoch (fewer than the dataset with dropLast). */
  readonly size: number;
  /** Batches per epoch. */
  readonly numBatches: number;
  private readonly opts: ReturnType<typeof resolveBatchOptions>;
  private readonly dim: number;
  private readonly numClasses: number;

  constructor(
    readonly data: ImageDataset,
    options: BatchOptions,
  ) {
    checkDataset(data);
    this.opts = resolveBatchOptions(options, data.count);
    this.batchSize = this.opts.batchSize;
    this.dim = exampleSize(data);
    this.numBatches = this.opts.dropLast ? Math.floor(data.count / this.batchSize) : Math.ceil(data.count / this.batchSize);
    this.size = this.opts.dropLast ? this.numBatches * this.batchSize : data.count;
    this.numClasses = 0;
    if (this.opts.oneHot) {
      if (!data.labels) throw new Error('oneHot needs a labelled dataset (labels is missing)');
      let max = -1;
      for (let i = 0; i < data.labels.length; i++) max = Math.max(max, data.labels[i]);
      this.numClasses = data.numClasses ?? max + 1;
    }
  }

  *batches(epoch: number): Generator<Batch> {
    const { batchSize, seed, shuffle, dynamic, shape, oneHot } = this.opts;
    const order = epochOrder(this.data.count, seed, epoch, shuffle);
    const noise = dynamic ? new Rng(seed).fork(`binarize-epoch-${epoch}`) : undefined;
    const { images, labels } = this.data;
    const d = this.dim;
    for (let k = 0; k < this.numBatches; k++) {
      const start = k * batchSize;
      const b = Math.min(batchSize, this.data.count - start);
      const x = new Float32Array(b * d);
      const y = labels ? new Int32Array(b) : undefined;
      for (let i = 0; i < b; i++) {
        const j = order[start + i];
        x.set(images.subarray(j * d, (j + 1) * d), i * d);
        if (y) y[i] = labels![j];
      }
      if (noise) binarizeBernoulli(x, noise, x);
      const batch: Batch = { x: tf.tensor(x, shape === 'flat' ? [b, d] : [b, ...this.data.shape], 'float32') };
      if (y) batch.y = tf.tensor1d(y, 'int32');
      if (oneHot && y) {
        const c = new Float32Array(b * this.numClasses);
        for (let i = 0; i < b; i++) c[i * this.numClasses + y[i]] = 1;
        batch.condition = tf.tensor2d(c, [b, this.numClasses], 'float32');
      }
      yield batch;
    }
  }
}

/** Shorthand for `new ArrayBatchSource(data, options)`. */
export function createBatchSource(data: ImageDataset, options: BatchOptions): ArrayBatchSource {
  return new ArrayBatchSource(data, options);
}
