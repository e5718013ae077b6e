import {
  type Batch,
  ConvDecoder,
  type Decoder,
  DiagonalGaussian,
  type Distribution,
  elboObjective,
  finalKlWeight,
  type GenerativeModel,
  importanceLogWeights,
  type InterpolateOptions,
  interpolateLatents,
  klPerDimension,
  klWeightSchedule,
  type LossContext,
  type LossOutput,
  MlpDecoder,
  Module,
  negLogLikelihood,
  Rng,
  type SampleOptions,
  type Schedule,
  StandardNormal,
  validateConfig,
} from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { type HvaeConfig, hvaeConfigSchema } from './config';
import { LadderPosterior, type LevelStep } from './ladder-posterior';
import { BottomUpPath, TopDownPath } from './ladder-networks';

/** Everything one training-style pass computes (tensors owned by the caller's tidy). */
export interface LadderPass {
  posterior: LadderPosterior;
  /** Every level's posterior, prior and draw, bottom-first. */
  steps: LevelStep[];
  /** p(x | z_1) */
  px: Distribution;
  /** KL(q_i || p_i) per latent dimension at every level, bottom-first: [batch, latentDims[i]]. */
  klPerDim: tf.Tensor2D[];
}

/**
 * Ladder VAE (Sønderby et al. 2016): a deterministic bottom-up pass gives a
 * Gaussian estimate per level; the top-down generative path
 * p(z_L) prod_i p(z_i | z_{i+1}) p(x | z_1) is shared by inference, where each
 * level's posterior is the precision-weighted merge of the bottom-up estimate
 * and the top-down prior given the level above.
 *
 * The latent `z` of `encode`/`decode` is the levels concatenated bottom-first
 * ([batch, sum(latentDims)]); `decode` reads z_1 from it (p(x | z) depends on
 * z_1 only) and also accepts z_1 alone ([batch, latentDims[0]]).
 *
 * Loss terms (nats per example): `reconstruction`, `kl` (sum over levels),
 * `kl_1` .. `kl_L` (level 1 at the bottom), `elbo`, and `klWeight` (the KL weight used).
 *
 * With `batchNorm` (the default) the blocks normalise with batch statistics
 * in training mode: call `model.eval()` before reconstructing, sampling or
 * estimating likelihoods so they use the running statistics.
 *
 * @example
 * const model = createHvae({ variant: 'hvae', inputShape: [784], latentDims: [32, 16, 8], seed: 1 });
 * const { loss, terms } = model.loss({ x }, { step });
 */
export class HierarchicalVae extends Module implements GenerativeModel {
  readonly variant = 'hvae';
  readonly config: HvaeConfig;
  readonly rng: Rng;
  readonly inputShape: number[];
  readonly latentDims: number[];
  readonly bottomUp: BottomUpPath;
  readonly topDown: TopDownPath;
  readonly decoder: Decoder;
  /** The loss has a KL term that LossContext.klWeight scales. */
  readonly usesKlWeight = true;
  /** The configured KL weight by step. */
  private readonly klSchedule: Schedule;
  /** The configured weight once any warm-up is over, the schedule's peak (used when no step is given). */
  private readonly klWeightFinal: number;

  /** @param config a config object (validated here; unknown fields are rejected) */
  constructor(config: unknown) {
    super();
    this.config = validateConfig(hvaeConfigSchema, config, 'hvae config');
    const c = this.config;
    this.rng = new Rng(c.seed);
    this.inputShape = [...c.inputShape];
    this.latentDims = [...c.latentDims];
    this.klSchedule = klWeightSchedule(c.klWeight);
    this.klWeightFinal = finalKlWeight(c.klWeight);
    const init = this.rng.fork('init');
    this.bottomUp = this.addModule('bottomUp', new BottomUpPath(c, init));
    this.topDown = this.addModule('topDown', new TopDownPath(c, init));
    const decoderOptions = { likelihood: c.likelihood, likelihoodScale: c.likelihoodScale };
    this.decoder = this.addModule(
      'decoder',
      c.architecture === 'conv'
        ? new ConvDecoder(c.latentDims[0], c.inputShape as [number, number, number], init, {
            channels: c.convChannels,
            activation: c.activation,
            batchNorm: c.batchNorm,
            ...decoderOptions,
          })
        : new MlpDecoder(c.latentDims[0], c.inputShape, init, {
            hiddenDims: new Array<number>(c.blockDepth).fill(c.hiddenDims[0]),
            activation: c.activation,
            ...decoderOptions,
          }),
    );
  }

  /** Number of stochastic levels L. */
  get numLevels(): number {
    return this.latentDims.length;
  }

  /** Total latent size, sum(latentDims). */
  get latentDim(): number {
    return this.config.latentDim;
  }

