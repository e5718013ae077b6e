import { Categorical, Dense, Module, type Rng, oneHotFloat } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { gatedTaps, MaskedConv2d } from './masked-conv';

export interface GatedPixelCnnOptions {
  /** Channels of the vertical and horizontal stacks (default 32). */
  channels?: number;
  /** Gated layers, the first with mask 'A' (default 5). */
  layers?: number;
  /** Odd kernel size of the masked convolutions (default 3). */
  kernelSize?: number;
  /** Width of the 1x1 output network (default 64). */
  outputHidden?: number;
}

/** tanh(a) * sigmoid(b) for x = [a; b] split on the (leading, contiguous) channel axis. */
function gate(x: tf.Tensor): tf.Tensor {
  const c = x.shape[0] / 2;
  const [a, b] = tf.split(x, [c, c], 0);
  return tf.mul(tf.tanh(a), tf.sigmoid(b));
}

/**
 * 1x1 convolution on channel-major [C, P, batch] tensors with a core Dense's
 * kernel [C, C'] and bias: W^T X needs no transpose of the activations.
 */
function pointwise(layer: Dense, x: tf.Tensor, activation?: 'relu'): tf.Tensor {
  const [c, p, b] = x.shape;
  let y = tf.matMul(layer.kernel as tf.Tensor2D, tf.reshape(x, [c, p * b]), true, false);
  if (layer.bias) y = tf.add(y, tf.reshape(layer.bias, [-1, 1]));
  if (activation === 'relu') y = tf.relu(y);
  return tf.reshape(y, [layer.outFeatures, p, b]);
}

/**
 * One gated PixelCNN layer (van den Oord et al. 2016, fig. 2): a vertical
 * stack that sees the rows above, a horizontal stack that sees the pixels to
 * the left in the current row, the vertical features fed into the horizontal
 * stack by a 1x1 convolution, tanh * sigmoid gates, and a residual connection
 * on the horizontal stack (not in the first, mask-'A' layer, where it would
 * pass the current pixel through).
 */
export class GatedLayer extends Module {
  readonly vertical: MaskedConv2d;
  readonly horizontal: MaskedConv2d;
  readonly verticalToHorizontal: Dense;
  readonly horizontalOut: Dense;

  constructor(
    readonly channels: number,
    grid: readonly [number, number],
    kernelSize: number,
    readonly mask: 'A' | 'B',
    rng: Rng,
  ) {
    super();
    const taps = gatedTaps(kernelSize, mask);
    this.vertical = this.addModule('vertical', new MaskedConv2d(channels, 2 * channels, grid, taps.vertical, rng));
    this.horizontal = this.addModule('horizontal', new MaskedConv2d(channels, 2 * channels, grid, taps.horizontal, rng));
    this.verticalToHorizontal = this.addModule('verticalToHorizontal', new Dense(2 * channels, 2 * channels, rng));
    this.horizontalOut = this.addModule('horizontalOut', new Dense(channels, channels, rng));
  }

  /** @param v, h [channels, P, batch] (channel-major) -> the next layer's [v, h] */
  apply(v: tf.Tensor, h: tf.Tensor): [tf.Tensor, tf.Tensor] {
    return tf.tidy(() => {
      const vPre = this.vertical.apply(v);
      const hPre = tf.add(this.horizontal.apply(h), pointwise(this.verticalToHorizontal, vPre));
      const hOut = pointwise(this.horizontalOut, gate(hPre));
      return [gate(vPre), this.mask === 'A' ? hOut : tf.add(hOut, h)];
    });
  }
}

/**
 * An autoregressive prior over a grid of discrete codes: a gated PixelCNN
 * (van den Oord et al. 2016) as used by VQ-VAE for sampling. Codes are
 * ordered in raster order; logits at (i, j) depend only on codes before
 * (i, j). p(c) = prod_{i,j} Cat(c_ij | logits_ij(c_<ij)).
 *
 * Variables: `embedding` [K, channels], `layers.<n>.*`, `out1`, `out2`.
 */
export class GatedPixelCnn extends Module {
  readonly embedding: tf.Variable;
  readonly layers: GatedLayer[] = [];
  readonly out1: Dense;
  readonly out2: Dense;
  readonly channels: number;

