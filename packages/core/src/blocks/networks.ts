import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian } from '../distributions/diagonal-gaussian';
import type { Distribution } from '../distributions/distribution';
import { Decoder, Encoder } from '../model';
import { type ActivationName, Activation, Flatten, Reshape } from '../nn/activations';
import { BatchNorm } from '../nn/batch-norm';
import { Conv2d, ConvTranspose2d } from '../nn/conv';
import { Dense } from '../nn/dense';
import type { Layer } from '../nn/module';
import { ResidualBlock } from '../nn/residual';
import { Sequential } from '../nn/sequential';
import type { Rng } from '../rng';
import { type LikelihoodFamily, type LikelihoodOptions, likelihoodParamsPerElement, makeLikelihood } from './likelihood';

/**
 * Reusable encoder and decoder networks for single-latent models (vae, cvae,
 * tcvae, ...). Conditions, when given, are concatenated to the input (MLP) or
 * broadcast as extra channels (conv) in the encoder, and concatenated to z in
 * the decoder.
 */

export interface MlpOptions {
  /** Widths of the hidden layers, in order (empty: a single linear map). */
  hiddenDims: number[];
  activation?: ActivationName;
  /** Width of the condition vector appended to the input (0 = unconditional). */
  conditionDim?: number;
}

function mlpBody(inDim: number, hiddenDims: number[], activation: ActivationName, rng: Rng): Sequential {
  const layers: Layer[] = [];
  let d = inDim;
  for (const h of hiddenDims) {
    layers.push(new Dense(d, h, rng, { activation }));
    d = h;
  }
  return new Sequential(layers);
}

function withCondition(x: tf.Tensor, condition: tf.Tensor | undefined, conditionDim: number, who: string): tf.Tensor {
  if (conditionDim === 0) {
    if (condition) throw new Error(`${who}: got a condition but the model is unconditional (conditionDim 0)`);
    return x;
  }
  if (!condition) throw new Error(`${who}: a condition [batch, ${conditionDim}] is required`);
  if (condition.rank !== 2 || condition.shape[1] !== conditionDim || condition.shape[0] !== x.shape[0]) {
    throw new Error(`${who}: condition must be [${x.shape[0]}, ${conditionDim}], got [${condition.shape.join(', ')}]`);
  }
  return tf.concat([x, tf.cast(condition, 'float32')], 1);
}

/** Two Dense heads giving the mean and log-variance of a diagonal Gaussian. */
export class GaussianHead extends Encoder {
  readonly mu: Dense;
  readonly logVar: Dense;

  constructor(inDim: number, latentDim: number, rng: Rng) {
    super();
    this.mu = this.addModule('mu', new Dense(inDim, latentDim, rng));
    this.logVar = this.addModule('logVar', new Dense(inDim, latentDim, rng));
  }

  /** @param h [batch, inDim] */
  forward(h: tf.Tensor): DiagonalGaussian {
    return new DiagonalGaussian(this.mu.apply(h), this.logVar.apply(h));
  }
}

/** x [batch, inputDim] (or any shape, flattened) -> q(z|x) = N(mu, diag(exp(logVar))). */
export class MlpEncoder extends Encoder {
  readonly body: Sequential;
  readonly head: GaussianHead;
  readonly conditionDim: number;

  constructor(
    readonly inputDim: number,
    readonly latentDim: number,
    rng: Rng,
    options: MlpOptions,
  ) {
    super();
    this.conditionDim = options.conditionDim ?? 0;
    this.body = this.addModule('body', mlpBody(inputDim + this.conditionDim, options.hiddenDims, options.activation ?? 'relu', rng));
    this.head = this.addModule('head', new GaussianHead(options.hiddenDims.at(-1) ?? inputDim + this.conditionDim, latentDim, rng));
  }

