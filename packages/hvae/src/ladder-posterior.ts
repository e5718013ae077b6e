import { type Distribution, DiagonalGaussian, type Rng, StandardNormal, stopGradient, sumEvent } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { precisionWeightedMerge } from './merge';

/** Source of the top-down conditional priors p(z_i | z_{i+1}). */
export interface ConditionalPrior {
  conditional(level: number, zAbove: tf.Tensor): DiagonalGaussian;
}

/** One level of a top-down pass: its posterior, its prior and the latent picked. */
export interface LevelStep {
  /** q(z_i | z_{i+1}, x): [batch, latentDims[i]] */
  q: DiagonalGaussian;
  /** p(z_i | z_{i+1}), or N(0, I) at the top. */
  p: DiagonalGaussian | StandardNormal;
  /** The latent taken at this level (a draw or the mean): [batch, latentDims[i]] */
  z: tf.Tensor;
}

/**
 * The Ladder VAE posterior q(z_1..z_L | x) = q(z_L | x) prod_i q(z_i | z_{i+1}, x)
 * as one distribution over the levels concatenated bottom-first
 * ([batch, sum(latentDims)]). Each conditional is the precision-weighted merge
 * of the bottom-up estimate with the top-down prior given the level above, so
 * draws are ancestral and `logProb` is the exact hierarchical density.
 *
 * Like every elbo distribution it does not own tensors: use it inside tf.tidy.
 */
export class LadderPosterior implements Distribution {
  readonly shape: number[];

  /**
   * @param bottomUp per-level bottom-up Gaussians, bottom-first
   * @param prior the model's top-down path
   */
  constructor(
    readonly bottomUp: DiagonalGaussian[],
    private readonly prior: ConditionalPrior,
  ) {
    if (bottomUp.length < 2) throw new Error(`LadderPosterior: needs at least 2 levels, got ${bottomUp.length}`);
    const batch = bottomUp[0].shape[0];
    this.shape = [batch, this.latentDims.reduce((a, b) => a + b, 0)];
  }

  get latentDims(): number[] {
    return this.bottomUp.map((g) => g.shape[1]);
  }

  get numLevels(): number {
    return this.bottomUp.length;
  }

  /**
   * Walk top-down: at each level build q (merge) and p, then take z = pick(level, q).
   * @returns the steps, bottom-first
   */
  walk(pick: (level: number, q: DiagonalGaussian) => tf.Tensor): LevelStep[] {
    const top = this.numLevels - 1;
    const steps: LevelStep[] = new Array(this.numLevels);
    const qTop = this.bottomUp[top];
    steps[top] = { q: qTop, p: new StandardNormal(qTop.shape), z: pick(top, qTop) };
    for (let i = top - 1; i >= 0; i--) {
      const p = this.prior.conditional(i, steps[i + 1].z);
      const q = precisionWeightedMerge(this.bottomUp[i], p);
      steps[i] = { q, p, z: pick(i, q) };
    }
    return steps;
  }

  /** Split [batch, sum(latentDims)] into the levels, bottom-first. */
  splitLevels(z: tf.Tensor): tf.Tensor[] {
    if (z.rank !== 2 || z.shape[1] !== this.shape[1]) {
      throw new Error(`LadderPosterior: z must be [batch, ${this.shape[1]}], got [${z.shape.join(', ')}]`);
    }
    return tf.split(z, this.latentDims, 1);
  }

  /**
   * Per-level posteriors along the mean path (z_{i+1} set to the mean of the
   * level above): what `encode` shows of every level. The top one is exact;
   * lower ones are q(z_i | E-path, x), not the marginal q(z_i | x).
   */
  levels(): DiagonalGaussian[] {
    return this.walk((_, q) => q.loc).map((s) => s.q);
  }

  /** Ancestral reparameterised draw: [batch, sum(latentDims)]. */
  rsample(rng: Rng): tf.Tensor {
    return tf.tidy(() => tf.concat(this.walk((_, q) => q.rsample(rng)).map((s) => s.z), 1));
  }

  sample(rng: Rng): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  /** log q(z_i | z_{i+1}, x) per element, levels concatenated: [batch, sum(latentDims)]. */
  logProbElementwise(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const zs = this.splitLevels(z);
      const steps = this.walk((i) => zs[i]);
      return tf.concat(
        steps.map((s, i) => s.q.logProbElementwise(zs[i])),
        1,
      );
    });
  }

  /** Exact log q(z | x) of the hierarchy: [batch]. */
  logProb(z: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => sumEvent(this.logProbElementwise(z)));
  }

  /** The mean path, levels concatenated: [batch, sum(latentDims)]. */
  mean(): tf.Tensor {
    return tf.tidy(() => tf.concat(this.walk((_, q) => q.loc).map((s) => s.z), 1));
  }

  kl(): tf.Tensor1D {
    throw new Error('LadderPosterior: no analytic KL for a hierarchical posterior; use the per-level KLs of HierarchicalVae.loss');
  }
}
