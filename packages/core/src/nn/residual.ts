import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { type ActivationName, activate } from './activations';
import { BatchNorm } from './batch-norm';
import { Conv2d } from './conv';
import { Layer } from './module';

export interface ResidualBlockOptions {
  outChannels?: number;
  stride?: number;
  activation?: ActivationName;
  /** Batch normalisation after each convolution (default true). */
  norm?: boolean;
}

/**
 * He et al. (2016) basic block: act(x' + BN(conv3x3(act(BN(conv3x3(x)))))),
 * where x' is x or, when the shape changes, a 1x1 strided projection.
 */
export class ResidualBlock extends Layer {
  readonly outChannels: number;
  readonly stride: number;
  readonly activation: ActivationName;
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  private readonly bn1: BatchNorm | null;
  private readonly bn2: BatchNorm | null;
  private readonly shortcut: Conv2d | null;

  constructor(
    readonly inChannels: number,
    rng: Rng,
    options: ResidualBlockOptions = {},
  ) {
    super();
    this.outChannels = options.outChannels ?? inChannels;
    this.stride = options.stride ?? 1;
    this.activation = options.activation ?? 'relu';
    const norm = options.norm ?? true;
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, this.outChannels, rng, { stride: this.stride, padding: 'same', bias: !norm }));
    this.bn1 = norm ? this.addModule('bn1', new BatchNorm(this.outChannels)) : null;
    this.conv2 = this.addModule('conv2', new Conv2d(this.outChannels, this.outChannels, rng, { padding: 'same', bias: !norm }));
    this.bn2 = norm ? this.addModule('bn2', new BatchNorm(this.outChannels)) : null;
    this.shortcut =
      this.stride !== 1 || inChannels !== this.outChannels
        ? this.addModule('shortcut', new Conv2d(inChannels, this.outChannels, rng, { kernelSize: 1, stride: this.stride, padding: 'same' }))
        : null;
  }

  /** @param x [batch, h, w, inChannels] -> [batch, h / stride, w / stride, outChannels] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = this.conv1.apply(x);
      if (this.bn1) h = this.bn1.apply(h);
      h = activate(h, this.activation);
      h = this.conv2.apply(h);
      if (this.bn2) h = this.bn2.apply(h);
      const skip = this.shortcut ? this.shortcut.apply(x) : x;
      return activate(tf.add(h, skip), this.activation);
    });
  }
}
