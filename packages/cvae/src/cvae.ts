import * as tf from '@tensorflow/tfjs-core';
import {
  type Batch,
  type BaseModelConfig,
  buildEncoderDecoder,
  Dense,
  type Distribution,
  type InterpolateOptions,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  Rng,
  type SampleOptions,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { type ConditionInput, type ConditionSpec, conditionRows, isConditionInput } from './condition';
import { type CvaeConfig, type CvaeConfigInput, cvaeConfigSchema, resolveConditionDim } from './config';

/** Sampling options of a conditional model: the condition may be labels or vectors. */
export interface CvaeSampleOptions extends Omit<SampleOptions, 'condition'> {
  /** See ConditionInput; default for class models: labels 0, 1, ..., numClasses-1, 0, 1, ... */
  condition?: ConditionInput;
}

/**
 * Conditional VAE (Sohn, Lee & Yan 2015): q(z | x, c), p(x | z, c), p(z) = N(0, I).
 * The condition c is a class label (one-hot) or a real vector; it is
 * concatenated to the MLP inputs / broadcast as channels to the conv encoder
 * and concatenated to z in the decoder, optionally through a learned linear
 * embedding. Every method that takes a condition accepts any `ConditionInput`
 * and checks its width and label range.
 *
 * @example
 * const m = createCvae({ inputShape: [784], numClasses: 10, latentDim: 16 });
 * const sevens = m.sample(8, 7);                 // [8, 784]
 * const asThrees = m.swapCondition(x, y, 3);     // x's style, drawn as 3s
 */
export class Cvae extends LatentVariableModel {
  readonly variant = 'cvae';
  readonly usesKlWeight = true;
  declare readonly config: CvaeConfig & BaseModelConfig;
  /** How conditions are read (class labels or vectors, and their width). */
  readonly conditionSpec: ConditionSpec;
  /** Learned linear embedding of the condition (null: the raw condition is fed). */
  readonly embedding: Dense | null;

  constructor(config: CvaeConfig) {
    const inputShape = config.inputShape;
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const conditionDim = resolveConditionDim(config);
    // What the networks see: the raw condition or its embedding.
    const fedDim = config.conditionEmbedding > 0 ? config.conditionEmbedding : conditionDim;
    const { encoder, decoder } = buildEncoderDecoder({ ...config, conditionDim: fedDim }, init);
    // For one-hot classes a bias-free linear map is exactly a lookup table.
    const embedding = config.conditionEmbedding > 0 ? new Dense(conditionDim, config.conditionEmbedding, init, { bias: config.numClasses === undefined }) : null;
    super(config as CvaeConfig & BaseModelConfig, inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng);
    this.conditionSpec = { numClasses: config.numClasses, dim: conditionDim };
    this.embedding = embedding ? this.addModule('embedding', embedding) : null;
  }

  /** Number of classes for class conditioning, else undefined. */
  get numClasses(): number | undefined {
    return this.conditionSpec.numClasses;
  }

  /**
   * Validate a condition and return it as float rows, one per example.
   * @returns [batch, conditionDim] (one-hot rows for labels)
   */
  conditionRows(condition: ConditionInput | undefined, batch: number, who = 'cvae'): tf.Tensor2D {
    return conditionRows(condition, this.conditionSpec, batch, who);
  }

  /** The rows the networks see: the raw condition or its embedding. [batch, fed width] */
  private fed(condition: ConditionInput | undefined, batch: number, who: string): tf.Tensor {
    return tf.tidy(() => {
      const rows = this.conditionRows(condition, batch, who);
      return this.embedding ? this.embedding.apply(rows) : rows;
    });
  }

  /**
   * q(z | x, c).
   * @param x [batch, ...inputShape]
   * @param condition labels or rows for the batch (see ConditionInput)
   */
  override encode(x: tf.Tensor, condition?: ConditionInput): Distribution {
    this.checkInput(x);
    return this.encoder.forward(x, this.fed(condition, x.shape[0], 'cvae.encode'));
  }

  /**
   * p(x | z, c).
   * @param z [batch, latentDim]
   * @param condition labels or rows for the batch
   */
  override decode(z: tf.Tensor, condition?: ConditionInput): Distribution {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) {
      throw new Error(`cvae: z must be [batch, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    }
    return this.decoder.forward(z, this.fed(condition, z.shape[0], 'cvae.decode'));
  }

  /**
   * Likelihood mean decoded from the posterior mean under the same condition.
   * @param x [batch, ...inputShape] @returns [batch, ...inputShape]
   */
  override reconstruct(x: tf.Tensor, condition?: ConditionInput): tf.Tensor {
    return tf.tidy(() => {
      const rows = this.conditionRows(condition, x.shape[0], 'cvae.reconstruct');
      return this.decode(this.encode(x, rows).mean(), rows).mean();
    });
  }

  /**
   * Style transfer: encode x under its own condition, decode the posterior
   * mean under another (e.g. the same handwriting drawn as another digit).
   * @param x [batch, ...inputShape]
   * @param condition x's own labels / rows
   * @param target the condition to decode with (one for all, or one per example)
   * @returns [batch, ...inputShape] likelihood means
   */
  swapCondition(x: tf.Tensor, condition: ConditionInput, target: ConditionInput): tf.Tensor {
    return tf.tidy(() => this.decode(this.encode(x, condition).mean(), target).mean());
  }

  /**
   * n new examples under a condition: [n, ...inputShape].
   * @param conditionOrOptions a condition (label, labels, vector or rows) or options with one.
   *   Class models default to labels 0..numClasses-1 repeated; vector models require a condition.
   */
  override sample(n: number, conditionOrOptions: ConditionInput | CvaeSampleOptions = {}): tf.Tensor {
    const options: CvaeSampleOptions = isConditionInput(conditionOrOptions) ? { condition: conditionOrOptions } : conditionOrOptions;
    return tf.tidy(() => {
      const z = this.sampleLatents(n, options.temperature ?? 1);
      let condition = options.condition;
      if (condition === undefined && this.numClasses !== undefined) {
        condition = Array.from({ length: n }, (_, i) => i % (this.numClasses as number));
      }
      const px = this.decode(z, this.conditionRows(condition, n, 'cvae.sample'));
      return options.mode === 'sample' ? px.sample(this.rng) : px.mean();
    });
  }

  /**
   * Decoded path between the posterior means of a and b ([1, ...inputShape]
   * each), encoded and decoded under one condition: [steps, ...inputShape].
   */
  override interpolate(a: tf.Tensor, b: tf.Tensor, steps: number, options: InterpolateOptions & { condition?: ConditionInput } = {}): tf.Tensor {
    return tf.tidy(() => super.interpolate(a, b, steps, { ...options, condition: this.conditionRows(options.condition, 1, 'cvae.interpolate') }));
  }

  /** Latent traversal under one condition (see LatentVariableModel.traverse): [values.length, ...inputShape]. */
  override traverse(dim: number, values: number[], base?: tf.Tensor, condition?: ConditionInput): tf.Tensor {
    return tf.tidy(() => super.traverse(dim, values, base, this.conditionRows(condition, 1, 'cvae.traverse')));
  }

  /** log p(x|z,c) + log p(z) - log q(z|x,c) for k draws per example: [k, batch]. */
  override importanceLogWeights(x: tf.Tensor, k: number, condition?: ConditionInput): tf.Tensor2D {
    return tf.tidy(() => super.importanceLogWeights(x, k, this.conditionRows(condition, x.shape[0], 'cvae.importanceLogWeights')));
  }

  /**
   * -ELBO of a batch in nats per example through the objective: reconstruction + klWeight * kl.
   * The condition comes from `batch.condition` (labels or rows), else `batch.y` (labels).
   * Terms: reconstruction (-E_q log p(x|z,c)), kl (KL(q(z|x,c) || N(0, I))), elbo, klWeight (the weight used).
   * @param batch.x [batch, ...inputShape]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    this.checkInput(batch.x, 'batch.x');
    const given = batch.condition ?? batch.y;
    if (given === undefined) throw new Error('cvae.loss: the batch needs a condition (batch.condition) or labels (batch.y)');
    return tf.tidy(() => {
      const condition = this.conditionRows(given, batch.x.shape[0], 'cvae.loss');
      return this.elbo({ x: batch.x, condition }, { klWeight: this.klWeightFor(context), step: context.step });
    });
  }
}

/**
 * Build a conditional VAE from a plain config (validated; defaults filled in).
 * Validated with the schema `createModel` uses.
 * @example
 * const cvae = createCvae({ inputShape: [784], numClasses: 10, latentDim: 16 });
 */
export function createCvae(config: Omit<CvaeConfigInput, 'variant'> & { variant?: 'cvae' }): Cvae {
  return new Cvae(validateConfig(cvaeConfigSchema, { variant: 'cvae', ...config }, 'cvae config'));
}
