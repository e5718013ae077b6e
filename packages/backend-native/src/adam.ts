import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { NATIVE_BACKEND_NAME } from './backend';
import { loadAddon } from './native-addon';

export interface FusedAdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based step count t of this update (for the bias corrections). */
  step: number;
  /** A scalar bool tensor of the 'native' backend (core's NaN guard): when false the update changes nothing. */
  gate?: tf.Tensor;
}

/**
 * One Adam step on `param` with moment variables `m` and `v` (same shape,
 * float32) in a single native pass, for optimizers that keep their own state
 * (e.g. @elbo/core's Adam). The same update as tf.train.adam. The arrays are
 * updated in place only where nothing else can see them (see
 * NativeBackend.ownsExclusively: a clone, a view or an array read out with
 * dataSync() rules it out); otherwise new arrays are assigned to all three
 * variables, so readers of earlier values are safe. Returns false, changing nothing, when the active
 * backend is not 'native' or the addon is unavailable: the caller then runs
 * its own tensor ops.
 * @param param [...shape] updated
 * @param m [...shape] first moment, updated
 * @param v [...shape] second moment, updated
 * @param grad [...shape]
 */
export function fusedAdamUpdate(param: tf.Variable, m: tf.Variable, v: tf.Variable, grad: tf.Tensor, options: FusedAdamOptions): boolean {
  const addon = loadAddon();
  if (!addon || tf.getBackend() !== NATIVE_BACKEND_NAME) return false;
  const { learningRate, beta1, beta2, epsilon, step } = options;
  if (!(step >= 1) || !Number.isInteger(step)) throw new Error(`fusedAdamUpdate: step must be a positive integer, got ${step}`);
  for (const [name, t] of [['m', m], ['v', v], ['grad', grad]] as const) {
    if (t.size !== param.size) throw new Error(`fusedAdamUpdate: ${name} has ${t.size} elements, param has ${param.size}`);
  }
  const backend = tf.backend() as MathBackendCPU & { allocFloat32?: (n: number) => Float32Array; ownsExclusively?: (dataId: tf.DataId) => boolean };
  const read = (t: tf.Tensor): Float32Array | null => {
    if (t.dtype !== 'float32') return null;
    const values = backend.data.get(t.dataId).values;
    return values instanceof Float32Array ? values : null;
  };
  const [pw, pm, pv, pg] = [read(param), read(m), read(v), read(grad)];
  if (!pw || !pm || !pv || !pg) return false;
  if (options.gate !== undefined) {
    // The NaN guard's gate lives in this backend's memory: when it is false, the step changes nothing.
    const g = backend.data.get(options.gate.dataId)?.values as ArrayLike<number> | undefined;
    if (!g || g.length !== 1) return false;
    if (!g[0]) return true;
  }
  const n = param.size;
  const c2 = Math.sqrt(1 - beta2 ** step);
  const lrT = (learningRate * c2) / (1 - beta1 ** step);
  // In place when nothing but these variables can see their arrays (after the first update, and until the
  // NaN guard's next snapshot clones them): writing three arrays back where they were read moves about a
  // third less memory than filling three others, and the update is memory-bound.
  const exclusive = (t: tf.Tensor): boolean => typeof backend.ownsExclusively === 'function' && backend.ownsExclusively(t.dataId);
  if (exclusive(param) && exclusive(m) && exclusive(v)) {
    addon.adam(pw, pm, pv, pg, pw, pm, pv, beta1, beta2, lrT, epsilon * c2);
    return true;
  }
  const alloc = (): Float32Array => (backend.allocFloat32 ? backend.allocFloat32(n) : new Float32Array(n));
  const [wOut, mOut, vOut] = [alloc(), alloc(), alloc()];
  addon.adam(pw, pm, pv, pg, wOut, mOut, vOut, beta1, beta2, lrT, epsilon * c2);
  for (const [variable, values] of [[param, wOut], [m, mOut], [v, vOut]] as const) {
    const next = tf.tensor(values, variable.shape, 'float32');
    variable.assign(next);
    next.dispose();
  }
  return true;
}
