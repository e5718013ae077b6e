import * as tf from '@tensorflow/tfjs-core';

export interface GradCheckResult {
  /** max |analytic - numeric| / max(1, |numeric|) over the checked entries. */
  maxRelativeError: number;
  analytic: Float32Array;
  numeric: Float32Array;
}

/**
 * Compare tfjs's gradient of a scalar function with respect to a variable
 * against central finite differences, on up to `maxEntries` entries.
 * float32 limits the precision: use smooth functions and eps around 1e-2.
 */
export function checkGradient(
  f: () => tf.Scalar,
  variable: tf.Variable,
  options: { eps?: number; maxEntries?: number } = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-2;
  const n = Math.min(variable.size, options.maxEntries ?? 24);
  const { value, grads } = tf.variableGrads(f, [variable]);
  const analyticAll = grads[variable.name].dataSync() as Float32Array;
  tf.dispose([value, ...Object.values(grads)]);
  const original = variable.dataSync().slice() as Float32Array;
  const analytic = new Float32Array(n);
  const numeric = new Float32Array(n);
  const stride = Math.max(1, Math.floor(variable.size / n));
  const evalAt = (values: Float32Array): number =>
    tf.tidy(() => {
      variable.assign(tf.tensor(values, variable.shape));
      return f().dataSync()[0];
    });
  let maxRel = 0;
  for (let i = 0; i < n; i++) {
    const idx = i * stride;
    const plus = original.slice();
    plus[idx] += eps;
    const minus = original.slice();
    minus[idx] -= eps;
    numeric[i] = (evalAt(plus) - evalAt(minus)) / (2 * eps);
    analytic[i] = analyticAll[idx];
    maxRel = Math.max(maxRel, Math.abs(analytic[i] - numeric[i]) / Math.max(1, Math.abs(numeric[i])));
  }
  tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
  return { maxRelativeError: maxRel, analytic, numeric };
}

/** Run fn and return how many tensors it left behind. */
export async function tensorLeak(fn: () => unknown | Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}
