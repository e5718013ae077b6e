import * as tf from '@tensorflow/tfjs-core';
import { type ActivationName, Bernoulli, Conv2d, DiagonalGaussian, convOutputSize, Dense, Layer, type Rng, Sequential, SpectralNorm } from '@elbo/core';
import { checkReduction, perExample, type Reduction } from '@elbo/core';

export interface DiscriminatorOptions {
  /** Shape of one example: [d] builds an MLP, [h, w, c] a stride-2 conv net. */
  inputShape: number[];
  /** Hidden widths (MLP) or channels per stride-2 stage (conv). Default [256, 256] (MLP) or [32, 64] (conv). */
  hiddenDims?: number[];
  /** Wrap every layer in spectral normalisation (Miyato et al. 2018). Default false. */
  spectralNorm?: boolean;
  /** Hidden activation, default 'leakyRelu' (slope 0.2, as in DCGAN). */
  activation?: ActivationName;
  /** Conv kernel size, default 4 (DCGAN). */
  kernelSize?: number;
}

/** What one discriminator pass returns. */
export type DiscriminatorOutput = {
  /** Real-vs-fake logits, [batch]. */
  logits: tf.Tensor1D;
  /** Output of every hidden layer, in order (Larsen et al.'s Dis_l for l = 0, 1, ...). */
  features: tf.Tensor[];
};

/**
 * The discriminator of a VAE-GAN (Larsen et al. 2016): an MLP for flat inputs
 * or a stride-2 conv net for images, built from @elbo/core layers, ending in a
 * linear unit that gives one logit per example. Its hidden layers are the
 * learned similarity metric of `discriminatorFeatureLoss`.
 *
 * @example
 * const disc = new Discriminator({ inputShape: [28, 28, 1], hiddenDims: [32, 64], spectralNorm: true }, rng.fork('disc'));
 * const { logits, features } = disc.forward(x);
 */
export class Discriminator extends Layer {
  readonly body: Sequential;
  readonly head: Layer;
  readonly inputShape: number[];

