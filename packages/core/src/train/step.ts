import * as tf from '@tensorflow/tfjs-core';
import { type Batch, disposeBatch, type GenerativeModel, type LossContext } from '../model';
import type { Optimizer } from './optimizers';

/**
 * Kernel name of the squared L2 norm of each of a list of tensors, which a
 * backend may register: inputs the tensors (as an array, like AddN's), no
 * attrs, output [P] float32 with sum(t_i^2) at i (float32 squares summed as
 * tfjs's Sum sums them), non-finite where t_i holds a NaN or an infinity.
 * @elbo/backend-native computes all of a step's gradient norms in one native
 * call; other backends run Square and Sum per tensor and a stack.
 */
export const SQUARED_NORMS_KERNEL = 'ElboSquaredNorms';

/**
 * The squared L2 norm of each tensor, in one kernel where the active backend
 * registers SQUARED_NORMS_KERNEL. A NaN or an infinity in a tensor gives a
 * non-finite norm (the NaN guard names the bad gradients from them).
 * @param tensors float32 tensors of any shapes, at least one
 * @returns [tensors.length]
 * @example const sq = squaredNorms(grads); // sq.dataSync()[i] = sum(grads[i] ** 2)
 */
export function squaredNorms(tensors: tf.Tensor[]): tf.Tensor1D {
  if (tensors.length === 0) throw new Error('squaredNorms: needs at least one tensor');
  if (tf.getKernel(SQUARED_NORMS_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(SQUARED_NORMS_KERNEL, tensors as unknown as tf.NamedTensorMap, {}) as tf.Tensor1D;
  }
  return tf.tidy(() => tf.stack(tensors.map((t) => tf.sum(tf.square(t)))) as tf.Tensor1D);
}

/**
 * What one step leaves on the device for the trainer to read at its next log
 * point: `packed` is [loss, ...terms, gradNorm, ...squared gradient norm per
 * parameter, check], where check is 0 when all of them are finite, else NaN.
 */
export interface StepOutput {
  packed: tf.Tensor1D;
  /** 'loss' and the model's term names, in the order of `packed`. */
  termNames: string[];
}

export interface StepSettings {
  context: LossContext;
  learningRate: number;
  /** Clip the gradients to this global L2 norm. */
  clipNorm?: number;
  /**
   * Gate the update on the device on the step being finite: a step whose loss,
   * a term or a gradient is not finite changes no weight and no optimizer
   * state. Nothing is read back to decide it.
   */
  gate: boolean;
}

/**
 * One training step: the loss and its gradients with respect to `params`,
 * clipping by global norm, and the optimizer's update (gated when asked).
 * Disposes the batch; waits for nothing on the device.
 */
export function trainStep(model: GenerativeModel, params: tf.Variable[], optimizer: Optimizer, batch: Batch, settings: StepSettings): StepOutput {
  let termNames: string[] = [];
  let out: { packed: tf.Tensor1D; grads: tf.Tensor[]; ok: tf.Scalar };
  try {
    out = tf.tidy(() => {
      let terms: tf.Tensor1D | null = null;
      const { value, grads: named } = tf.variableGrads(() => {
        const o = model.loss(batch, settings.context);
        termNames = ['loss', ...Object.keys(o.terms)];
        // Scalars go into the stack as they are: this runs on the tape, where each reshape is a kernel call
        // whose input the engine clones for a backward pass that never reaches it.
        terms = tf.keep(tf.stack([o.loss, ...Object.values(o.terms)].map((t) => (t.rank === 0 ? t : tf.reshape(t, [])))) as tf.Tensor1D);
        return o.loss;
      }, params);
      value.dispose();
      const g = params.map((p) => named[p.name] ?? tf.zerosLike(p));
      // Squared norm per parameter: gives the global norm for clipping and, read later, which gradients were not finite.
      const sq = squaredNorms(g);
      const norm = tf.sqrt(tf.sum(sq, 0, true)) as tf.Tensor1D;
      let grads = g;
      if (settings.clipNorm !== undefined) {
        // A scalar, so that every clipped gradient keeps its parameter's shape (a [1] would broadcast a scalar's to [1]).
        const scale = tf.div(settings.clipNorm, tf.maximum(tf.reshape(norm, []), settings.clipNorm));
        grads = g.map((t) => tf.mul(t, scale));
      }
      const values = tf.concat([terms as unknown as tf.Tensor1D, norm, sq]);
      (terms as unknown as tf.Tensor).dispose();
      // x * 0 is 0 for finite x and NaN for NaN or +-Infinity, so the sum is 0 exactly when every value is finite.
      const check = tf.sum(tf.mul(values, 0));
      const ok = tf.equal(check, 0) as tf.Scalar;
      const packed = tf.concat([values, tf.reshape(check, [1])]) as tf.Tensor1D;
      return { packed, grads, ok };
    });
  } finally {
    disposeBatch(batch);
  }
  try {
    optimizer.learningRate = settings.learningRate;
    optimizer.apply(params, out.grads, settings.gate ? out.ok : undefined);
  } finally {
    tf.dispose([...out.grads, out.ok]);
  }
  return { packed: out.packed, termNames };
}