  /**
   * @param numCodes K, the number of code values
   * @param grid [H, W] of the code grid
   */
  constructor(
    readonly numCodes: number,
    readonly grid: readonly [number, number],
    rng: Rng,
    options: GatedPixelCnnOptions = {},
  ) {
    super();
    this.channels = options.channels ?? 32;
    const n = options.layers ?? 5;
    const kernelSize = options.kernelSize ?? 3;
    const hidden = options.outputHidden ?? 64;
    for (const [k, v] of [['numCodes', numCodes], ['channels', this.channels], ['layers', n], ['outputHidden', hidden]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`GatedPixelCnn: ${k} must be a positive integer, got ${v}`);
    }
    // nn.Embedding's N(0, 1) initialisation.
    this.embedding = this.addParameter('embedding', tf.randomNormal([numCodes, this.channels], 0, 1, 'float32', rng.nextSeed()));
    const container = this.addModule('layers', new LayerList());
    for (let i = 0; i < n; i++) this.layers.push(container.add(String(i), new GatedLayer(this.channels, grid, kernelSize, i === 0 ? 'A' : 'B', rng)));
    this.out1 = this.addModule('out1', new Dense(this.channels, hidden, rng));
    this.out2 = this.addModule('out2', new Dense(hidden, numCodes, rng));
  }

  get positions(): number {
    return this.grid[0] * this.grid[1];
  }

  /**
   * Logits from one-hot (or any soft) codes; differentiable in the input, which
   * is what the causality test needs.
   * @param oneHot [batch, H, W, K] float32
   * @returns [batch, H, W, K]
   */
  logitsFromOneHot(oneHot: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const [h, w] = this.grid;
      if (oneHot.rank !== 4 || oneHot.shape[1] !== h || oneHot.shape[2] !== w || oneHot.shape[3] !== this.numCodes) {
        throw new Error(`GatedPixelCnn: expected one-hot codes [batch, ${h}, ${w}, ${this.numCodes}], got [${oneHot.shape.join(', ')}]`);
      }
      const b = oneHot.shape[0];
      const p = this.positions;
      // [batch, P, K] -> [P * batch, K]: the one transpose, of the small one-hot input.
      const pm = tf.reshape(tf.transpose(tf.reshape(oneHot, [b, p, this.numCodes]), [1, 0, 2]), [p * b, this.numCodes]);
      const x = tf.reshape(tf.matMul(this.embedding as tf.Tensor2D, pm, true, true), [this.channels, p, b]);
      let v: tf.Tensor = x;
      let hs: tf.Tensor = x;
      for (const layer of this.layers) [v, hs] = layer.apply(v, hs);
      const logits = pointwise(this.out2, pointwise(this.out1, tf.relu(hs), 'relu'));
      // [K, P, batch] -> [batch, P, K]
      return tf.reshape(tf.transpose(logits, [2, 1, 0]), [b, h, w, this.numCodes]) as tf.Tensor4D;
    });
  }

  /**
   * @param codes [batch, H, W] int32
   * @returns logits [batch, H, W, K]
   */
  logits(codes: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      this.checkCodes(codes);
      return this.logitsFromOneHot(oneHotFloat(codes, this.numCodes));
    });
  }

  /**
   * log p(codes), summed over the grid: [batch] (nats).
   * @param codes [batch, H, W] int32
   */
  logProb(codes: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => new Categorical(this.logits(codes)).logProb(codes));
  }

  /**
   * Draw n code grids autoregressively in raster order (one network pass per
   * position; each draw is Gumbel-max on logits / temperature with a seed from rng).
   * @returns [n, H, W] int32
   */
  sample(n: number, rng: Rng, temperature = 1): tf.Tensor3D {
    if (!Number.isInteger(n) || n < 1) throw new Error(`GatedPixelCnn.sample: n must be a positive integer, got ${n}`);
    if (!(temperature > 0)) throw new Error(`GatedPixelCnn.sample: temperature must be > 0, got ${temperature}`);
    const [h, w] = this.grid;
    const p = this.positions;
    const codes = new Int32Array(n * p);
    for (let pos = 0; pos < p; pos++) {
      const drawn = tf.tidy(() => {
        const logits = this.logits(tf.tensor3d(codes, [n, h, w], 'int32'));
        const at = tf.reshape(tf.slice(tf.reshape(logits, [n, p, this.numCodes]), [0, pos, 0], [n, 1, this.numCodes]), [n, this.numCodes]);
        return new Categorical(tf.div(at, temperature)).sample(rng);
      });
      const values = drawn.dataSync();
      drawn.dispose();
      for (let i = 0; i < n; i++) codes[i * p + pos] = values[i];
    }
    return tf.tensor3d(codes, [n, h, w], 'int32');
  }

  private checkCodes(codes: tf.Tensor): void {
    const [h, w] = this.grid;
    if (codes.rank !== 3 || codes.shape[1] !== h || codes.shape[2] !== w) {
      throw new Error(`GatedPixelCnn: expected codes [batch, ${h}, ${w}], got [${codes.shape.join(', ')}]`);
    }
  }
}

/** A named list of child modules (keeps checkpoint names `layers.0.*`, `layers.1.*`). */
class LayerList extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.addModule(name, m);
  }
}
