import * as tf from '@tensorflow/tfjs-core';

/**
 * A backbone for LPIPS: maps images [n, h, w, c] to a list of feature maps
 * [n, h_l, w_l, c_l] (e.g. the relu outputs of VGG16's five stages in the
 * original). No pretrained backbone or official linear-head weights are
 * shipped with elbo (they cannot be downloaded here): bring your own.
 */
export type LpipsBackbone = (x: tf.Tensor4D) => tf.Tensor4D[];

export interface LpipsOptions {
  backbone: LpipsBackbone;
  /**
   * Non-negative per-channel weights w_l [c_l] of the linear heads, one per
   * feature map. Omitted (or null for a layer): all ones, the "baseline"
   * LPIPS without learned heads (Zhang et al. 2018, lin=False).
   */
  heads?: Array<tf.Tensor1D | number[] | null>;
}

/**
 * LPIPS distance formula (Zhang et al. 2018), differentiable:
 * d(x, y) = sum_l mean_{h,w} sum_c w_{l,c} (f^l_{hwc}(x)/|f^l_{hw}(x)| - f^l_{hwc}(y)/|f^l_{hw}(y)|)^2,
 * features unit-normalised over channels with eps 1e-10 added to the norm, as the reference code.
 * Official LPIPS weights are NOT shipped: with your own backbone/heads the numbers
 * are not comparable to published LPIPS values.
 * @param x [n, h, w, c] @param y same shape
 * @returns [n] distances
 */
export function lpipsTensor(x: tf.Tensor4D, y: tf.Tensor4D, options: LpipsOptions): tf.Tensor1D {
  if (!options || typeof options.backbone !== 'function') throw new Error('lpips: options.backbone must be a function (images [n, h, w, c]) => feature maps [n, h_l, w_l, c_l][]');
  if (x.shape.join(',') !== y.shape.join(',') || x.rank !== 4) {
    throw new Error(`lpips: x and y must be [n, h, w, c] of the same shape, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const fx = options.backbone(x);
    const fy = options.backbone(y);
    if (fx.length !== fy.length || fx.length === 0) throw new Error('lpips: the backbone must return the same non-empty list of feature maps for x and y');
    if (options.heads && options.heads.length !== fx.length) {
      throw new Error(`lpips: heads must have one entry per feature map (${fx.length}), got ${options.heads.length}`);
    }
    const normalise = (f: tf.Tensor) => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), -1, true)), 1e-10));
    let total: tf.Tensor = tf.zeros([x.shape[0]]);
    fx.forEach((a, l) => {
      let d = tf.square(tf.sub(normalise(a), normalise(fy[l])));
      const head = options.heads?.[l];
      if (head) {
        const w = head instanceof tf.Tensor ? head : tf.tensor1d(head);
        if (w.size !== a.shape[3]) throw new Error(`lpips: heads[${l}] must have ${a.shape[3]} weights (the layer's channels), got ${w.size}`);
        d = tf.mul(d, w);
      }
      total = tf.add(total, tf.mean(tf.sum(d, -1), [1, 2]));
    });
    return total as tf.Tensor1D;
  });
}

/** LPIPS distances as plain numbers, [n]. See `lpipsTensor`. */
export function lpips(x: tf.Tensor4D, y: tf.Tensor4D, options: LpipsOptions): Float64Array {
  const d = lpipsTensor(x, y, options);
  const v = Float64Array.from(d.dataSync());
  d.dispose();
  return v;
}