  constructor(options: DiscriminatorOptions, rng: Rng) {
    super();
    const shape = options.inputShape;
    if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 3) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`Discriminator: inputShape must be [d] or [h, w, c] of positive integers, got ${JSON.stringify(shape)}`);
    }
    this.inputShape = shape.slice();
    const conv = shape.length === 3;
    const hidden = options.hiddenDims ?? (conv ? [32, 64] : [256, 256]);
    if (!Array.isArray(hidden) || hidden.length === 0 || !hidden.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`Discriminator: hiddenDims must be a non-empty array of positive integers, got ${JSON.stringify(hidden)}`);
    }
    const activation = options.activation ?? 'leakyRelu';
    const kernelSize = options.kernelSize ?? 4;
    const sn = (l: Dense | Conv2d): Layer => (options.spectralNorm ? new SpectralNorm(l, rng) : l);
    const layers: Layer[] = [];
    let features: number;
    if (conv) {
      let [h, w, c] = shape;
      for (const ch of hidden) {
        layers.push(sn(new Conv2d(c, ch, rng, { kernelSize, stride: 2, padding: 'same', activation })));
        h = convOutputSize(h, kernelSize, 2, 'same');
        w = convOutputSize(w, kernelSize, 2, 'same');
        c = ch;
      }
      features = h * w * c;
    } else {
      let d = shape[0];
      for (const width of hidden) {
        layers.push(sn(new Dense(d, width, rng, { activation })));
        d = width;
      }
      features = d;
    }
    this.body = this.addModule('body', new Sequential(layers));
    // A one-output linear layer's largest singular value is the norm of its weight vector, so the
    // head is normalised exactly (core's power iteration assumes more than one output row).
    this.head = this.addModule('head', options.spectralNorm ? new UnitNormLinear(features, rng) : new Dense(features, 1, rng));
  }

  /**
   * @param x [batch, ...inputShape]
   * @returns logits [batch] and the hidden feature maps
   */
  forward(x: tf.Tensor): DiscriminatorOutput {
    const ok = x.rank === this.inputShape.length + 1 && this.inputShape.every((d, i) => x.shape[i + 1] === d);
    if (!ok) throw new Error(`Discriminator: x must be [batch, ${this.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const features: tf.Tensor[] = [];
      let y = x;
      for (const layer of this.body.layers) {
        y = layer.apply(y);
        features.push(y);
      }
      const logits = tf.reshape(this.head.apply(tf.reshape(y, [x.shape[0], -1])), [x.shape[0]]) as tf.Tensor1D;
      return { logits, features };
    });
  }

  /** @param x [batch, ...inputShape] -> logits [batch] */
  apply(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => this.forward(x).logits);
  }
}

/**
 * Spectral normalisation of a single-output linear layer, exactly: y = x w / ||w||_2 + b
 * (for a [in, 1] matrix sigma = ||w||_2, so no power iteration is needed).
 */
class UnitNormLinear extends Layer {
  readonly linear: Dense;

  constructor(inFeatures: number, rng: Rng) {
    super();
    this.linear = this.addModule('layer', new Dense(inFeatures, 1, rng));
  }

  /** @param x [batch, inFeatures] -> [batch, 1] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.linear.applyWithKernel(x, tf.div(this.linear.kernel, tf.add(tf.norm(this.linear.kernel), 1e-12))));
  }
}

function checkLogits(where: string, name: string, t: tf.Tensor): void {
  if (t.rank < 1) throw new Error(`${where}: ${name} must have a batch axis, got a scalar`);
}

/** BCE with logits against a constant target, per element, via core's Bernoulli (stable). */
function bceWithLogits(logits: tf.Tensor, target: number): tf.Tensor {
  return tf.tidy(() => tf.neg(new Bernoulli(logits).logProbElementwise(tf.fill(logits.shape, target))));
}

export interface DiscriminatorLossOptions {
  /** Target for real examples, default 1; e.g. 0.9 for one-sided label smoothing (Salimans et al. 2016). */
  realLabel?: number;
}

/**
 * The discriminator's loss: BCE(real, realLabel) + BCE(fake, 0), each averaged
 * over the batch; -log D(x) - log(1 - D(G(z))) for realLabel 1.
 * @param realLogits [batch] (or [batch, 1]) logits on data
 * @param fakeLogits [batch'] logits on reconstructions / samples
 * @returns scalar
 */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor, options: DiscriminatorLossOptions = {}): tf.Scalar {
  checkLogits('discriminatorLoss', 'realLogits', realLogits);
  checkLogits('discriminatorLoss', 'fakeLogits', fakeLogits);
  const realLabel = options.realLabel ?? 1;
  if (!(realLabel >= 0 && realLabel <= 1)) throw new Error(`discriminatorLoss: realLabel must be in [0, 1], got ${options.realLabel}`);
  return tf.tidy(() => tf.add(tf.mean(bceWithLogits(realLogits, realLabel)), tf.mean(bceWithLogits(fakeLogits, 0))) as tf.Scalar);
}

/**
 * The generator's (decoder's) adversarial loss on fake logits, averaged over the batch.
 * 'non-saturating' (default; Goodfellow et al. 2014's practical choice): -log D(G(z)) = BCE(fake, 1).
 * 'minimax': log(1 - D(G(z))) = -BCE(fake, 0), whose gradient vanishes when D wins.
 * @param fakeLogits [batch]
 * @returns scalar
 */
export function generatorLoss(fakeLogits: tf.Tensor, mode: 'non-saturating' | 'minimax' = 'non-saturating'): tf.Scalar {
  checkLogits('generatorLoss', 'fakeLogits', fakeLogits);
  if (mode !== 'non-saturating' && mode !== 'minimax') throw new Error(`generatorLoss: mode must be 'non-saturating' or 'minimax', got ${String(mode)}`);
  return tf.tidy(() =>
    (mode === 'non-saturating' ? tf.mean(bceWithLogits(fakeLogits, 1)) : tf.neg(tf.mean(bceWithLogits(fakeLogits, 0)))) as tf.Scalar,
  );
}

export interface FeatureLossOptions {
  /** Which hidden layer l of the discriminator (default: the last hidden layer, as in Larsen et al.). */
  layer?: number;
  /** 'sum-mean' (default) or 'mean'. */
  reduction?: Reduction;
}

/**
 * Larsen et al. (2016)'s learned similarity: the Gaussian negative
 * log-likelihood of the data's discriminator features under a unit-variance
 * Gaussian centred on the reconstruction's features,
 * -log N(Dis_l(x); Dis_l(xTilde), I) = 0.5 ||Dis_l(x) - Dis_l(xTilde)||^2 + (n/2) log(2 pi),
 * replacing the pixel-wise reconstruction term.
 *
 * @param discriminator the VAE-GAN discriminator
 * @param x [batch, ...inputShape] data
 * @param xTilde [batch, ...inputShape] reconstructions
 * @returns scalar
 */
export function discriminatorFeatureLoss(discriminator: Discriminator, x: tf.Tensor, xTilde: tf.Tensor, options: FeatureLossOptions = {}): tf.Scalar {
  const reduction = checkReduction(options.reduction, 'discriminatorFeatureLoss');
  const n = discriminator.body.layers.length;
  const layer = options.layer ?? n - 1;
  if (!Number.isInteger(layer) || layer < 0 || layer >= n) throw new Error(`discriminatorFeatureLoss: layer must be an integer in [0, ${n - 1}], got ${options.layer}`);
  return tf.tidy(() => {
    if (x.shape[0] !== xTilde.shape[0]) throw new Error(`discriminatorFeatureLoss: x and xTilde must have the same batch size, got ${x.shape[0]} and ${xTilde.shape[0]}`);
    // One pass over both halves: the spectral-norm power iteration then advances once per call.
    const batch = x.shape[0];
    const f = discriminator.forward(tf.concat([x, xTilde], 0)).features[layer];
    const [a, b] = tf.split(f, [batch, batch], 0);
    const nll = tf.neg(new DiagonalGaussian(b, tf.scalar(0)).logProbElementwise(a));
    return (reduction === 'mean' ? tf.mean(nll) : tf.mean(perExample(nll))) as tf.Scalar;
  });
}
