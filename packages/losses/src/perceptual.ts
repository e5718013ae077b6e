import * as tf from '@tensorflow/tfjs-core';
import { type Layer, Sequential, stopGradient } from '@elbo/core';
import { checkReduction, perExample, type Reduction } from '@elbo/core';

/** A feature extractor: a Layer (a Sequential can be tapped after chosen layers) or a function returning feature maps. */
export type FeatureExtractor = Layer | ((x: tf.Tensor) => tf.Tensor[]);

/**
 * Feature maps of x.
 * - function: its output;
 * - Sequential with `layers`: the outputs after those child indices (0-based);
 * - any other Layer (or a Sequential without `layers`): [layer.apply(x)].
 * @param x [batch, ...]
 */
export function featureMaps(features: FeatureExtractor, x: tf.Tensor, layers?: number[]): tf.Tensor[] {
  if (typeof features === 'function') {
    if (layers) throw new Error('perceptualLoss: layers applies to a Sequential extractor, not to a function (select the maps in the function)');
    return features(x);
  }
  if (!layers) return [features.apply(x)];
  if (!(features instanceof Sequential)) throw new Error('perceptualLoss: layers needs a Sequential extractor');
  const n = features.layers.length;
  for (const i of layers) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`perceptualLoss: layers entries must be integers in [0, ${n - 1}], got ${i}`);
  }
  const last = Math.max(...layers);
  const tapped = new Map<number, tf.Tensor>();
  // Run only as far as the deepest tapped layer; keep the tapped outputs, free the rest.
  let y = x;
  for (let i = 0; i <= last; i++) {
    const next = features.layers[i].apply(y);
    if (y !== x && next !== y && ![...tapped.values()].includes(y)) y.dispose();
    y = next;
    if (layers.includes(i)) tapped.set(i, y);
  }
  return layers.map((i) => tapped.get(i) as tf.Tensor);
}

export interface PerceptualOptions {
  /** For a Sequential extractor: child indices whose outputs are compared (default: the final output). */
  layers?: number[];
  /** Weight per feature map (default 1 each). */
  weights?: number[];
  /** 'l2' squared difference (default; Hou et al. 2017) or 'l1' absolute difference. */
  distance?: 'l2' | 'l1';
  /** 'sum-mean' (default: sum over feature elements, mean over the batch) or 'mean' (mean over every element). */
  reduction?: Reduction;
  /** Treat the target's features as constants (default true): gradients flow only through the prediction. */
  detachTarget?: boolean;
}

/**
 * Feature-matching (perceptual) distance (Hou et al. 2017, "Deep feature
 * consistent VAE"): sum_l w_l * D(phi_l(prediction), phi_l(target)), D the
 * squared (or absolute) difference reduced per `reduction`. The extractor's
 * own variables receive gradients unless the caller excludes them.
 *
 * @param features the extractor phi (a Layer, a tapped Sequential or a function returning maps)
 * @param prediction [batch, ...] e.g. the reconstruction
 * @param target [batch, ...] e.g. the input
 * @returns scalar
 * @example const loss = perceptualLoss(vggLike, xHat, x, { layers: [1, 3], weights: [1, 0.5] });
 */
export function perceptualLoss(features: FeatureExtractor, prediction: tf.Tensor, target: tf.Tensor, options: PerceptualOptions = {}): tf.Scalar {
  const reduction = checkReduction(options.reduction, 'perceptualLoss');
  const distance = options.distance ?? 'l2';
  if (distance !== 'l2' && distance !== 'l1') throw new Error(`perceptualLoss: distance must be 'l2' or 'l1', got ${String(distance)}`);
  if (prediction.shape[0] !== target.shape[0]) {
    throw new Error(`perceptualLoss: prediction and target must have the same batch size, got ${prediction.shape[0]} and ${target.shape[0]}`);
  }
  return tf.tidy(() => {
    const fp = featureMaps(features, prediction, options.layers);
    const ft = featureMaps(features, target, options.layers);
    const weights = options.weights ?? fp.map(() => 1);
    if (weights.length !== fp.length) throw new Error(`perceptualLoss: weights has ${weights.length} entries for ${fp.length} feature maps`);
    if (!weights.every((w) => Number.isFinite(w) && w >= 0)) throw new Error(`perceptualLoss: weights must be finite numbers >= 0, got [${weights.join(', ')}]`);
    let total: tf.Tensor = tf.scalar(0);
    fp.forEach((a, l) => {
      const b = options.detachTarget === false ? ft[l] : stopGradient(ft[l]);
      if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
        throw new Error(`perceptualLoss: feature map ${l} shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
      }
      const diff = tf.sub(a, b);
      const e = distance === 'l2' ? tf.square(diff) : tf.abs(diff);
      const reduced = reduction === 'mean' ? tf.mean(e) : tf.mean(perExample(e));
      total = tf.add(total, tf.mul(reduced, weights[l]));
    });
    return total as tf.Scalar;
  });
}
