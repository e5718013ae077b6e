import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../ops';
import type { Rng } from '../rng';
import { type Distribution, klDivergence, registerKl, repeatBatch, repeatParameter, sumEvent } from './distribution';

/** Laplace(loc, scale) with log-scale parametrisation; its log-likelihood is the L1 loss. */
export class Laplace implements Distribution {
  readonly shape: number[];

  /**
   * @param loc [batch, ...event]
   * @param logScale log b, broadcastable to loc
   */
  constructor(
    readonly loc: tf.Tensor,
    readonly logScale: tf.Tensor,
  ) {
    this.shape = loc.shape.slice();
  }

  /** loc - b sign(u) log(1 - 2|u|), u ~ U(-1/2, 1/2). */
  rsample(rng: Rng): tf.Tensor {
    return tf.tidy(() => {
      const lim = 0.5 - 1e-7;
      const u = tf.randomUniform(this.shape, -lim, lim, 'float32', rng.nextSeed());
      const b = tf.exp(this.logScale);
      return tf.sub(this.loc, tf.mul(tf.mul(b, tf.sign(u)), tf.log1p(tf.mul(tf.abs(u), -2))));
    });
  }

  sample(rng: Rng): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  repeat(k: number): Laplace {
    return new Laplace(repeatBatch(this.loc, k), repeatParameter(this.logScale, this.shape, k));
  }

  /** -log(2b) - |x - loc| / b */
  logProbElementwise(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      tf.sub(
        tf.neg(tf.add(this.logScale, Math.LN2)),
        tf.mul(tf.abs(tf.sub(x, this.loc)), tf.exp(tf.neg(this.logScale))),
      ),
    );
  }

  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(x)));
  }

  mean(): tf.Tensor {
    return this.loc.clone();
  }

  /** 1 + log(2b) */
  entropy(): tf.Tensor1D {
    return tf.tidy(() => sumEvent(tf.broadcastTo(tf.add(this.logScale, 1 + Math.LN2), this.shape)));
  }

  kl(other: Distribution): tf.Tensor1D {
    return klDivergence(this, other);
  }
}

/** KL = log(b2/b1) + (b1 exp(-|m1-m2|/b1) + |m1-m2|) / b2 - 1. */
registerKl(Laplace, Laplace, (p, q) =>
  tf.tidy(() => {
    const b1 = tf.exp(p.logScale);
    const b2 = tf.exp(q.logScale);
    const d = tf.abs(tf.sub(p.loc, q.loc));
    const t = tf.div(tf.add(tf.mul(b1, tf.exp(tf.neg(tf.div(d, b1)))), d), b2);
    return tf.sub(tf.add(tf.sub(q.logScale, p.logScale), t), 1);
  }),
);
