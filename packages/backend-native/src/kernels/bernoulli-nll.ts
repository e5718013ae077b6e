import { BERNOULLI_NLL_KERNEL } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { allocOutput, floatData } from './util';

/**
 * @elbo/core's Bernoulli negative log-likelihood from logits
 * (BERNOULLI_NLL_KERNEL): max(l, 0) - l x + log1p(exp(-|l|)) per element in
 * one native pass, and its logits gradient dy (sigmoid(l) - x) in one more,
 * instead of nine elementwise kernels forward and about twenty backward over
 * the [batch, 784] reconstruction. (At l = 0 exactly the unfused ops' gradient
 * takes relu's and abs's subgradient 0 and gives -x; this gives the
 * derivative, 0.5 - x.)
 */
export { BERNOULLI_NLL_KERNEL };
export const BERNOULLI_NLL_GRAD_KERNEL = 'ElboBernoulliNllGrad';

function inputs(backend: MathBackendCPU, ts: tf.TensorInfo[]): Float32Array[] {
  const n = ts[0].shape.reduce((a, b) => a * b, 1);
  return ts.map((t, i) => {
    if (i > 0 && !tf.util.arraysEqual(t.shape, ts[0].shape)) throw new Error(`${BERNOULLI_NLL_KERNEL}: shapes [${ts[0].shape}] and [${t.shape}] differ`);
    const v = floatData(backend, t);
    if (v) return v;
    // The cpu backend casts bool to float32 without copying: the float32 tensor keeps its Uint8Array.
    const raw = backend.data.get(t.dataId).values as ArrayLike<number>;
    if (raw.length !== n) throw new Error(`${BERNOULLI_NLL_KERNEL}: input ${i} is not numeric storage`);
    return Float32Array.from(raw);
  });
}

export function bernoulliNllKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: BERNOULLI_NLL_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { logits, x } = args.inputs as { logits: tf.TensorInfo; x: tf.TensorInfo };
      const [lv, xv] = inputs(backend, [logits, x]);
      const out = allocOutput(backend, lv.length);
      addon.bernoulliNll(lv, xv, out);
      return backend.makeTensorInfo(logits.shape, 'float32', out);
    },
  };
}

/** Output dlogits from inputs dy, logits and x. */
export function bernoulliNllGradKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: BERNOULLI_NLL_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, logits, x } = args.inputs as { dy: tf.TensorInfo; logits: tf.TensorInfo; x: tf.TensorInfo };
      const [lv, dyv, xv] = inputs(backend, [logits, dy, x]);
      const dl = allocOutput(backend, lv.length);
      addon.bernoulliNllGrad(dyv, lv, xv, dl);
      return backend.makeTensorInfo(logits.shape, 'float32', dl);
    },
  };
}

/**
 * The kernel's gradient: the logits' in one native call; the targets' (-dy l,
 * needed only when x is itself computed from trainable weights) as tfjs ops.
 */
export const bernoulliNllGradConfig: tf.GradConfig = {
  kernelName: BERNOULLI_NLL_KERNEL,
  inputsToSave: ['logits', 'x'],
  gradFunc: (dy, saved) => {
    const [logits, x] = saved;
    return {
      logits: () => tf.engine().runKernel(BERNOULLI_NLL_GRAD_KERNEL, { dy: dy as tf.Tensor, logits, x }, {}) as tf.Tensor,
      x: () => tf.neg(tf.mul(dy as tf.Tensor, logits)),
    };
  },
};
