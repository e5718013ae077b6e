import * as tf from '@tensorflow/tfjs-core';
import { portableMatMul, usePortableMatMulGrad } from '../backends/portable-grads';
import type { Rng } from '../rng';
import { type ActivationName, activate } from './activations';
import { type Initializer, initTensor } from './init';
import { Layer } from './module';

/**
 * Kernel name of a fused dense layer a backend may register: inputs x [M, K],
 * kernel [K, N] and optional bias [N], attr activation 'relu' | 'linear',
 * output act(x W + b), with a gradient registered for it. Dense runs it when
 * the active backend has it (@elbo/backend-native computes the layer's
 * gradients in one call instead of tfjs's five kernels per layer); every
 * other backend takes tf.fused.matMul.
 */
export const FUSED_DENSE_KERNEL = 'ElboFusedDense';

export interface DenseOptions {
  /** Applied after the affine map; 'relu' and 'linear' fuse into one kernel. */
  activation?: ActivationName;
  bias?: boolean;
  init?: Initializer;
}

/** Fully connected layer: y = act(x W + b), W [inFeatures, outFeatures]. */
export class Dense extends Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly activation: ActivationName;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    options: DenseOptions = {},
  ) {
    super();
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`Dense: ${k} must be a positive integer, got ${v}`);
    }
    const init = options.init ?? 'pytorch';
    this.activation = options.activation ?? 'linear';
    this.kernel = this.addParameter('kernel', initTensor(init, [inFeatures, outFeatures], inFeatures, outFeatures, rng));
    this.bias =
      options.bias === false
        ? null
        : this.addParameter('bias', init === 'pytorch' ? initTensor(init, [outFeatures], inFeatures, outFeatures, rng) : tf.zeros([outFeatures]));
  }

  /** @param x [batch, inFeatures] -> [batch, outFeatures] */
  apply(x: tf.Tensor): tf.Tensor {
    return this.applyWithKernel(x, this.kernel);
  }

  /** Forward with a replacement kernel (used by the spectral-norm wrapper). */
  applyWithKernel(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
        throw new Error(`Dense: expected input [batch, ${this.inFeatures}], got [${x.shape.join(', ')}]`);
      }
      if (usePortableMatMulGrad()) {
        // Backends whose transposed matMul is slow (wasm) train faster with explicit transposes.
        const y = portableMatMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
        return activate(this.bias ? tf.add(y, this.bias) : y, this.activation);
      }
      const fusable = this.activation === 'relu' || this.activation === 'linear';
      if (fusable && tf.getKernel(FUSED_DENSE_KERNEL, tf.getBackend())) {
        const inputs: tf.NamedTensorMap = this.bias ? { x, kernel, bias: this.bias } : { x, kernel };
        return tf.engine().runKernel(FUSED_DENSE_KERNEL, inputs, { activation: this.activation }) as tf.Tensor;
      }
      if (fusable) {
        return tf.fused.matMul({
          a: x as tf.Tensor2D,
          b: kernel as tf.Tensor2D,
          bias: this.bias ?? undefined,
          activation: this.activation,
        });
      }
      const y = tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
      return activate(this.bias ? tf.add(y, this.bias) : y, this.activation);
    });
  }
}