  forward(x: tf.Tensor, condition?: tf.Tensor): DiagonalGaussian {
    const flat = tf.reshape(x, [x.shape[0], -1]);
    if (flat.shape[1] !== this.inputDim) throw new Error(`MlpEncoder: expected ${this.inputDim} input values per example, got ${flat.shape[1]}`);
    return this.head.forward(this.body.apply(withCondition(flat, condition, this.conditionDim, 'MlpEncoder')));
  }
}

export interface DecoderOptions {
  likelihood?: LikelihoodFamily;
  /** Gaussian log-variance / Laplace log-scale: a fixed number (default 0) or 'learned' (one per output element). */
  likelihoodScale?: number | 'learned';
}

/** z [batch, latentDim] -> p(x|z) over outputShape. */
export class MlpDecoder extends Decoder {
  readonly body: Sequential;
  readonly out: Dense;
  readonly likelihood: LikelihoodFamily;
  readonly likelihoodOptions: LikelihoodOptions;
  readonly conditionDim: number;
  private readonly perElement: number;

  constructor(
    readonly latentDim: number,
    readonly outputShape: number[],
    rng: Rng,
    options: MlpOptions & DecoderOptions,
  ) {
    super();
    this.conditionDim = options.conditionDim ?? 0;
    this.likelihood = options.likelihood ?? 'bernoulli';
    this.likelihoodOptions = { logScale: options.likelihoodScale ?? 0 };
    this.perElement = likelihoodParamsPerElement(this.likelihood, this.likelihoodOptions);
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.body = this.addModule('body', mlpBody(latentDim + this.conditionDim, options.hiddenDims, options.activation ?? 'relu', rng));
    this.out = this.addModule('out', new Dense(options.hiddenDims.at(-1) ?? latentDim + this.conditionDim, size * this.perElement, rng));
  }

  /** Raw likelihood parameters, [batch, ...outputShape] (x2 on the last axis for a learned scale). */
  params(z: tf.Tensor, condition?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.out.apply(this.body.apply(withCondition(z, condition, this.conditionDim, 'MlpDecoder')));
      const shape = [...this.outputShape];
      if (this.perElement === 2) shape[shape.length - 1] *= 2;
      return tf.reshape(h, [z.shape[0], ...shape]);
    });
  }

  forward(z: tf.Tensor, condition?: tf.Tensor): Distribution {
    return makeLikelihood(this.likelihood, this.params(z, condition), this.likelihoodOptions);
  }
}

export interface ConvNetOptions {
  /** Channels per stride-2 stage, encoder order, e.g. [32, 64] or [32, 64, 128, 256]. */
  channels: number[];
  /** Residual blocks after each stage (0 = plain conv VAE; >= 1 = the 'resnet' architecture). */
  residualBlocks?: number;
  batchNorm?: boolean;
  activation?: ActivationName;
  conditionDim?: number;
}

/** Spatial size after each stride-2 'same' stage: ceil(s / 2). */
export function convStageSizes(size: number, stages: number): number[] {
  const out = [size];
  for (let i = 0; i < stages; i++) out.push(Math.ceil(out[i] / 2));
  return out;
}

/**
 * x [batch, h, w, c] -> q(z|x): stride-2 3x3 convolutions (+ BatchNorm +
 * activation, + residual blocks), flattened (size derived from the input
 * shape, never hard-coded), then Gaussian heads.
 */
export class ConvEncoder extends Encoder {
  readonly body: Sequential;
  readonly head: GaussianHead;
  readonly flatDim: number;
  readonly conditionDim: number;

