import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { Conv2d, ConvTranspose2d } from './conv';
import { Dense } from './dense';
import { stopGradient } from '../ops';
import { Layer } from './module';

type Wrappable = Dense | Conv2d | ConvTranspose2d;

export interface SpectralNormOptions {
  /** Power iterations per training forward pass (Miyato et al. use 1). */
  powerIterations?: number;
  epsilon?: number;
}

/**
 * Spectral normalisation (Miyato et al. 2018): the wrapped layer runs with
 * W / sigma(W), sigma estimated by power iteration with a persistent vector u
 * (a buffer, saved in checkpoints). As in PyTorch, W is viewed as a matrix
 * [outputChannels, everything else]; u and v are constants for the gradient.
 * In eval mode u is not updated.
 */
export class SpectralNorm extends Layer {
  readonly u: tf.Variable;
  readonly powerIterations: number;
  readonly epsilon: number;

  constructor(
    readonly layer: Wrappable,
    rng: Rng,
    options: SpectralNormOptions = {},
  ) {
    super();
    if (!(layer instanceof Dense || layer instanceof Conv2d || layer instanceof ConvTranspose2d)) {
      throw new Error('SpectralNorm: wraps Dense, Conv2d or ConvTranspose2d only');
    }
    this.powerIterations = options.powerIterations ?? 1;
    this.epsilon = options.epsilon ?? 1e-12;
    if (!Number.isInteger(this.powerIterations) || this.powerIterations < 1) {
      throw new Error(`SpectralNorm: powerIterations must be a positive integer, got ${this.powerIterations}`);
    }
    this.addModule('layer', layer);
    const rows = this.weightMatrixShape()[0];
    this.u = this.addBuffer('u', tf.tidy(() => this.normalize(tf.randomNormal([rows], 0, 1, 'float32', rng.nextSeed()))));
  }

  /** The kernel viewed as [out, rest]. */
  weightMatrix(kernel: tf.Tensor = this.layer.kernel): tf.Tensor2D {
    return tf.tidy(() => {
      if (this.layer instanceof Dense) return tf.transpose(kernel) as tf.Tensor2D; // [in, out] -> [out, in]
      if (this.layer instanceof Conv2d) {
        const out = kernel.shape[3] as number;
        return tf.transpose(tf.reshape(kernel, [-1, out])) as tf.Tensor2D; // [k*k*in, out] -> [out, k*k*in]
      }
      // ConvTranspose2d filter [k, k, out, in]
      return tf.reshape(tf.transpose(kernel, [2, 0, 1, 3]), [kernel.shape[2] as number, -1]) as tf.Tensor2D;
    });
  }

  private weightMatrixShape(): [number, number] {
    const shape = this.layer.kernel.shape as number[];
    const total = this.layer.kernel.size;
    const rows = this.layer instanceof Dense ? shape[1] : this.layer instanceof Conv2d ? shape[3] : shape[2];
    return [rows, total / rows];
  }

  private normalize(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.div(x, tf.add(tf.norm(x), this.epsilon)));
  }

  /** Current estimate of the largest singular value of the raw kernel (updates u when training). */
  sigma(): tf.Scalar {
    return tf.tidy(() => {
      const w = this.weightMatrix();
      const wConst = stopGradient(w);
      let u = this.u as tf.Tensor;
      let v!: tf.Tensor;
      const iterations = this.training ? this.powerIterations : 1;
      for (let i = 0; i < iterations; i++) {
        v = this.normalize(tf.reshape(tf.matMul(wConst, tf.reshape(u, [-1, 1]), true, false), [-1]));
        if (this.training || i < iterations - 1) u = this.normalize(tf.reshape(tf.matMul(wConst, tf.reshape(v, [-1, 1])), [-1]));
      }
      if (this.training) this.u.assign(u);
      u = stopGradient(u);
      v = stopGradient(v);
      return tf.sum(tf.mul(u, tf.reshape(tf.matMul(w, tf.reshape(v, [-1, 1])), [-1]))) as tf.Scalar;
    });
  }

  /** The normalised kernel W / sigma(W), same shape as the layer's kernel. */
  normalizedKernel(): tf.Tensor {
    return tf.tidy(() => tf.div(this.layer.kernel, this.sigma()));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.layer.applyWithKernel(x, this.normalizedKernel()));
  }
}
