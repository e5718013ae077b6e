import {
  type Batch,
  type BatchSource,
  Categorical,
  Dense,
  disposeBatch,
  type Distribution,
  elboObjective,
  type GenerativeModel,
  type InterpolateOptions,
  interpolateLatents,
  type Layer,
  type LossContext,
  type LossOutput,
  MlpDecoder,
  Module,
  negLogLikelihood,
  Rng,
  type SampleOptions,
  Sequential,
  stopGradient,
  oneHotFloat,
  validateConfig,
  type WeightedTerm,
} from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { type CodebookStats, codebookStats, codebookStatsFromCounts } from './codebook-stats';
import { type VqVaeConfig, vqvaeConfigSchema } from './config';
import { GatedPixelCnn } from './gated-pixelcnn';
import { VectorQuantizer } from './quantizer';

/**
 * Which part of the model `loss` and `parameters` address: the autoencoder
 * (encoder, codebook, decoder) is trained first; then the prior over the code
 * grid is trained on the codes of the (frozen) encoder.
 */
export type VqVaePhase = 'autoencoder' | 'prior';

/**
 * The posterior of a VQ-VAE: one-hot on the nearest code at every grid
 * position (q(z = k | x) = 1 for k = argmin_j ||ze(x) - e_j||). As a core
 * Categorical, `sample`/`mode` give the code indices [batch, H, W].
 */
export class CodeAssignment extends Categorical {
  /**
   * @param indices [batch, H, W] int32 (owned by the caller, like every distribution parameter)
   */
  constructor(
    readonly indices: tf.Tensor,
    numCodes: number,
  ) {
    // A finite very negative logit keeps logSoftmax and Gumbel-max finite.
    super(tf.tidy(() => tf.mul(tf.sub(oneHotFloat(indices, numCodes), 1), 1e9)));
  }

  override mode(): tf.Tensor {
    return this.indices.clone();
  }
}

/**
 * VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete
 * Representation Learning") with a gated PixelCNN prior over the code grid,
 * so that, unlike PyTorch-VAE's VQ-VAE, it can sample.
 *
 * x [batch, ...inputShape] -> encoder -> ze [batch, H, W, D] -> nearest codes
 * (straight-through) -> decoder -> p(x | zq). Loss (autoencoder phase, nats
 * per example, stated through core's `elboObjective` as a reconstruction
 * with extra terms and no KL): -log p(x | zq) + ||sg(ze) - e||^2 (gradient mode) +
 * commitmentWeight ||ze - sg(e)||^2, the squared errors summed over the grid. Terms also
 * report the batch's codebook perplexity and fraction of codes used. The
 * first training step initialises the codebook from encoder outputs
 * (`dataInit`, default on).
 *
 * Training: fit the autoencoder (phase 'autoencoder', the default), then
 * `setPhase('prior')` and fit again: `loss` becomes the prior's NLL of the
 * encoded batch and `parameters()` the prior's parameters. `namedVariables()`
 * always holds everything (encoder, codebook and its EMA state, decoder,
 * prior), so a checkpoint keeps codebook and prior.
 */
export class VqVae extends Module implements GenerativeModel {
  readonly variant = 'vqvae';
  readonly rng: Rng;
  readonly inputShape: number[];
  readonly encoder: Sequential;
  readonly quantizer: VectorQuantizer;
  readonly decoder: MlpDecoder;
  readonly pixelCnn: GatedPixelCnn;
  readonly codeGrid: [number, number];
  private currentPhase: VqVaePhase = 'autoencoder';
  private trainingSteps = 0;

  readonly config: VqVaeConfig;
  /** No KL term: the trainer's KL weight has nothing to scale. */
  readonly usesKlWeight = false;