  private checkInput(x: tf.Tensor): void {
    const ok = x.rank === this.inputShape.length + 1 && this.inputShape.every((d, i) => x.shape[i + 1] === d);
    if (!ok) throw new Error(`hvae: x must be [batch, ${this.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }

  /**
   * q(z_1..z_L | x), levels concatenated bottom-first. `.levels()` gives every
   * level's Gaussian (mean path), `.rsample` draws ancestrally, `.logProb` is exact.
   * @param x [batch, ...inputShape]
   */
  encode(x: tf.Tensor): LadderPosterior {
    this.checkInput(x);
    return new LadderPosterior(this.bottomUp.forward(x), this.topDown);
  }

  /**
   * p(x | z_1).
   * @param z [batch, sum(latentDims)] (levels bottom-first) or [batch, latentDims[0]]
   */
  decode(z: tf.Tensor): Distribution {
    const d1 = this.latentDims[0];
    if (z.rank !== 2 || (z.shape[1] !== this.latentDim && z.shape[1] !== d1)) {
      throw new Error(`hvae: z must be [batch, ${this.latentDim}] (all levels) or [batch, ${d1}] (z_1), got [${z.shape.join(', ')}]`);
    }
    const z1 = z.shape[1] === d1 ? z : tf.slice(z, [0, 0], [-1, d1]);
    return this.decoder.forward(z1);
  }

  /**
   * One pass with reparameterised posterior draws at every level and the
   * per-level KLs KL(q(z_i | z_{i+1}, x) || p(z_i | z_{i+1})) at the drawn
   * z_{i+1}, KL(q(z_L | x) || N(0, I)) at the top (both Gaussian, so the
   * objective's analytic closed form).
   * @param x [batch, ...inputShape]
   */
  forwardPass(x: tf.Tensor): LadderPass {
    const posterior = this.encode(x);
    const steps = posterior.walk((_, q) => q.rsample(this.rng));
    const px = this.decoder.forward(steps[0].z);
    const klPerDim = steps.map((s) => klPerDimension(s.q, s.p, { z: s.z }));
    return { posterior, steps, px, klPerDim };
  }

  /** The KL weight for a loss evaluation: the context's klWeight if given, else the configured weight at the context's step. */
  klWeightFor(context: LossContext = {}): number {
    if (context.klWeight !== undefined) {
      if (!(context.klWeight >= 0)) throw new Error(`hvae: context klWeight must be >= 0, got ${context.klWeight}`);
      return context.klWeight;
    }
    // Without a step (evaluation) any warm-up is over.
    return context.step === undefined ? this.klWeightFinal : this.klSchedule(Math.max(0, context.step));
  }

  /**
   * -ELBO through core's objective, one KL term per level (`kl_1` at the
   * bottom .. `kl_L`), weighted by the KL weight, with free bits floored per
   * level (freeBitsMode 'level': the batch-mean KL of the whole level) or per
   * latent dimension of every level ('dimension').
   * @param batch x [batch, ...inputShape]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    const klWeight = this.klWeightFor(context);
    return tf.tidy(() => {
      const { px, klPerDim } = this.forwardPass(batch.x);
      const perLevel = this.config.freeBitsMode === 'level';
      return elboObjective({
        reconstruction: negLogLikelihood(px, batch.x),
        // A level's KL summed to [batch, 1] makes free bits floor the level as one group.
        kl: klPerDim.map((k, i) => ({ name: `kl_${i + 1}`, value: perLevel ? tf.sum(k, 1, true) : k })),
        klWeight,
        freeBits: this.config.freeBits,
      });
    });
  }

  /** Likelihood mean decoded from the posterior mean path: [batch, ...inputShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.decode(this.encode(x).mean()).mean());
  }

  /**
   * Ancestral draws from the prior, every level's noise scaled by the
   * temperature (z_L = T eps, z_i = mu_p + T sigma_p eps): levels concatenated, [n, sum(latentDims)].
   */
  sampleLatents(n: number, temperature = 1): tf.Tensor {
    if (!Number.isInteger(n) || n < 1) throw new Error(`hvae: sample count must be a positive integer, got ${n}`);
    if (!(temperature >= 0)) throw new Error(`hvae: temperature must be >= 0, got ${temperature}`);
    return tf.tidy(() => {
      const top = this.numLevels - 1;
      const zs: tf.Tensor[] = new Array(this.numLevels);
      zs[top] = tf.mul(tf.randomNormal([n, this.latentDims[top]], 0, 1, 'float32', this.rng.nextSeed()), temperature);
      for (let i = top - 1; i >= 0; i--) {
        const p = this.topDown.conditional(i, zs[i + 1]);
        const eps = tf.randomNormal([n, this.latentDims[i]], 0, 1, 'float32', this.rng.nextSeed());
        zs[i] = tf.add(p.loc, tf.mul(tf.mul(tf.exp(tf.mul(p.logVar, 0.5)), eps), temperature));
      }
      return tf.concat(zs, 1);
    });
  }

  /**
   * n new examples, ancestral from the top: [n, ...inputShape] (likelihood
   * means unless mode 'sample'). `temperature` scales every level's noise.
   */
  sample(n: number, options: SampleOptions = {}): tf.Tensor {
    if (options.condition) throw new Error('hvae: the model is unconditional (got a condition)');
    return tf.tidy(() => {
      const px = this.decode(this.sampleLatents(n, options.temperature ?? 1));
      return options.mode === 'sample' ? px.sample(this.rng) : px.mean();
    });
  }

  /**
   * log p(z) of the hierarchy, p(z_L) prod_i p(z_i | z_{i+1}).
   * @param z [batch, sum(latentDims)]
   * @returns [batch]
   */
  priorLogProb(z: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      if (z.rank !== 2 || z.shape[1] !== this.latentDim) throw new Error(`hvae: z must be [batch, ${this.latentDim}], got [${z.shape.join(', ')}]`);
      const zs = tf.split(z, this.latentDims, 1);
      const top = this.numLevels - 1;
      let lp = new StandardNormal(zs[top].shape).logProb(zs[top]);
      for (let i = top - 1; i >= 0; i--) lp = tf.add(lp, this.topDown.conditional(i, zs[i + 1]).logProb(zs[i]));
      return lp as tf.Tensor1D;
    });
  }

  /** Decoded path between the posterior mean paths of a and b (each [1, ...inputShape]): [steps, ...inputShape]. */
  interpolate(a: tf.Tensor, b: tf.Tensor, steps: number, options: InterpolateOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const z = interpolateLatents(this.encode(tf.slice(a, 0, 1)).mean(), this.encode(tf.slice(b, 0, 1)).mean(), steps, options.method);
      return this.decode(z).mean();
    });
  }

  /**
   * Importance log-weights log p(x | z_1) + log p(z) - log q(z | x) for k
   * ancestral posterior draws, with the exact hierarchical densities: [k, batch].
   * The bottom-up pass runs once; its Gaussians are tiled k times so that
   * core's `importanceLogWeights` draws all k * batch rows in one top-down
   * walk, which also gives log q and log p of the draw, and decodes them together.
   * @param x [batch, ...inputShape]
   */
  importanceLogWeights(x: tf.Tensor, k: number): tf.Tensor2D {
    if (!Number.isInteger(k) || k < 1) throw new Error(`hvae: k must be a positive integer, got ${k}`);
    return tf.tidy(() => {
      const b = x.shape[0];
      const tile = (t: tf.Tensor) => tf.tile(t, [k, ...t.shape.slice(1).map(() => 1)]);
      const hats = this.encode(x).bottomUp.map((g) => new DiagonalGaussian(tile(g.loc), tile(g.logVar)));
      const posterior = new DrawDensitiesPosterior(hats, this.topDown);
      const prior = { logProb: (z: tf.Tensor) => posterior.priorLogProbOfDraw(z) ?? this.priorLogProb(z) };
      // Rows are draw-major (row s * b + i is draw s of example i), so [1, k * b] reshapes to [k, b].
      const logW = importanceLogWeights(tile(x), () => posterior, (z) => this.decode(z), prior, this.rng, 1);
      return tf.reshape(logW, [k, b]) as tf.Tensor2D;
    });
  }
}

/**
 * A Ladder posterior that keeps log q(z | x) and the hierarchical prior's
 * log p(z) of its last draw: the top-down walk that draws z computes both
 * (q_i and p_i at every level), so the importance weights need no second
 * and third walk to evaluate them. Any other z is evaluated afresh. Its
 * tensors belong to the caller's tf.tidy.
 */
class DrawDensitiesPosterior extends LadderPosterior {
  private last?: { z: tf.Tensor; logQ: tf.Tensor1D; logPrior: tf.Tensor1D };

  override rsample(rng: Rng): tf.Tensor {
    const steps = this.walk((_, q) => q.rsample(rng));
    const z = tf.concat(steps.map((s) => s.z), 1);
    const logQ = tf.addN(steps.map((s) => s.q.logProb(s.z))) as tf.Tensor1D;
    const logPrior = tf.addN(steps.map((s) => s.p.logProb(s.z))) as tf.Tensor1D;
    this.last = { z, logQ, logPrior };
    return z;
  }

  override logProb(z: tf.Tensor): tf.Tensor1D {
    return z === this.last?.z ? this.last.logQ : super.logProb(z);
  }

  /** log p(z) of the hierarchy when z is the last draw, else undefined. */
  priorLogProbOfDraw(z: tf.Tensor): tf.Tensor1D | undefined {
    return z === this.last?.z ? this.last.logPrior : undefined;
  }
}

/** Build a Ladder VAE from a plain config (validated; see hvaeConfigSchema). */
export function createHvae(config: unknown): HierarchicalVae {
  return new HierarchicalVae(config);
}
