import { GAUSSIAN_KL_KERNEL } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { allocOutput, valuesOfLength } from './util';

/**
 * @elbo/core's KL(N(loc, exp(logVar)) || N(0, 1)) per element
 * (GAUSSIAN_KL_KERNEL) and its gradient, each one kernel. The tensors are
 * [batch, latentDim], a few thousand elements at most, so plain loops in JS
 * beat a native call; the saving is the ~20 kernel calls of the unfused ops
 * (each with its tape and tidy bookkeeping and a fresh array). Arithmetic in
 * double, rounded once to float32; NaN in loc or logVar stays NaN.
 */
export { GAUSSIAN_KL_KERNEL };
export const GAUSSIAN_KL_GRAD_KERNEL = 'ElboGaussianKlGrad';

const values = (backend: MathBackendCPU, t: tf.TensorInfo, n: number) => valuesOfLength(backend, t, n, GAUSSIAN_KL_KERNEL);

export function gaussianKlKernelConfig(): tf.KernelConfig {
  return {
    kernelName: GAUSSIAN_KL_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { loc, logVar } = args.inputs as { loc: tf.TensorInfo; logVar: tf.TensorInfo };
      const n = tf.util.sizeFromShape(loc.shape);
      const [m, lv] = [values(backend, loc, n), values(backend, logVar, n)];
      const out = allocOutput(backend, n);
      for (let i = 0; i < n; i++) out[i] = -0.5 * (1 + lv[i] - m[i] * m[i] - Math.exp(lv[i]));
      return backend.makeTensorInfo(loc.shape, 'float32', out);
    },
  };
}

/** Outputs [dloc, dlogVar] = [dy loc, dy (exp(logVar) - 1) / 2] from inputs dy, loc and logVar. */
export function gaussianKlGradKernelConfig(): tf.KernelConfig {
  return {
    kernelName: GAUSSIAN_KL_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, loc, logVar } = args.inputs as { dy: tf.TensorInfo; loc: tf.TensorInfo; logVar: tf.TensorInfo };
      const n = tf.util.sizeFromShape(loc.shape);
      const [d, m, lv] = [values(backend, dy, n), values(backend, loc, n), values(backend, logVar, n)];
      const dm = allocOutput(backend, n);
      const dlv = allocOutput(backend, n);
      for (let i = 0; i < n; i++) {
        dm[i] = d[i] * m[i];
        dlv[i] = 0.5 * d[i] * (Math.exp(lv[i]) - 1);
      }
      return [backend.makeTensorInfo(loc.shape, 'float32', dm), backend.makeTensorInfo(loc.shape, 'float32', dlv)];
    },
  };
}

/** The kernel's gradient: both inputs' in one kernel call, made when the gradient is taken. */
export const gaussianKlGradConfig: tf.GradConfig = {
  kernelName: GAUSSIAN_KL_KERNEL,
  inputsToSave: ['loc', 'logVar'],
  gradFunc: (dy, saved) => {
    const [loc, logVar] = saved;
    const [dm, dlv] = tf.engine().runKernel(GAUSSIAN_KL_GRAD_KERNEL, { dy: dy as tf.Tensor, loc, logVar }, {}) as tf.Tensor[];
    return { loc: () => dm, logVar: () => dlv };
  },
};
