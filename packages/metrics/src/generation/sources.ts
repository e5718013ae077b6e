import type * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchSource, GenerativeModel } from '@elbo/core';
import { checkPositiveInt } from '../data';

/**
 * `count` fresh samples of a model as a BatchSource, drawn lazily `batchSize`
 * at a time (so generation metrics never hold all samples at once).
 * @example fid(realImages, modelSamples(model, 10000), { extractor })
 */
export function modelSamples(model: GenerativeModel, count: number, batchSize = 250, sample?: (n: number) => tf.Tensor): BatchSource {
  checkPositiveInt(count, 'count');
  checkPositiveInt(batchSize, 'batchSize');
  const draw = sample ?? ((n: number) => model.sample(n));
  return {
    size: count,
    batchSize,
    *batches(): Iterable<Batch> {
      for (let done = 0; done < count; done += batchSize) yield { x: draw(Math.min(batchSize, count - done)) };
    },
  };
}
