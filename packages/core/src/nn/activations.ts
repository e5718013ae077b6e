import * as tf from '@tensorflow/tfjs-core';
import { Layer } from './module';

export const ACTIVATIONS = ['linear', 'relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'softplus', 'swish', 'gelu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

const leakyReluByAlpha = new Map<number, (x: tf.Tensor) => tf.Tensor>();

/**
 * tf.leakyRelu with the gradient dy * step(x, alpha) (alpha where x <= 0, as
 * tfjs's own): two elementwise kernels instead of tfjs's Greater + Multiply +
 * Select, whose Greater against a broadcast scalar 0 is the slowest kernel of a
 * leaky-ReLU network's step on the cpu and native backends.
 */
export function leakyRelu(x: tf.Tensor, alpha = 0.2): tf.Tensor {
  let f = leakyReluByAlpha.get(alpha);
  if (!f) {
    f = tf.customGrad((input, save) => {
      const v = input as tf.Tensor;
      (save as tf.GradSaveFunc)([v]);
      return { value: tf.leakyRelu(v, alpha), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.step(saved[0], alpha)) };
    });
    leakyReluByAlpha.set(alpha, f);
  }
  return f(x);
}

/**
 * Kernel name of the ReLU gradient dy * step(y) from relu's output y (y > 0 exactly where x > 0;
 * NaN in dy or y stays NaN), which a backend may register: inputs dy and y of one shape, float32.
 */
export const RELU_GRAD_KERNEL = 'ElboReluGrad';

const reluWithGrad = tf.customGrad((input, save) => {
  const y = tf.relu(input as tf.Tensor);
  (save as tf.GradSaveFunc)([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) && dy.dtype === 'float32'
        ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y: saved[0] }, {}) as tf.Tensor)
        : tf.mul(dy, tf.step(saved[0])),
  };
});

/**
 * tf.relu whose gradient is one kernel where the backend registers RELU_GRAD_KERNEL, else
 * dy * step(y): two elementwise kernels instead of tfjs's Cast, Step and Multiply.
 */
export function relu(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' ? reluWithGrad(x) : tf.relu(x);
}

/** Apply a named activation. NaN stays NaN (the NaN guard relies on it). */
export function activate(x: tf.Tensor, name: ActivationName, alpha = 0.2): tf.Tensor {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return relu(x);
    case 'leakyRelu':
      return leakyRelu(x, alpha);
    case 'elu':
      return tf.elu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softplus':
      return tf.softplus(x);
    case 'swish':
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
    case 'gelu':
      // tanh approximation (Hendrycks & Gimpel 2016)
      return tf.tidy(() => {
        const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
        return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
      });
    default:
      throw new Error(`Unknown activation "${name as string}" (allowed: ${ACTIVATIONS.join(', ')})`);
  }
}

/** An activation as a layer, for Sequential. */
export class Activation extends Layer {
  constructor(
    readonly name: ActivationName,
    readonly alpha = 0.2,
  ) {
    super();
    if (!ACTIVATIONS.includes(name)) throw new Error(`Unknown activation "${name}" (allowed: ${ACTIVATIONS.join(', ')})`);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return activate(x, this.name, this.alpha);
  }
}

/** [batch, ...] -> [batch, prod(...)] */
export class Flatten extends Layer {
  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0], -1]);
  }
}

/** [batch, ...] -> [batch, ...shape] */
export class Reshape extends Layer {
  constructor(readonly shape: number[]) {
    super();
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0], ...this.shape]);
  }
}
