import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { type Distribution, klDivergence, registerKl, sumEvent } from './distribution';

/** Independent Bernoulli variables parametrised by logits (numerically stable). */
export class Bernoulli implements Distribution {
  readonly shape: number[];

  /** @param logits [batch, ...event] */
  constructor(readonly logits: tf.Tensor) {
    this.shape = logits.shape.slice();
  }

  probs(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }

  sample(rng: Rng): tf.Tensor {
    return tf.tidy(() => {
      const u = tf.randomUniform(this.shape, 0, 1, 'float32', rng.nextSeed());
      return tf.cast(tf.less(u, tf.sigmoid(this.logits)), 'float32');
    });
  }

  /**
   * x * l - softplus(l), written as -(max(l, 0) - l x + log(1 + exp(-|l|)))
   * so it never overflows. Works for x in [0, 1] (continuous Bernoulli-style
   * targets as used for grey-level MNIST).
   */
  logProbElementwise(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const l = this.logits;
      return tf.neg(tf.add(tf.sub(tf.relu(l), tf.mul(l, x)), tf.log1p(tf.exp(tf.neg(tf.abs(l))))));
    });
  }

  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(x)));
  }

  mean(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }

  entropy(): tf.Tensor1D {
    return tf.tidy(() => tf.neg(this.logProb(tf.sigmoid(this.logits))));
  }

  kl(other: Distribution): tf.Tensor1D {
    return klDivergence(this, other);
  }
}

/** KL(Ber(p) || Ber(q)) = p (log p - log q) + (1-p)(log(1-p) - log(1-q)). */
registerKl(Bernoulli, Bernoulli, (p, q) =>
  tf.tidy(() => {
    const pp = tf.sigmoid(p.logits);
    // log sigmoid(l) = -softplus(-l); log(1 - sigmoid(l)) = -softplus(l)
    const logP = tf.neg(tf.softplus(tf.neg(p.logits)));
    const log1mP = tf.neg(tf.softplus(p.logits));
    const logQ = tf.neg(tf.softplus(tf.neg(q.logits)));
    const log1mQ = tf.neg(tf.softplus(q.logits));
    return tf.add(tf.mul(pp, tf.sub(logP, logQ)), tf.mul(tf.sub(1, pp), tf.sub(log1mP, log1mQ)));
  }),
);