  /** @param config a plain config, validated here (unknown fields are rejected) */
  constructor(input: unknown) {
    super();
    const config = validateConfig(vqvaeConfigSchema, input, 'vqvae config');
    this.config = config;
    this.rng = new Rng(config.seed);
    const init = this.rng.fork('init');
    this.inputShape = [...config.inputShape];
    this.codeGrid = [config.codeGrid[0], config.codeGrid[1]];
    const inputDim = this.inputShape.reduce((a, b) => a * b, 1);
    const flatCodes = this.positions * config.latentDim;
    const layers: Layer[] = [];
    let d = inputDim;
    for (const h of config.hiddenDims) {
      layers.push(new Dense(d, h, init, { activation: config.activation }));
      d = h;
    }
    layers.push(new Dense(d, flatCodes, init));
    this.encoder = this.addModule('encoder', new Sequential(layers));
    this.quantizer = this.addModule(
      'quantizer',
      new VectorQuantizer(config.numCodes, config.latentDim, init, { update: config.codebookUpdate, decay: config.emaDecay, epsilon: config.emaEpsilon }),
    );
    this.decoder = this.addModule(
      'decoder',
      new MlpDecoder(flatCodes, this.inputShape, init, {
        hiddenDims: [...config.hiddenDims].reverse(),
        activation: config.activation,
        likelihood: config.likelihood,
        likelihoodScale: config.likelihoodScale,
      }),
    );
    this.pixelCnn = this.addModule('prior', new GatedPixelCnn(config.numCodes, this.codeGrid, init, config.prior));
  }

  /** H * W, the number of codes per example. */
  get positions(): number {
    return this.codeGrid[0] * this.codeGrid[1];
  }

  get numCodes(): number {
    return this.config.numCodes;
  }

  get phase(): VqVaePhase {
    return this.currentPhase;
  }

  /** Switch what `loss` and `parameters` address (see the class comment). */
  setPhase(phase: VqVaePhase): this {
    if (phase !== 'autoencoder' && phase !== 'prior') throw new Error(`vqvae: phase must be 'autoencoder' or 'prior', got ${String(phase)}`);
    this.currentPhase = phase;
    return this;
  }

  /** The trainable parameters of the current phase. */
  override parameters(): tf.Variable[] {
    const prefix = 'prior.';
    const wantPrior = this.currentPhase === 'prior';
    return [...this.namedParameters()].filter(([name]) => name.startsWith(prefix) === wantPrior).map(([, v]) => v);
  }