  constructor(
    readonly inputShape: [number, number, number],
    readonly latentDim: number,
    rng: Rng,
    options: ConvNetOptions,
  ) {
    super();
    const [h, w, c] = inputShape;
    this.conditionDim = options.conditionDim ?? 0;
    const act = options.activation ?? 'leakyRelu';
    const bn = options.batchNorm ?? true;
    const layers: Layer[] = [];
    let ch = c + this.conditionDim;
    for (const out of options.channels) {
      layers.push(new Conv2d(ch, out, rng, { kernelSize: 3, stride: 2, padding: 'same', bias: !bn }));
      if (bn) layers.push(new BatchNorm(out));
      layers.push(new Activation(act));
      for (let r = 0; r < (options.residualBlocks ?? 0); r++) layers.push(new ResidualBlock(out, rng, { activation: act, norm: bn }));
      ch = out;
    }
    layers.push(new Flatten());
    this.body = this.addModule('body', new Sequential(layers));
    const n = options.channels.length;
    this.flatDim = convStageSizes(h, n)[n] * convStageSizes(w, n)[n] * ch;
    this.head = this.addModule('head', new GaussianHead(this.flatDim, latentDim, rng));
  }

  forward(x: tf.Tensor, condition?: tf.Tensor): DiagonalGaussian {
    const [h, w, c] = this.inputShape;
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw new Error(`ConvEncoder: expected input [batch, ${h}, ${w}, ${c}], got [${x.shape.join(', ')}]`);
    }
    let input = x;
    if (this.conditionDim > 0) {
      const cond = withCondition(tf.zeros([x.shape[0], 0]), condition, this.conditionDim, 'ConvEncoder');
      input = tf.concat([x, tf.tile(tf.reshape(cond, [x.shape[0], 1, 1, this.conditionDim]), [1, h, w, 1])], 3);
    } else {
      withCondition(x, condition, 0, 'ConvEncoder');
    }
    return this.head.forward(this.body.apply(input));
  }
}

/**
 * z [batch, latentDim] -> p(x|z) over [h, w, c]: Dense to the smallest grid,
 * stride-2 transposed convolutions mirroring the encoder stage by stage
 * (odd sizes included: 4 -> 7 -> 14 -> 28), and a 3x3 output convolution.
 */
export class ConvDecoder extends Decoder {
  readonly fc: Dense;
  readonly body: Sequential;
  readonly out: Conv2d;
  readonly likelihood: LikelihoodFamily;
  readonly likelihoodOptions: LikelihoodOptions;
  readonly conditionDim: number;
  private readonly grid: [number, number, number];

  constructor(
    readonly latentDim: number,
    readonly outputShape: [number, number, number],
    rng: Rng,
    options: ConvNetOptions & DecoderOptions,
  ) {
    super();
    const [h, w, c] = outputShape;
    this.conditionDim = options.conditionDim ?? 0;
    this.likelihood = options.likelihood ?? 'bernoulli';
    this.likelihoodOptions = { logScale: options.likelihoodScale ?? 0 };
    const act = options.activation ?? 'leakyRelu';
    const bn = options.batchNorm ?? true;
    const dims = [...options.channels].reverse();
    const n = dims.length;
    this.grid = [convStageSizes(h, n)[n], convStageSizes(w, n)[n], dims[0]];
    this.fc = this.addModule('fc', new Dense(latentDim + this.conditionDim, this.grid[0] * this.grid[1] * this.grid[2], rng));
    const layers: Layer[] = [new Reshape(this.grid)];
    // Each stage restores the encoder's size at that depth exactly (e.g. 4 -> 7 -> 14 -> 28), so nothing is cropped.
    const hs = convStageSizes(h, n);
    const ws = convStageSizes(w, n);
    for (let i = 0; i < n; i++) {
      const inCh = dims[i];
      const outCh = dims[i + 1] ?? dims[n - 1];
      for (let r = 0; r < (options.residualBlocks ?? 0); r++) layers.push(new ResidualBlock(inCh, rng, { activation: act, norm: bn }));
      const outputSize: [number, number] = [hs[n - 1 - i], ws[n - 1 - i]];
      layers.push(new ConvTranspose2d(inCh, outCh, rng, { kernelSize: 3, stride: 2, padding: 'same', bias: !bn, outputSize }));
      if (bn) layers.push(new BatchNorm(outCh));
      layers.push(new Activation(act));
    }
    this.body = this.addModule('body', new Sequential(layers));
    const perElement = likelihoodParamsPerElement(this.likelihood, this.likelihoodOptions);
    this.out = this.addModule('out', new Conv2d(dims[n - 1], c * perElement, rng, { kernelSize: 3, padding: 'same' }));
  }

