import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-core's Engine (4.x) that saving tensors for a gradient uses. */
interface EngineInternals {
  backend: tf.KernelBackend;
  state: { gradientDepth: number; tensorInfo: Map<object, { backend: tf.KernelBackend }> };
  clone(x: tf.Tensor): tf.Tensor;
  nextTensorId(): number;
  incRef(a: tf.Tensor, backend: tf.KernelBackend): void;
  [SHARED]?: true;
}

const SHARED = Symbol.for('elbo.sharedSavedTensors');

/**
 * Make the tensors tfjs saves for a gradient share their data instead of going through a kernel.
 *
 * While a gradient tape records, tfjs's Engine keeps each input and output a kernel's gradient
 * needs by `Engine.clone`: it runs the Identity kernel (on every backend: the same data, one more
 * reference) and records a tape node from the original to the copy, so that a second-order
 * gradient can differentiate through the copy. On a single tape, which is what training runs,
 * nothing differentiates through it, so a tensor on the same data with one more reference is
 * the same thing without a kernel call and a tape node: in an MLP VAE step these copies were
 * 50 of the 121 kernel calls, each with the engine's full bookkeeping, and the tape filter walked
 * 50 more nodes. Nested tapes (tf.grad of tf.grad), and tensors whose data sits on another
 * backend than the active one, keep tfjs's clone. Idempotent; the engine is process-wide.
 */
export function shareSavedTensors(): boolean {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine[SHARED]) return true;
  if (typeof engine.clone !== 'function' || typeof engine.nextTensorId !== 'function' || typeof engine.incRef !== 'function') return false;
  const clone = engine.clone;
  engine.clone = function (this: EngineInternals, x: tf.Tensor): tf.Tensor {
    if (this.state.gradientDepth > 1 || this.state.tensorInfo.get(x.dataId)?.backend !== this.backend) return clone.call(this, x);
    const y = new tf.Tensor(x.shape, x.dtype, x.dataId, this.nextTensorId());
    this.incRef(y, this.backend);
    return y;
  };
  engine[SHARED] = true;
  return true;
}
