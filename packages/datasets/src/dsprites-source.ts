import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, Rng } from '@elbo/core';
import { type BatchOptions, epochOrder, resolveBatchOptions } from './batch-source';
import { DSprites, type DSpritesOptions } from './dsprites';

const PIXELS = 64 * 64;

export interface DSpritesSourceOptions extends Omit<BatchOptions, 'binarize' | 'oneHot'>, DSpritesOptions {
  /** Grid indices to serve each epoch (e.g. `subsetIndices(...)`); default all 737,280. */
  indices?: ArrayLike<number>;
  /** Instead of `indices`: this many indices drawn uniformly (with replacement) from the seed, fixed across epochs. */
  sample?: number;
}

/**
 * A `BatchSource` over dSprites combinations, rendered lazily per batch (the
 * full grid as float32 would take 12 GB). Batch: `x` float32 [b, 4096] or
 * [b, 64, 64, 1] in {0, 1}; `y` int32 [b, 6] factor class indices
 * (color, shape, scale, orientation, posX, posY).
 *
 * @example
 * const source = new DSpritesSource({ batchSize: 64, seed: 3, sample: 20000, shape: 'image' });
 */
export class DSpritesSource implements BatchSource {
  readonly batchSize: number;
  readonly size: number;
  readonly numBatches: number;
  readonly dsprites: DSprites;
  /** The grid indices served each epoch (in this order when not shuffled). */
  readonly indices: Int32Array;
  private readonly opts: ReturnType<typeof resolveBatchOptions>;

  constructor(options: DSpritesSourceOptions) {
    this.dsprites = new DSprites(options);
    if (options.indices !== undefined && options.sample !== undefined) throw new Error('DSpritesSource: give indices or sample, not both');
    if (options.sample !== undefined) {
      if (!Number.isInteger(options.sample) || options.sample < 1) throw new Error(`DSpritesSource: sample must be a positive integer, got ${options.sample}`);
      const rng = new Rng(options.seed ?? 0).fork('dsprites-sample');
      this.indices = new Int32Array(options.sample);
      for (let i = 0; i < options.sample; i++) this.indices[i] = rng.int(this.dsprites.size);
    } else if (options.indices !== undefined) {
      this.indices = Int32Array.from(options.indices);
      for (const i of this.indices) if (i < 0 || i >= this.dsprites.size) throw new Error(`DSpritesSource: index ${i} is outside 0..${this.dsprites.size - 1}`);
    } else {
      this.indices = new Int32Array(this.dsprites.size);
      for (let i = 0; i < this.indices.length; i++) this.indices[i] = i;
    }
    if (this.indices.length === 0) throw new Error('DSpritesSource: indices is empty');
    this.opts = resolveBatchOptions({ ...options, binarize: undefined, oneHot: false }, this.indices.length);
    this.batchSize = this.opts.batchSize;
    const n = this.indices.length;
    this.numBatches = this.opts.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    this.size = this.opts.dropLast ? this.numBatches * this.batchSize : n;
  }

  *batches(epoch: number): Generator<Batch> {
    const { batchSize, seed, shuffle, shape } = this.opts;
    const n = this.indices.length;
    const order = epochOrder(n, seed, epoch, shuffle);
    for (let k = 0; k < this.numBatches; k++) {
      const start = k * batchSize;
      const b = Math.min(batchSize, n - start);
      const x = new Float32Array(b * PIXELS);
      const y = new Int32Array(b * 6);
      for (let i = 0; i < b; i++) {
        const f = this.dsprites.indexToFactors(this.indices[order[start + i]]);
        y.set(f, i * 6);
        this.dsprites.render(f, x, i * PIXELS);
      }
      yield {
        x: tf.tensor(x, shape === 'flat' ? [b, PIXELS] : [b, 64, 64, 1], 'float32'),
        y: tf.tensor2d(y, [b, 6], 'int32'),
      };
    }
  }
}