  params(z: tf.Tensor, condition?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.out.apply(this.body.apply(this.fc.apply(withCondition(z, condition, this.conditionDim, 'ConvDecoder')))));
  }

  forward(z: tf.Tensor, condition?: tf.Tensor): Distribution {
    return makeLikelihood(this.likelihood, this.params(z, condition), this.likelihoodOptions);
  }
}

/**
 * Plain description of a single-latent encoder/decoder pair, in the words of
 * the base model config (`baseModelConfigSchema`): a validated config is a spec.
 */
export interface NetworkSpec {
  architecture: 'mlp' | 'conv' | 'resnet';
  /** [d] for MLP data (any shape is flattened), [h, w, c] for conv/resnet. */
  inputShape: number[];
  latentDim: number;
  /** MLP: hidden widths, encoder order; the decoder mirrors them (default [400, 400]). */
  hiddenDims?: number[];
  /** Conv/resnet: channels per stride-2 stage, encoder order (default [32, 64]). */
  convChannels?: number[];
  /** Resnet: residual blocks per stage (conv uses none; default 1). */
  residualBlocks?: number;
  /** Conv/resnet: BatchNorm after each convolution (default true). */
  batchNorm?: boolean;
  /** Default relu for MLP, leakyRelu for conv/resnet. */
  activation?: ActivationName;
  likelihood?: LikelihoodFamily;
  /** Gaussian log-variance / Laplace log-scale: a number or 'learned' (default 0). */
  likelihoodScale?: number | 'learned';
  conditionDim?: number;
}

/**
 * Build the encoder and decoder of a single-latent model from a spec (shared
 * by vae, cvae, tcvae and any scaffolded variant).
 * @example const { encoder, decoder } = buildEncoderDecoder({ architecture: 'mlp', inputShape: [784], latentDim: 20, hiddenDims: [400] }, rng);
 */
export function buildEncoderDecoder(spec: NetworkSpec, rng: Rng): { encoder: Encoder; decoder: Decoder } {
  const decoderOptions = { likelihood: spec.likelihood, likelihoodScale: spec.likelihoodScale, conditionDim: spec.conditionDim };
  if (spec.architecture === 'mlp') {
    const inputDim = spec.inputShape.reduce((a, b) => a * b, 1);
    const hiddenDims = spec.hiddenDims ?? [400, 400];
    const activation = spec.activation ?? 'relu';
    return {
      encoder: new MlpEncoder(inputDim, spec.latentDim, rng, { hiddenDims, activation, conditionDim: spec.conditionDim }),
      decoder: new MlpDecoder(spec.latentDim, spec.inputShape, rng, { hiddenDims: [...hiddenDims].reverse(), activation, ...decoderOptions }),
    };
  }
  if (spec.inputShape.length !== 3) {
    throw new Error(`buildEncoderDecoder: architecture '${spec.architecture}' needs inputShape [h, w, c], got [${spec.inputShape.join(', ')}]`);
  }
  const shape = spec.inputShape as [number, number, number];
  const options: ConvNetOptions = {
    channels: spec.convChannels ?? [32, 64],
    residualBlocks: spec.architecture === 'resnet' ? (spec.residualBlocks ?? 1) : 0,
    batchNorm: spec.batchNorm,
    activation: spec.activation ?? 'leakyRelu',
    conditionDim: spec.conditionDim,
  };
  return {
    encoder: new ConvEncoder(shape, spec.latentDim, rng, options),
    decoder: new ConvDecoder(spec.latentDim, shape, rng, { ...options, ...decoderOptions }),
  };
}
