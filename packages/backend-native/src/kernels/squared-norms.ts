import { SQUARED_NORMS_KERNEL } from '@elbo/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { floatData } from './util';

/**
 * @elbo/core's squared norms (SQUARED_NORMS_KERNEL): the trainer's
 * per-parameter squared gradient norms in one native pass over all the
 * gradients, instead of a Square, a Sum (each a fresh array and a kernel
 * call) per parameter and a stack. Inputs that are not float32 storage are
 * summed here in JS, the same way.
 */
export { SQUARED_NORMS_KERNEL };

export function squaredNormsKernelConfig(): tf.KernelConfig {
  const addon = requireAddon();
  return {
    kernelName: SQUARED_NORMS_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const inputs = Object.values(args.inputs) as tf.TensorInfo[];
      const out = new Float32Array(inputs.length);
      const arrays = inputs.map((t) => floatData(backend, t));
      if (arrays.every((a) => a !== null)) {
        addon.squaredNorms(arrays as Float32Array[], out);
      } else {
        inputs.forEach((t, i) => {
          const v = backend.data.get(t.dataId).values as ArrayLike<number>;
          let s = 0;
          for (let j = 0; j < v.length; j++) s += Math.fround(v[j] * v[j]);
          out[i] = s;
        });
      }
      return backend.makeTensorInfo([inputs.length], 'float32', out);
    },
  };
}
