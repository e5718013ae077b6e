import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { type Distribution, klDivergence, registerKl, sumEvent } from './distribution';

/**
 * Independent categorical variables over the last axis of `logits`
 * ([batch, ...positions, K]). Values are int32 class indices of shape
 * [batch, ...positions].
 */
export class Categorical implements Distribution {
  readonly shape: number[];
  readonly numClasses: number;

  constructor(readonly logits: tf.Tensor) {
    if (logits.rank < 2) throw new Error(`Categorical: logits must have rank >= 2 ([batch, ..., K]), got rank ${logits.rank}`);
    this.shape = logits.shape.slice(0, -1);
    this.numClasses = logits.shape[logits.rank - 1];
  }

  logProbs(): tf.Tensor {
    return tf.logSoftmax(this.logits);
  }

  probs(): tf.Tensor {
    return tf.softmax(this.logits);
  }

  sample(rng: Rng): tf.Tensor {
    return tf.tidy(() => {
      // Gumbel-max: argmax(logits + G), G = -log(-log(U)). (tf.multinomial on the
      // cpu backend draws the same uniform for every row of a batch.)
      const u = tf.randomUniform(this.logits.shape, 1e-12, 1, 'float32', rng.nextSeed());
      return tf.argMax(tf.sub(this.logits, tf.log(tf.neg(tf.log(u)))), -1);
    });
  }

  logProbElementwise(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const oneHot = tf.oneHot(tf.cast(x, 'int32'), this.numClasses);
      return tf.sum(tf.mul(oneHot, tf.logSoftmax(this.logits)), -1);
    });
  }

  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(x)));
  }

  /** The mean of a categorical over indices is not meaningful: returns the probabilities. */
  mean(): tf.Tensor {
    return tf.softmax(this.logits);
  }

  /** The most likely class per position. */
  mode(): tf.Tensor {
    return tf.argMax(this.logits, -1);
  }

  entropy(): tf.Tensor1D {
    return tf.tidy(() => {
      const lp = tf.logSoftmax(this.logits);
      return sumEvent(tf.neg(tf.sum(tf.mul(tf.exp(lp), lp), -1)));
    });
  }

  kl(other: Distribution): tf.Tensor1D {
    return klDivergence(this, other);
  }
}

registerKl(Categorical, Categorical, (p, q) =>
  tf.tidy(() => {
    const lp = tf.logSoftmax(p.logits);
    const lq = tf.logSoftmax(q.logits);
    return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), -1);
  }),
);
