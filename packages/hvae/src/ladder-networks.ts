import {
  type ActivationName,
  Activation,
  BatchNorm,
  Conv2d,
  convStageSizes,
  Dense,
  type DiagonalGaussian,
  Flatten,
  GaussianHead,
  type Layer,
  Module,
  type Rng,
  Sequential,
} from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { HvaeConfig } from './config';

/**
 * `depth` Dense layers of width `width`, each followed by the activation, or
 * (batchNorm) by BatchNorm then the activation, as in Sønderby et al. 2016.
 */
function denseBlock(inDim: number, width: number, depth: number, activation: ActivationName, batchNorm: boolean, rng: Rng): Sequential {
  const layers: Layer[] = [];
  let d = inDim;
  for (let i = 0; i < depth; i++) {
    if (batchNorm) {
      // The BatchNorm shift replaces the Dense bias.
      layers.push(new Dense(d, width, rng, { bias: false }), new BatchNorm(width), new Activation(activation));
    } else {
      layers.push(new Dense(d, width, rng, { activation }));
    }
    d = width;
  }
  return new Sequential(layers);
}

/**
 * The deterministic bottom-up pass of the Ladder VAE: d_1 = block_1(stem(x)),
 * d_i = block_i(d_{i-1}), and at each level the bottom-up Gaussian estimate
 * N(mu_hat_i, var_hat_i) = head_i(d_i). The stem flattens x (mlp) or runs
 * stride-2 3x3 convolutions and flattens (conv).
 */
export class BottomUpPath extends Module {
  readonly stem: Sequential;
  readonly blocks: Sequential[] = [];
  readonly heads: GaussianHead[] = [];
  readonly stemDim: number;

  constructor(config: HvaeConfig, rng: Rng) {
    super();
    const act = config.activation;
    if (config.architecture === 'conv') {
      const [h, w, c] = config.inputShape;
      const layers: Layer[] = [];
      let ch = c;
      for (const out of config.convChannels) {
        layers.push(new Conv2d(ch, out, rng, { kernelSize: 3, stride: 2, padding: 'same' }), new Activation(act));
        ch = out;
      }
      layers.push(new Flatten());
      const n = config.convChannels.length;
      this.stemDim = convStageSizes(h, n)[n] * convStageSizes(w, n)[n] * ch;
      this.stem = this.addModule('stem', new Sequential(layers));
    } else {
      this.stemDim = config.inputShape.reduce((a, b) => a * b, 1);
      this.stem = this.addModule('stem', new Sequential([new Flatten()]));
    }
    let d = this.stemDim;
    config.latentDims.forEach((latent, i) => {
      const width = config.hiddenDims[i];
      this.blocks.push(this.addModule(`block${i}`, denseBlock(d, width, config.blockDepth, act, config.batchNorm, rng)));
      this.heads.push(this.addModule(`head${i}`, new GaussianHead(width, latent, rng)));
      d = width;
    });
  }

  /**
   * @param x [batch, ...inputShape]
   * @returns the bottom-up Gaussians per level, bottom-first, each [batch, latentDims[i]]
   */
  forward(x: tf.Tensor): DiagonalGaussian[] {
    const out: DiagonalGaussian[] = [];
    let h = this.stem.apply(x);
    for (let i = 0; i < this.blocks.length; i++) {
      h = this.blocks[i].apply(h);
      out.push(this.heads[i].forward(h));
    }
    return out;
  }
}

/**
 * The top-down generative path: for each level i below the top, the
 * conditional prior p(z_i | z_{i+1}) = N(mu_p, var_p) = head_i(block_i(z_{i+1})).
 */
export class TopDownPath extends Module {
  readonly blocks: Sequential[] = [];
  readonly heads: GaussianHead[] = [];

  constructor(config: HvaeConfig, rng: Rng) {
    super();
    const { latentDims, hiddenDims } = config;
    for (let i = 0; i < latentDims.length - 1; i++) {
      this.blocks.push(this.addModule(`block${i}`, denseBlock(latentDims[i + 1], hiddenDims[i], config.blockDepth, config.activation, config.batchNorm, rng)));
      this.heads.push(this.addModule(`head${i}`, new GaussianHead(hiddenDims[i], latentDims[i], rng)));
    }
  }

  /**
   * p(z_level | z_{level+1}).
   * @param level 0-based level below the top (0 .. L-2)
   * @param zAbove [batch, latentDims[level + 1]]
   * @returns [batch, latentDims[level]]
   */
  conditional(level: number, zAbove: tf.Tensor): DiagonalGaussian {
    return this.heads[level].forward(this.blocks[level].apply(zAbove));
  }
}
