import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../ops';
import type { Rng } from '../rng';
import { type Distribution, klDivergence, LOG_2PI, registerKl, repeatBatch, repeatParameter, sumEvent } from './distribution';

/**
 * Kernel name of the reparameterised Gaussian draw z = loc + exp(logVar / 2) * eps, which a
 * backend may register with its gradient: inputs loc, logVar and eps (one shape, float32), output
 * z. One kernel forward and one backward where the ops take four and about seven, each costing a
 * kernel call more than its arithmetic on a [batch, latentDim] tensor.
 */
export const GAUSSIAN_RSAMPLE_KERNEL = 'ElboGaussianRsample';

/**
 * z = loc + exp(logVar / 2) * eps, in one kernel where the active backend registers
 * GAUSSIAN_RSAMPLE_KERNEL and the three have one shape, else as tfjs ops (which broadcast).
 * Gradients flow to loc and logVar (and eps).
 */
export function gaussianRsample(loc: tf.Tensor, logVar: tf.Tensor, eps: tf.Tensor): tf.Tensor {
  const fused =
    tf.getKernel(GAUSSIAN_RSAMPLE_KERNEL, tf.getBackend()) &&
    [loc, logVar, eps].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, eps.shape));
  if (fused) return tf.engine().runKernel(GAUSSIAN_RSAMPLE_KERNEL, { loc, logVar, eps }, {}) as tf.Tensor;
  return tf.tidy(() => tf.add(loc, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)));
}

/**
 * Gaussian with diagonal covariance, parametrised by mean and log-variance
 * (`logVar` may be any tensor broadcastable to `mean`, e.g. a scalar for a
 * fixed-variance likelihood).
 */
export class DiagonalGaussian implements Distribution {
  readonly shape: number[];

  /**
   * @param loc [batch, ...event] mean
   * @param logVar log-variance, broadcastable to loc
   */
  constructor(
    readonly loc: tf.Tensor,
    readonly logVar: tf.Tensor,
  ) {
    this.shape = loc.shape.slice();
  }

  /** Standard deviation exp(logVar / 2), broadcast to the full shape. */
  std(): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(tf.exp(tf.mul(this.logVar, 0.5)), this.shape));
  }

  /** z = mean + std * eps, eps ~ N(0, I): gradients flow to mean and logVar. */
  rsample(rng: Rng): tf.Tensor {
    return tf.tidy(() => {
      const eps = tf.randomNormal(this.shape, 0, 1, 'float32', rng.nextSeed());
      return gaussianRsample(this.loc, this.logVar, eps);
    });
  }

  sample(rng: Rng): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  repeat(k: number): DiagonalGaussian {
    return new DiagonalGaussian(repeatBatch(this.loc, k), repeatParameter(this.logVar, this.shape, k));
  }

  logProbElementwise(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const diff = tf.sub(x, this.loc);
      const quad = tf.mul(tf.square(diff), tf.exp(tf.neg(this.logVar)));
      return tf.mul(tf.add(tf.add(quad, this.logVar), LOG_2PI), -0.5);
    });
  }

  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(x)));
  }

  mean(): tf.Tensor {
    return this.loc.clone();
  }

  entropy(): tf.Tensor1D {
    return tf.tidy(() =>
      sumEvent(tf.broadcastTo(tf.mul(tf.add(this.logVar, 1 + LOG_2PI), 0.5), this.shape)),
    );
  }

  kl(other: Distribution): tf.Tensor1D {
    return klDivergence(this, other);
  }
}

/** The standard normal N(0, I) of a given shape [batch, ...event]. */
export class StandardNormal implements Distribution {
  constructor(readonly shape: number[]) {}

  rsample(rng: Rng): tf.Tensor {
    return tf.randomNormal(this.shape, 0, 1, 'float32', rng.nextSeed());
  }

  sample(rng: Rng): tf.Tensor {
    return this.rsample(rng);
  }

  repeat(k: number): StandardNormal {
    return new StandardNormal([k * this.shape[0], ...this.shape.slice(1)]);
  }

  logProbElementwise(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.add(tf.square(x), LOG_2PI), -0.5));
  }

  logProb(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(x)));
  }

  mean(): tf.Tensor {
    return tf.zeros(this.shape);
  }

  entropy(): tf.Tensor1D {
    return tf.tidy(() => sumEvent(tf.fill(this.shape, 0.5 * (1 + LOG_2PI))));
  }

  kl(other: Distribution): tf.Tensor1D {
    return klDivergence(this, other);
  }
}

/** KL(N(m1, v1) || N(m2, v2)) = 0.5 (log v2/v1 + (v1 + (m1-m2)^2)/v2 - 1), per element. */
registerKl(DiagonalGaussian, DiagonalGaussian, (p, q) =>
  tf.mul(
    tf.sub(
      tf.add(
        tf.sub(q.logVar, p.logVar),
        tf.mul(tf.add(tf.exp(p.logVar), tf.square(tf.sub(p.loc, q.loc))), tf.exp(tf.neg(q.logVar))),
      ),
      1,
    ),
    0.5,
  ),
);

/** KL(N(m, v) || N(0, 1)) = -0.5 (1 + log v - m^2 - v), per element. */
registerKl(DiagonalGaussian, StandardNormal, (p) =>
  tf.mul(tf.sub(tf.add(1, p.logVar), tf.add(tf.square(p.loc), tf.exp(p.logVar))), -0.5),
);

registerKl(StandardNormal, DiagonalGaussian, (p, q) =>
  tf.mul(
    tf.sub(tf.add(q.logVar, tf.mul(tf.add(1, tf.square(q.loc)), tf.exp(tf.neg(q.logVar)))), 1),
    0.5,
  ),
);

registerKl(StandardNormal, StandardNormal, (p) => tf.zeros(p.shape));
