import * as tf from '@tensorflow/tfjs-core';
import { Layer, type Rng, initTensor } from '@elbo/core';
import { im2col } from './patch-ops';

/**
 * A stride-1 'same' 2-D convolution written as im2col + one matMul with a
 * [k*k*inChannels, outChannels] kernel.
 *
 * Why not `tf.conv2d`: tfjs-backend-cpu's Conv2DBackpropFilter is
 * pathologically slow (seconds per small call); im2col (see patch-ops.ts)
 * and matMul have fast gradients, so this layer trains in minutes on a CPU.
 * The forward result equals `tf.conv2d(x, kernel.reshape([k, k, cin, cout]), 1, 'same')`.
 */
export class Im2colConv2d extends Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    rng: Rng,
    readonly activation: 'relu' | 'linear' = 'relu',
  ) {
    super();
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernelSize', kernelSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`Im2colConv2d: ${k} must be a positive integer, got ${v}`);
    }
    if (kernelSize % 2 !== 1) throw new Error(`Im2colConv2d: kernelSize must be odd for 'same' padding, got ${kernelSize}`);
    const fanIn = kernelSize * kernelSize * inChannels;
    this.kernel = this.addParameter('kernel', initTensor('heNormal', [fanIn, outChannels], fanIn, outChannels, rng));
    this.bias = this.addParameter('bias', tf.zeros([outChannels]));
  }

  /** @param x [batch, height, width, inChannels] -> [batch, height, width, outChannels] */
  apply(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
        throw new Error(`Im2colConv2d: expected input [batch, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`);
      }
      const [b, h, w] = x.shape as [number, number, number, number];
      const cols = im2col(x as tf.Tensor4D, this.kernelSize);
      const y = tf.fused.matMul({ a: cols as tf.Tensor2D, b: this.kernel as tf.Tensor2D, bias: this.bias, activation: this.activation });
      return tf.reshape(y, [b, h, w, this.outChannels]) as tf.Tensor4D;
    });
  }
}
