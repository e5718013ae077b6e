import { encodeLabels } from './columns';

/**
 * Mutual information of two discrete labelings in nats, as scikit-learn's
 * `mutual_info_score(a, b)`: sum_ij p_ij log(p_ij / (p_i p_j)) over the
 * contingency table, clipped at 0 (0 when either labeling has one value).
 */
export function mutualInfoScore(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`mutualInfoScore: labelings differ in length (${a.length} vs ${b.length})`);
  const n = a.length;
  const ea = encodeLabels(a);
  const eb = encodeLabels(b);
  const ka = ea.classes.length;
  const kb = eb.classes.length;
  if (ka === 1 || kb === 1) return 0;
  const table = new Float64Array(ka * kb);
  const pa = new Float64Array(ka);
  const pb = new Float64Array(kb);
  for (let i = 0; i < n; i++) {
    table[ea.codes[i] * kb + eb.codes[i]]++;
    pa[ea.codes[i]]++;
    pb[eb.codes[i]]++;
  }
  let mi = 0;
  for (let i = 0; i < ka; i++) {
    for (let j = 0; j < kb; j++) {
      const nij = table[i * kb + j];
      if (nij > 0) mi += (nij / n) * (Math.log(nij) + Math.log(n) - Math.log(pa[i]) - Math.log(pb[j]));
    }
  }
  return Math.max(mi, 0);
}

/** Entropy of a discrete labeling in nats (= mutualInfoScore(a, a), disentanglement_lib's discrete_entropy). */
export function discreteEntropy(a: Float64Array): number {
  const { codes, classes } = encodeLabels(a);
  const counts = new Float64Array(classes.length);
  for (const c of codes) counts[c]++;
  let h = 0;
  for (const c of counts) h -= (c / a.length) * Math.log(c / a.length);
  return classes.length === 1 ? 0 : Math.max(h, 0);
}

/**
 * Discretise a column into `bins` equal-width bins as disentanglement_lib's
 * `_histogram_discretize`: np.digitize(x, np.histogram(x, bins)[1][:-1]),
 * giving labels 1..bins (edges from min to max; a constant column gets
 * numpy's range (v - 0.5, v + 0.5)).
 */
export function histogramDiscretize(x: Float64Array, bins = 20): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error('histogramDiscretize: values must be finite');
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // np.linspace(lo, hi, bins + 1): start + i * step; only the first `bins` edges are used.
  const step = (hi - lo) / bins;
  const edges = Float64Array.from({ length: bins }, (_, i) => lo + i * step);
  return Float64Array.from(x, (v) => {
    // np.digitize with increasing bins, right=False: the number of edges <= v.
    let k = 0;
    while (k < bins && edges[k] <= v) k++;
    return k;
  });
}
