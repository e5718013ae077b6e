import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../ops';
import { Layer } from './module';

export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running average (PyTorch's convention). */
  momentum?: number;
  epsilon?: number;
}

/**
 * Batch normalisation over the last (channel) axis, for [batch, features] and
 * NHWC tensors. In training mode it normalises with the batch statistics
 * (differentiably: tf.batchNorm gets explicit offset and scale, without which
 * tfjs cannot differentiate through tf.moments) and updates the running
 * statistics; in eval mode it uses the running statistics.
 */
export class BatchNorm extends Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly momentum: number;
  readonly epsilon: number;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) {
      throw new Error(`BatchNorm: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.momentum = options.momentum ?? 0.1;
    this.epsilon = options.epsilon ?? 1e-5;
    if (!(this.momentum > 0 && this.momentum <= 1)) throw new Error(`BatchNorm: momentum must be in (0, 1], got ${this.momentum}`);
    this.gamma = this.addParameter('gamma', tf.ones([numFeatures]));
    this.beta = this.addParameter('beta', tf.zeros([numFeatures]));
    this.runningMean = this.addBuffer('runningMean', tf.zeros([numFeatures]));
    this.runningVar = this.addBuffer('runningVar', tf.ones([numFeatures]));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.shape[x.rank - 1] !== this.numFeatures) {
        throw new Error(`BatchNorm: expected ${this.numFeatures} channels on the last axis, got [${x.shape.join(', ')}]`);
      }
      if (!this.training) {
        return tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.epsilon);
      }
      // Batch statistics as [1, n] x [n, c] matrix products: reductions over the
      // leading axes make tfjs's cpu kernels transpose and tile (measured: 0.85 s
      // of a 1.4 s conv-VAE step went to Mean), while a GEMM is fast everywhere.
      const n = x.size / this.numFeatures;
      const flat = tf.reshape(x, [n, this.numFeatures]);
      const weights = tf.fill([1, n], 1 / n);
      const mean = tf.reshape(tf.matMul(weights, flat), [this.numFeatures]);
      const centered = tf.sub(flat, mean);
      const variance = tf.reshape(tf.matMul(weights, tf.square(centered)), [this.numFeatures]);
      // Running statistics are state, not part of the differentiated graph.
      tf.tidy(() => {
        const m = this.momentum;
        const unbiased = tf.mul(stopGradient(variance), n > 1 ? n / (n - 1) : 1);
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(stopGradient(mean), m)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      });
      // Normalise with plain broadcast ops on [n, c] (their gradients reduce over
      // axis 0 of a matrix, which is cheap; FusedBatchNorm's gradient reduces a 4-D tensor).
      const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.reshape(tf.add(tf.mul(normalized, this.gamma), this.beta), x.shape);
    });
  }
}
