import * as tf from '@tensorflow/tfjs-core';
import { type Batch, disposeBatch, type GenerativeModel, type LossContext } from '../model';
import type { Optimizer } from './optimizers';

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
        terms = tf.keep(tf.stack([o.loss, ...Object.values(o.terms)].map((t) => tf.reshape(t, []))) as tf.Tensor1D);
        return o.loss;
      }, params);
      value.dispose();
      const g = params.map((p) => named[p.name] ?? tf.zerosLike(p));
      // Squared norm per parameter: gives the global norm for clipping and, read later, which gradients were not finite.
      const sq = tf.stack(g.map((t) => tf.sum(tf.square(t))));
      const norm = tf.sqrt(tf.sum(sq));
      let grads = g;
      if (settings.clipNorm !== undefined) {
        const scale = tf.div(settings.clipNorm, tf.maximum(norm, settings.clipNorm));
        grads = g.map((t) => tf.mul(t, scale));
      }
      const values = tf.concat([terms as unknown as tf.Tensor1D, tf.reshape(norm, [1]), sq]);
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
