import { FUSED_DENSE_KERNEL } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { allocOutput, floatData } from './util';

/**
 * The fused dense layer @elbo/core's Dense runs where the active backend
 * registers it (its FUSED_DENSE_KERNEL): y = act(x W + b) for x [M, K],
 * W [K, N], b [N], act relu or linear, one kernel forward; backward, one
 * kernel gives act'(y) * dy, the bias gradient and the weight gradient, and
 * the input gradient is one matmul, run only when something needs it.
 * tfjs's fused matMul takes Step, Multiply, two BatchMatMul, Sum and several
 * reshapes per layer backward, each a kernel call, an array and a tape entry.
 */
export { FUSED_DENSE_KERNEL };
export const FUSED_DENSE_GRAD_KERNEL = 'ElboFusedDenseGrad';

interface DenseAttrs {
  activation: 'relu' | 'linear';
}

function check(x: tf.TensorInfo, kernel: tf.TensorInfo, bias: tf.TensorInfo | undefined, activation: string): void {
  if (x.shape.length !== 2 || kernel.shape.length !== 2 || x.shape[1] !== kernel.shape[0]) {
    throw new Error(`${FUSED_DENSE_KERNEL}: x [${x.shape.join(', ')}] and kernel [${kernel.shape.join(', ')}] do not multiply`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== kernel.shape[1])) throw new Error(`${FUSED_DENSE_KERNEL}: bias [${bias.shape.join(', ')}] must be [${kernel.shape[1]}]`);
  if (activation !== 'relu' && activation !== 'linear') throw new Error(`${FUSED_DENSE_KERNEL}: activation must be relu or linear, got ${activation}`);
}

function values(backend: MathBackendCPU, t: tf.TensorInfo, what: string): Float32Array {
  const v = floatData(backend, t);
  if (v) return v;
  if (t.dtype !== 'float32') throw new Error(`${FUSED_DENSE_KERNEL}: ${what} must be float32, got ${t.dtype}`);
  // The cpu backend casts bool to float32 without copying, so the float32 tensor keeps its Uint8Array.
  return Float32Array.from(backend.data.get(t.dataId).values as ArrayLike<number>);
}

export function fusedDenseKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: FUSED_DENSE_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x, kernel, bias } = args.inputs as { x: tf.TensorInfo; kernel: tf.TensorInfo; bias?: tf.TensorInfo };
      const { activation } = args.attrs as unknown as DenseAttrs;
      check(x, kernel, bias, activation);
      const [m, k] = x.shape;
      const n = kernel.shape[1];
      const out = allocOutput(backend, m * n);
      addon.dense(values(backend, x, 'x'), values(backend, kernel, 'kernel'), bias ? values(backend, bias, 'bias') : null, out, m, n, k, activation === 'relu');
      return backend.makeTensorInfo([m, n], 'float32', out);
    },
  };
}

/** Outputs [dyAct [M, N], dW [K, N], db [N]] from inputs dy, y (the forward output) and x. */
export function fusedDenseGradKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: FUSED_DENSE_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, y, x } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo; x: tf.TensorInfo };
      const { activation } = args.attrs as unknown as DenseAttrs;
      const [m, k] = x.shape;
      const n = y.shape[1];
      const dyAct = allocOutput(backend, m * n);
      const dW = allocOutput(backend, k * n);
      const db = allocOutput(backend, n);
      addon.denseGrad(values(backend, dy, 'dy'), values(backend, y, 'y'), values(backend, x, 'x'), activation === 'relu', dyAct, dW, db, m, n, k);
      return [backend.makeTensorInfo([m, n], 'float32', dyAct), backend.makeTensorInfo([k, n], 'float32', dW), backend.makeTensorInfo([n], 'float32', db)];
    },
  };
}

/**
 * The gradient of the fused dense kernel. The weight and bias gradients come
 * from one kernel call made when the gradient is taken (every trainable layer
 * needs them); the input gradient dyAct W^T runs only if the tape asks for it
 * (the first layer's input is data and needs none).
 */
export const fusedDenseGradConfig: tf.GradConfig = {
  kernelName: FUSED_DENSE_KERNEL,
  inputsToSave: ['x', 'kernel'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, kernel, y] = saved;
    const [dyAct, dW, db] = tf.engine().runKernel(FUSED_DENSE_GRAD_KERNEL, { dy: dy as tf.Tensor, y, x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return {
      x: () => tf.matMul(dyAct, kernel, false, true),
      kernel: () => dW,
      bias: () => db,
    };
  },
};
