import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, Rng } from '@elbo/core';
import type { MnistSplitBytes } from './mnist-asset';

/**
 * A seeded `BatchSource` over uint8 images held in memory, for the browser.
 * @elbo/datasets' ArrayBatchSource needs float32 data (4x the memory) and its
 * package entry also carries the Node file readers, so the app keeps this
 * small one. Batch: `x` float32 [b, dim] in [0, 1]; `y` int32 [b].
 */
export class ByteBatchSource implements BatchSource {
  readonly size: number;

  constructor(
    private readonly split: MnistSplitBytes,
    private readonly dim: number,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`ByteBatchSource: batchSize must be a positive integer, got ${batchSize}`);
    if (split.images.length !== split.count * dim) throw new Error(`ByteBatchSource: ${split.images.length} bytes do not hold ${split.count} images of ${dim} pixels`);
    this.size = split.count;
  }

  /** Batches of one epoch in a permutation that depends only on (seed, epoch). */
  *batches(epoch: number): Iterable<Batch> {
    const order = new Rng(this.seed).fork(`epoch-${epoch}`).permutation(this.size);
    for (let start = 0; start < this.size; start += this.batchSize) {
      const n = Math.min(this.batchSize, this.size - start);
      const x = new Float32Array(n * this.dim);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const k = order[start + i];
        const src = this.split.images.subarray(k * this.dim, (k + 1) * this.dim);
        for (let j = 0; j < this.dim; j++) x[i * this.dim + j] = src[j] / 255;
        y[i] = this.split.labels[k];
      }
      yield { x: tf.tensor2d(x, [n, this.dim]), y: tf.tensor1d(y, 'int32') };
    }
  }
}
