import * as tf from '@tensorflow/tfjs-core';

/**
 * What a caller may pass as a condition.
 * - class conditioning: a label (number), labels (number[] or a [batch] tensor),
 *   or rows of width numClasses ([batch, numClasses], one-hot or soft);
 * - vector conditioning: one vector (number[] or a [conditionDim] tensor,
 *   repeated for the batch) or rows ([batch, conditionDim]).
 * A single label or vector (or a batch of 1) is repeated to the batch size.
 */
export type ConditionInput = tf.Tensor | number | readonly number[] | readonly (readonly number[])[];

/** How conditions are interpreted: class labels or real vectors. */
export interface ConditionSpec {
  /** Set for class conditioning (labels 0..numClasses-1). */
  numClasses?: number;
  /** Width of the condition vector (numClasses for class conditioning). */
  dim: number;
}

export function isConditionInput(value: unknown): value is ConditionInput {
  return value instanceof tf.Tensor || typeof value === 'number' || Array.isArray(value);
}

function checkLabels(labels: ArrayLike<number>, numClasses: number, who: string): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new Error(`${who}: label ${l} at index ${i} is out of range; labels must be integers in [0, ${numClasses - 1}]`);
    }
  }
}

/**
 * Turn any accepted condition into float32 rows [batch, dim], validating it.
 * Labels are checked on the host (one small read): a bad label would
 * otherwise become an all-zero one-hot row and silently decode as no class.
 * @param batch the batch size the condition must match (rows of 1 are repeated)
 * @returns [batch, spec.dim] float32
 */
export function conditionRows(condition: ConditionInput | undefined, spec: ConditionSpec, batch: number, who: string): tf.Tensor2D {
  const { numClasses, dim } = spec;
  const expects =
    numClasses !== undefined
      ? `a label in [0, ${numClasses - 1}], labels [batch], or rows [batch, ${dim}]`
      : `a vector of ${dim} values or rows [batch, ${dim}]`;
  if (condition === undefined || condition === null) throw new Error(`${who}: a condition is required (${expects})`);
  return tf.tidy(() => {
    let rows: tf.Tensor;
    const isLabels =
      numClasses !== undefined &&
      (typeof condition === 'number' || (condition instanceof tf.Tensor ? condition.rank <= 1 : !Array.isArray(condition[0])));
    if (isLabels) {
      const labels: number[] | Float32Array | Int32Array | Uint8Array =
        typeof condition === 'number'
          ? [condition]
          : condition instanceof tf.Tensor
            ? (condition.dataSync() as Float32Array | Int32Array | Uint8Array)
            : (condition as number[]);
      checkLabels(labels, numClasses as number, who);
      // int32 one-hot then a cast: tfjs-backend-wasm 4.22's OneHot with dtype 'float32' writes the int bit
      // pattern (1 reads as 1.4e-45), which silently turns the condition off.
      rows = tf.cast(tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), numClasses as number), 'float32');
    } else if (condition instanceof tf.Tensor) {
      if (condition.rank > 2) throw new Error(`${who}: condition must be ${expects}, got a tensor of shape [${condition.shape.join(', ')}]`);
      rows = tf.cast(condition.rank === 1 ? tf.reshape(condition, [1, -1]) : condition, 'float32');
    } else if (typeof condition === 'number') {
      throw new Error(`${who}: a single number is a class label, but this model is conditioned on vectors (${expects})`);
    } else {
      const arr = condition as readonly (number | readonly number[])[];
      const nested = Array.isArray(arr[0]);
      const flat = (nested ? (arr as readonly (readonly number[])[]) : [arr as readonly number[]]).map((r, i) => {
        if (!Array.isArray(r) || r.length !== dim) throw new Error(`${who}: condition row ${i} must have ${dim} values, got ${Array.isArray(r) ? r.length : typeof r}`);
        return r;
      });
      rows = tf.tensor2d(flat as number[][], [flat.length, dim], 'float32');
    }
    if (rows.shape[1] !== dim) throw new Error(`${who}: condition must be ${expects}; got width ${rows.shape[1]}, expected ${dim}`);
    const n = rows.shape[0];
    if (n === batch) return rows as tf.Tensor2D;
    if (n === 1) return tf.tile(rows, [batch, 1]) as tf.Tensor2D;
    throw new Error(`${who}: condition has ${n} rows but the batch has ${batch} (give one per example, or one for all)`);
  });
}
