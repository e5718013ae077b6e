import { GAUSSIAN_RSAMPLE_KERNEL } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { allocOutput, valuesOfLength } from './util';

/**
 * @elbo/core's reparameterised Gaussian draw z = loc + exp(logVar / 2) * eps
 * (GAUSSIAN_RSAMPLE_KERNEL) and its gradient, each one kernel. As the KL
 * kernels, plain loops in JS over [batch, latentDim] (a few thousand elements)
 * beat a native call; the saving is the kernel calls of the unfused ops.
 * Arithmetic in double, rounded once to float32; NaN stays NaN.
 */
export { GAUSSIAN_RSAMPLE_KERNEL };
export const GAUSSIAN_RSAMPLE_GRAD_KERNEL = 'ElboGaussianRsampleGrad';

const values = (backend: MathBackendCPU, t: tf.TensorInfo, n: number) => valuesOfLength(backend, t, n, GAUSSIAN_RSAMPLE_KERNEL);

export function gaussianRsampleKernelConfig(): tf.KernelConfig {
  return {
    kernelName: GAUSSIAN_RSAMPLE_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { loc, logVar, eps } = args.inputs as { loc: tf.TensorInfo; logVar: tf.TensorInfo; eps: tf.TensorInfo };
      const n = tf.util.sizeFromShape(loc.shape);
      const [m, lv, e] = [values(backend, loc, n), values(backend, logVar, n), values(backend, eps, n)];
      const out = allocOutput(backend, n);
      for (let i = 0; i < n; i++) out[i] = m[i] + Math.exp(0.5 * lv[i]) * e[i];
      return backend.makeTensorInfo(loc.shape, 'float32', out);
    },
  };
}

/** Outputs [dloc, dlogVar] = [dy, dy exp(logVar / 2) eps / 2] from inputs dy, logVar and eps. */
export function gaussianRsampleGradKernelConfig(): tf.KernelConfig {
  return {
    kernelName: GAUSSIAN_RSAMPLE_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, logVar, eps } = args.inputs as { dy: tf.TensorInfo; logVar: tf.TensorInfo; eps: tf.TensorInfo };
      const n = tf.util.sizeFromShape(logVar.shape);
      const [d, lv, e] = [values(backend, dy, n), values(backend, logVar, n), values(backend, eps, n)];
      const dm = allocOutput(backend, n);
      const dlv = allocOutput(backend, n);
      for (let i = 0; i < n; i++) {
        dm[i] = d[i];
        dlv[i] = 0.5 * d[i] * Math.exp(0.5 * lv[i]) * e[i];
      }
      return [backend.makeTensorInfo(logVar.shape, 'float32', dm), backend.makeTensorInfo(logVar.shape, 'float32', dlv)];
    },
  };
}

/**
 * The kernel's gradient: loc's and logVar's in one kernel call, made when the gradient is taken.
 * loc gets a copy of dz, not dz itself: tfjs's backprop disposes an input's gradient when it adds
 * another to it (as when loc is also logVar), and the node's other gradients still read dz.
 */
export const gaussianRsampleGradConfig: tf.GradConfig = {
  kernelName: GAUSSIAN_RSAMPLE_KERNEL,
  inputsToSave: ['logVar', 'eps'],
  gradFunc: (dy, saved) => {
    const [logVar, eps] = saved;
    const [dm, dlv] = tf.engine().runKernel(GAUSSIAN_RSAMPLE_GRAD_KERNEL, { dy: dy as tf.Tensor, logVar, eps }, {}) as tf.Tensor[];
    return {
      loc: () => dm,
      logVar: () => dlv,
      eps: () => tf.mul(dy as tf.Tensor, tf.exp(tf.mul(logVar, 0.5))),
    };
  },
};
