import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';

/** Weight initialisers. All take the module's Rng so a seed fixes every weight. */
export type Initializer = 'pytorch' | 'glorotUniform' | 'heNormal' | 'zeros';

/**
 * PyTorch's default for Linear/Conv (kaiming_uniform with a = sqrt(5)):
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weights and biases alike. Matching it
 * makes elbo's numbers comparable to PyTorch references.
 */
export function initTensor(kind: Initializer, shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  switch (kind) {
    case 'pytorch': {
      const b = 1 / Math.sqrt(fanIn);
      return tf.randomUniform(shape, -b, b, 'float32', rng.nextSeed());
    }
    case 'glorotUniform': {
      const b = Math.sqrt(6 / (fanIn + fanOut));
      return tf.randomUniform(shape, -b, b, 'float32', rng.nextSeed());
    }
    case 'heNormal':
      return tf.truncatedNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', rng.nextSeed());
    case 'zeros':
      return tf.zeros(shape);
    default:
      throw new Error(`Unknown initializer "${kind as string}" (allowed: pytorch, glorotUniform, heNormal, zeros)`);
  }
}
