import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { RELU_GRAD_KERNEL } from '@elbo/core';
import { BroadcastMode, requireAddon } from '../native-addon';
import { allocOutput, broadcastMode, cpuKernel, floatData, sizeOf } from './util';

export { RELU_GRAD_KERNEL };

/** Codes of native/elementwise.h BinaryOp. */
const BINARY_OPS = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
} as const;

export type NativeBinaryKernel = keyof typeof BINARY_OPS;
export const NATIVE_BINARY_KERNELS = Object.keys(BINARY_OPS) as NativeBinaryKernel[];

/**
 * Elementwise binary kernels with the broadcasts a VAE step uses (equal
 * shapes, scalars, bias-like trailing dims, per-row leading dims); anything
 * else, and non-float32 inputs, runs tfjs-backend-cpu's kernel.
 */
export function binaryKernelConfig(name: NativeBinaryKernel): tf.KernelConfig {
  const op = BINARY_OPS[name];
  const fallback = cpuKernel(name);
  const addon = requireAddon();
  return {
    kernelName: name,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const av = floatData(backend, a);
      const bv = floatData(backend, b);
      if (!av || !bv) return fallback(args);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const am = broadcastMode(a.shape, outShape);
      const bm = broadcastMode(b.shape, outShape);
      if (am === null || bm === null) return fallback(args);
      const out = allocOutput(backend, sizeOf(outShape));
      addon.binary(op, av, am, bv, bm, out);
      return backend.makeTensorInfo(outShape, 'float32', out);
    },
  };
}

/** Native op code of core's RELU_GRAD_KERNEL: dy * step(y) in one pass. */
const RELU_GRAD_OP = 7;

/**
 * core's ReLU gradient (RELU_GRAD_KERNEL): dy masked by the output y, one
 * pass instead of tfjs's Cast, Step and Multiply (three passes over a conv
 * layer's activations, each a kernel call).
 */
export function reluGradKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: RELU_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
      if (!tf.util.arraysEqual(dy.shape, y.shape)) throw new Error(`${RELU_GRAD_KERNEL}: dy [${dy.shape}] and y [${y.shape}] must have one shape`);
      const dv = floatData(backend, dy);
      const yv = floatData(backend, y);
      if (!dv || !yv) throw new Error(`${RELU_GRAD_KERNEL}: dy and y must be float32`);
      const out = allocOutput(backend, dv.length);
      addon.binary(RELU_GRAD_OP, dv, BroadcastMode.Full, yv, BroadcastMode.Full, out);
      return backend.makeTensorInfo(dy.shape, 'float32', out);
    },
  };
}