  private checkInput(x: tf.Tensor): void {
    const ok = x.rank === this.inputShape.length + 1 && this.inputShape.every((d, i) => x.shape[i + 1] === d);
    if (!ok) throw new Error(`vqvae: x must be [batch, ${this.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }

  /**
   * Continuous encoder outputs before quantisation.
   * @param x [batch, ...inputShape]
   * @returns ze [batch, H, W, D]
   */
  encodeContinuous(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      this.checkInput(x);
      const [h, w] = this.codeGrid;
      return tf.reshape(this.encoder.apply(tf.reshape(x, [x.shape[0], -1])), [x.shape[0], h, w, this.config.latentDim]) as tf.Tensor4D;
    });
  }

  /**
   * Code indices of x.
   * @param x [batch, ...inputShape]
   * @returns [batch, H, W] int32
   */
  encodeIndices(x: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const ze = this.encodeContinuous(x);
      const [h, w] = this.codeGrid;
      return tf.reshape(this.quantizer.nearest(tf.reshape(ze, [-1, this.config.latentDim])), [x.shape[0], h, w]) as tf.Tensor3D;
    });
  }

  /** q(z | x): one-hot on the nearest codes; `.indices` / `.mode()` are [batch, H, W] int32. */
  encode(x: tf.Tensor): CodeAssignment {
    const indices = this.encodeIndices(x);
    const q = new CodeAssignment(indices, this.numCodes);
    return q;
  }

  /**
   * p(x | z) from code indices [batch, H, W] (int32) or from code vectors
   * [batch, H, W, D] / [batch, H * W * D] (float32, used as given).
   */
  decode(z: tf.Tensor): Distribution {
    const [h, w] = this.codeGrid;
    const d = this.config.latentDim;
    const flat = tf.tidy(() => {
      if (z.dtype === 'int32' && z.rank === 3 && z.shape[1] === h && z.shape[2] === w) {
        return tf.reshape(this.quantizer.lookup(z), [z.shape[0], h * w * d]);
      }
      if (z.dtype === 'float32' && z.rank === 4 && z.shape[1] === h && z.shape[2] === w && z.shape[3] === d) {
        return tf.reshape(z, [z.shape[0], h * w * d]);
      }
      if (z.dtype === 'float32' && z.rank === 2 && z.shape[1] === h * w * d) return z.clone();
      throw new Error(
        `vqvae: decode takes code indices [batch, ${h}, ${w}] int32 or code vectors [batch, ${h}, ${w}, ${d}] / [batch, ${h * w * d}] float32; got [${z.shape.join(', ')}] ${z.dtype}`,
      );
    });
    const px = this.decoder.forward(flat);
    flat.dispose();
    return px;
  }

  /** Likelihood mean decoded from the nearest codes of x: [batch, ...inputShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.decode(this.encodeIndices(x)).mean());
  }

  /**
   * n new examples: codes drawn from the PixelCNN prior (at `temperature`,
   * default 1), decoded to the likelihood mean (or a draw with mode 'sample').
   * @returns [n, ...inputShape]
   */
  sample(n: number, options: SampleOptions = {}): tf.Tensor {
    if (options.condition) throw new Error('vqvae: the model is unconditional; sample takes no condition');
    const codes = this.sampleCodes(n, options.temperature ?? 1);
    const out = tf.tidy(() => {
      const px = this.decode(codes);
      return options.mode === 'sample' ? px.sample(this.rng) : px.mean();
    });
    codes.dispose();
    return out;
  }

  /** n code grids from the prior: [n, H, W] int32. */
  sampleCodes(n: number, temperature = 1): tf.Tensor3D {
    return this.pixelCnn.sample(n, this.rng, temperature);
  }

  /**
   * Decoded path between a and b (each [1, ...inputShape]): the continuous
   * encoder outputs are interpolated, then quantised. [steps, ...inputShape]
   */
  interpolate(a: tf.Tensor, b: tf.Tensor, steps: number, options: InterpolateOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const za = tf.reshape(this.encodeContinuous(a), [1, -1]);
      const zb = tf.reshape(this.encodeContinuous(b), [1, -1]);
      const path = interpolateLatents(za, zb, steps, options.method);
      const idx = this.quantizer.nearest(tf.reshape(path, [-1, this.config.latentDim]));
      return this.decode(tf.reshape(idx, [steps, ...this.codeGrid])).mean();
    });
  }

  /**
   * Training objective of the current phase for one batch (nats per example).
   * Autoencoder phase terms: reconstruction, codebook (gradient mode),
   * commitment (before commitmentWeight), perplexity and codesUsed (of this batch's codes).
   * In training mode it also updates the usage statistics, the EMA codebook,
   * and restarts dead codes every `deadCodeRestart.every` steps.
   * Prior phase terms: priorNll (nats per example) and priorBitsPerCode.
   *
   * The objective has no KL term (`usesKlWeight` is false): a `context.klWeight`
   * is ignored, and the commitment weight is the config's `commitmentWeight`.
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    return this.currentPhase === 'prior' ? this.priorLoss(batch) : this.autoencoderLoss(batch, context);
  }

  private autoencoderLoss(batch: Batch, context: LossContext): LossOutput {
    const x = batch.x;
    this.checkInput(x);
    const step = context.step ?? this.trainingSteps;
    const out = tf.tidy(() => {
      const b = x.shape[0];
      const d = this.config.latentDim;
      const ze = tf.reshape(this.encodeContinuous(x), [-1, d]);
      if (this.training && this.config.dataInit && !this.quantizer.isInitialized) this.quantizer.initFromData(stopGradient(ze), this.rng);
      const q = this.quantizer.quantize(ze);
      const px = this.decoder.forward(tf.reshape(q.zq, [b, -1]));
      const perExample = (t: tf.Tensor) => tf.mean(tf.sum(tf.reshape(t, [b, this.positions]), 1)) as tf.Scalar;
      // No KL term: a deterministic one-hot posterior against a uniform prior has a constant KL (log K per position).
      const extra: Record<string, WeightedTerm> = {};
      if (this.quantizer.update === 'gradient') extra.codebook = { value: perExample(q.codebookError) };
      extra.commitment = { value: perExample(q.commitmentError), weight: this.config.commitmentWeight };
      const { loss, terms } = elboObjective({ reconstruction: negLogLikelihood(px, x), extra });
      const counts = this.quantizer.counts(q.indices);
      const p = tf.div(counts, tf.sum(counts));
      terms.perplexity = tf.exp(tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-12)))))) as tf.Scalar;
      terms.codesUsed = tf.mean(tf.cast(tf.greater(counts, 0), 'float32')) as tf.Scalar;
      if (this.training) {
        // State updates are not part of the differentiated objective.
        const zeValue = stopGradient(ze);
        this.quantizer.trackUsage(q.indices);
        if (this.quantizer.update === 'ema') this.quantizer.emaUpdate(zeValue, q.indices);
        const restart = this.config.deadCodeRestart;
        if (restart !== false && (step + 1) % restart.every === 0) this.quantizer.restartDeadCodes(zeValue, restart.threshold, this.rng);
      }
      return { loss, terms };
    });
    if (this.training) this.trainingSteps = step + 1;
    return out;
  }

  private priorLoss(batch: Batch): LossOutput {
    return tf.tidy(() => {
      const codes = this.encodeIndices(batch.x);
      const priorNll = tf.neg(tf.mean(this.pixelCnn.logProb(codes))) as tf.Scalar;
      const priorBitsPerCode = tf.div(priorNll, this.positions * Math.LN2) as tf.Scalar;
      return { loss: priorNll, terms: { priorNll, priorBitsPerCode } };
    });
  }

  /** Codebook perplexity and usage over the codes of x. @param x [batch, ...inputShape] */
  codebookStats(x: tf.Tensor): CodebookStats {
    const idx = this.encodeIndices(x);
    const values = idx.dataSync();
    idx.dispose();
    return codebookStats(values, this.numCodes);
  }

  /**
   * Codebook perplexity and usage over a whole data source (one pass of
   * `source.batches(epoch)`, at most `limit` examples): the per-epoch diagnostic.
   */
  evaluateCodebook(source: BatchSource, options: { epoch?: number; limit?: number } = {}): CodebookStats {
    const counts = new Float64Array(this.numCodes);
    let seen = 0;
    for (const batch of source.batches(options.epoch ?? 0)) {
      try {
        if (options.limit !== undefined && seen >= options.limit) break;
        const c = tf.tidy(() => this.quantizer.counts(this.encodeIndices(batch.x)));
        const values = c.dataSync();
        c.dispose();
        for (let k = 0; k < this.numCodes; k++) counts[k] += values[k];
        seen += batch.x.shape[0];
      } finally {
        disposeBatch(batch);
      }
    }
    return codebookStatsFromCounts(counts);
  }
}

/**
 * Build a VQ-VAE from a plain config, validated with the same schema (and the
 * same errors) as `createModel({ variant: 'vqvae', ... })`.
 * @example createVqVae({ variant: 'vqvae', inputShape: [28, 28, 1], codeGrid: [4, 4], numCodes: 64 })
 */
export function createVqVae(config: unknown): VqVae {
  return new VqVae(config);
}
