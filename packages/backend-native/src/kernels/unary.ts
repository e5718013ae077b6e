import type * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { allocOutput, cpuKernel, floatData } from './util';

/** Codes of native/elementwise.h UnaryOp. */
export const UNARY_OPS = {
  Neg: 0,
  Exp: 1,
  Log: 2,
  Sqrt: 3,
  Square: 4,
  Relu: 5,
  Step: 6,
  Abs: 7,
  Log1p: 8,
  Sigmoid: 9,
  Softplus: 10,
  Rsqrt: 11,
  Reciprocal: 12,
  LeakyRelu: 13,
  Relu6: 14,
  Elu: 15,
  Tanh: 16,
} as const;

export type NativeUnaryKernel = keyof typeof UNARY_OPS;
export const NATIVE_UNARY_KERNELS = Object.keys(UNARY_OPS) as NativeUnaryKernel[];

/** Elementwise unary kernels (float32 in, float32 out, tfjs-backend-cpu's NaN semantics). */
export function unaryKernelConfig(name: NativeUnaryKernel): tf.KernelConfig {
  const op = UNARY_OPS[name];
  const fallback = cpuKernel(name);
  const addon = requireAddon();
  return {
    kernelName: name,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: tf.TensorInfo };
      const xv = floatData(backend, x);
      if (!xv) return fallback(args);
      // Step's attr is `alpha` (value for x <= 0); LeakyRelu's is `alpha` too.
      const alpha = Number((args.attrs as { alpha?: number } | undefined)?.alpha ?? 0);
      const out = allocOutput(backend, xv.length);
      addon.unary(op, xv, out, alpha);
      return backend.makeTensorInfo(x.shape, 'float32', out);
    },
  };
}
