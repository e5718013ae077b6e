import * as tf from '@tensorflow/tfjs-core';
import { portableConv2d, portableConv2dTranspose, usePortableConvGrad } from '../backends/portable-grads';
import type { Rng } from '../rng';
import { type ActivationName, activate } from './activations';
import { type Initializer, initTensor } from './init';
import { Layer } from './module';

export type Padding = 'same' | 'valid' | number;

export interface ConvOptions {
  kernelSize?: number;
  stride?: number;
  /** 'same', 'valid' or a symmetric explicit padding in pixels (PyTorch's `padding=p`). */
  padding?: Padding;
  activation?: ActivationName;
  bias?: boolean;
  init?: Initializer;
}

function checkPositive(layer: string, values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${layer}: ${k} must be a positive integer, got ${v}`);
  }
}

function tfPad(p: Padding): 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
  return typeof p === 'number' ? [[0, 0], [p, p], [p, p], [0, 0]] : p;
}

/** Output spatial size of a convolution along one axis. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: Padding): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const p = padding === 'valid' ? 0 : padding;
  return Math.floor((size + 2 * p - kernel) / stride) + 1;
}

/** 2-D convolution over NHWC tensors; filter [k, k, inChannels, outChannels]. */
export class Conv2d extends Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly activation: ActivationName;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    rng: Rng,
    options: ConvOptions = {},
  ) {
    super();
    this.kernelSize = options.kernelSize ?? 3;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 'same';
    this.activation = options.activation ?? 'linear';
    checkPositive('Conv2d', { inChannels, outChannels, kernelSize: this.kernelSize, stride: this.stride });
    const k = this.kernelSize;
    const init = options.init ?? 'pytorch';
    const fanIn = k * k * inChannels;
    this.kernel = this.addParameter('kernel', initTensor(init, [k, k, inChannels, outChannels], fanIn, k * k * outChannels, rng));
    this.bias =
      options.bias === false
        ? null
        : this.addParameter('bias', init === 'pytorch' ? initTensor(init, [outChannels], fanIn, 0, rng) : tf.zeros([outChannels]));
  }

  /** @param x [batch, h, w, inChannels] -> [batch, h', w', outChannels] */
  apply(x: tf.Tensor): tf.Tensor {
    return this.applyWithKernel(x, this.kernel);
  }

  applyWithKernel(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
        throw new Error(`Conv2d: expected input [batch, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`);
      }
      // Backends without Conv2DBackpropFilter (wasm) get a filter gradient written as a convolution.
      let y: tf.Tensor = usePortableConvGrad()
        ? portableConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, this.stride, this.padding)
        : tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, this.stride, tfPad(this.padding));
      if (this.bias) y = tf.add(y, this.bias);
      return activate(y, this.activation);
    });
  }

  outputSize(size: number): number {
    return convOutputSize(size, this.kernelSize, this.stride, this.padding);
  }
}

export interface ConvTransposeOptions extends Omit<ConvOptions, 'padding'> {
  /** 'same' multiplies the size by the stride; 'valid' gives (in - 1) * stride + k. */
  padding?: 'same' | 'valid';
  /**
   * A fixed output [height, width] ('same' only): any size whose 'same' conv
   * gives back the input size, e.g. 4 -> 7 to invert 7 -> 4. Decoders use it
   * instead of cropping, which the cpu Slice kernel makes slow.
   */
  outputSize?: [number, number];
}

/**
 * Transposed 2-D convolution (the gradient of Conv2d with respect to its
 * input); filter [k, k, outChannels, inChannels] as tfjs expects.
 */
export class ConvTranspose2d extends Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: 'same' | 'valid';
  readonly activation: ActivationName;
  readonly fixedOutputSize?: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    rng: Rng,
    options: ConvTransposeOptions = {},
  ) {
    super();
    this.kernelSize = options.kernelSize ?? 3;
    this.stride = options.stride ?? 2;
    this.padding = options.padding ?? 'same';
    this.fixedOutputSize = options.outputSize;
    if (this.fixedOutputSize && this.padding !== 'same') throw new Error("ConvTranspose2d: outputSize needs padding 'same'");
    this.activation = options.activation ?? 'linear';
    checkPositive('ConvTranspose2d', { inChannels, outChannels, kernelSize: this.kernelSize, stride: this.stride });
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(`ConvTranspose2d: padding must be 'same' or 'valid', got ${String(this.padding)}`);
    }
    const k = this.kernelSize;
    const init = options.init ?? 'pytorch';
    // PyTorch computes fan-in of ConvTranspose from weight dim 1 (= outChannels) * k * k.
    const fanIn = k * k * outChannels;
    this.kernel = this.addParameter('kernel', initTensor(init, [k, k, outChannels, inChannels], fanIn, k * k * inChannels, rng));
    this.bias =
      options.bias === false
        ? null
        : this.addParameter('bias', init === 'pytorch' ? initTensor(init, [outChannels], fanIn, 0, rng) : tf.zeros([outChannels]));
  }

  outputSize(size: number): number {
    return this.padding === 'same' ? size * this.stride : (size - 1) * this.stride + this.kernelSize;
  }

  /** @param x [batch, h, w, inChannels] -> [batch, h * stride, w * stride, outChannels] ('same') */
  apply(x: tf.Tensor): tf.Tensor {
    return this.applyWithKernel(x, this.kernel);
  }

  applyWithKernel(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
        throw new Error(`ConvTranspose2d: expected input [batch, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`);
      }
      const [b, h, w] = x.shape;
      const fixed = this.fixedOutputSize;
      if (fixed && (Math.ceil(fixed[0] / this.stride) !== h || Math.ceil(fixed[1] / this.stride) !== w)) {
        throw new Error(`ConvTranspose2d: outputSize [${fixed.join(', ')}] with stride ${this.stride} needs input ${Math.ceil(fixed[0] / this.stride)}x${Math.ceil(fixed[1] / this.stride)}, got ${h}x${w}`);
      }
      const out: [number, number, number, number] = [b, fixed ? fixed[0] : this.outputSize(h), fixed ? fixed[1] : this.outputSize(w), this.outChannels];
      let y: tf.Tensor = usePortableConvGrad()
        ? portableConv2dTranspose(x as tf.Tensor4D, kernel as tf.Tensor4D, out, this.stride, this.padding)
        : tf.conv2dTranspose(x as tf.Tensor4D, kernel as tf.Tensor4D, out, this.stride, this.padding);
      if (this.bias) y = tf.add(y, this.bias);
      return activate(y, this.activation);
    });
  }
}
