import * as tf from '@tensorflow/tfjs-core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Mean and covariance of a set of feature vectors (float64). */
export interface FeatureStatistics {
  /** Number of feature vectors. */
  count: number;
  /** [d] mean. */
  mean: Float64Array;
  /** [d, d] row-major covariance with ddof = 1 (numpy's `np.cov(rowvar=False)`, as TF-GAN and pytorch-fid). */
  covariance: Float64Array;
  dim: number;
}

/**
 * Accumulates the mean and covariance of feature batches in float64 without
 * keeping the features, shifted by the first row for numerical stability.
 */
export class FeatureStatisticsAccumulator {
  private n = 0;
  private dim = -1;
  private shift: Float64Array | null = null;
  private sum: Float64Array | null = null;
  private outer: Float64Array | null = null;

  /** @param features [batch, d] (read and left to the caller to dispose) */
  add(features: tf.Tensor): void {
    if (features.rank !== 2) throw new Error(`FeatureStatistics: features must be [batch, d], got [${features.shape.join(', ')}]`);
    const [b, d] = features.shape;
    if (this.dim === -1) {
      this.dim = d;
      this.sum = new Float64Array(d);
      this.outer = new Float64Array(d * d);
    } else if (d !== this.dim) {
      throw new Error(`FeatureStatistics: feature size changed from ${this.dim} to ${d}`);
    }
    const v = features.dataSync();
    if (b === 0) return;
    if (!this.shift) this.shift = Float64Array.from(v.subarray(0, d));
    const sum = this.sum as Float64Array;
    const outer = this.outer as Float64Array;
    const row = new Float64Array(d);
    for (let r = 0; r < b; r++) {
      for (let i = 0; i < d; i++) row[i] = v[r * d + i] - this.shift[i];
      for (let i = 0; i < d; i++) {
        const ri = row[i];
        sum[i] += ri;
        if (ri === 0) continue;
        const o = i * d;
        for (let j = i; j < d; j++) outer[o + j] += ri * row[j];
      }
    }
    this.n += b;
  }

  result(): FeatureStatistics {
    if (this.n < 2 || !this.shift) throw new Error(`FeatureStatistics: need at least 2 feature vectors, got ${this.n}`);
    const d = this.dim;
    const n = this.n;
    const sum = this.sum as Float64Array;
    const outer = this.outer as Float64Array;
    const mean = new Float64Array(d);
    for (let i = 0; i < d; i++) mean[i] = this.shift[i] + sum[i] / n;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const c = (outer[i * d + j] - (sum[i] * sum[j]) / n) / (n - 1);
        cov[i * d + j] = c;
        cov[j * d + i] = c;
      }
    }
    return { count: n, mean, covariance: cov, dim: d };
  }
}

/** Statistics of one [n, d] feature tensor. */
export function featureStatistics(features: tf.Tensor): FeatureStatistics {
  const acc = new FeatureStatisticsAccumulator();
  acc.add(features);
  return acc.result();
}

/** Symmetric PSD square root by eigendecomposition (negative round-off eigenvalues clipped to 0). */
function sqrtSymmetric(m: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const s = eig.realEigenvalues.map((l) => Math.sqrt(Math.max(l, 0)));
  return v.mmul(Matrix.diag(s)).mmul(v.transpose());
}

function symmetrize(m: Matrix): Matrix {
  return m.add(m.transpose()).mul(0.5);
}

/**
 * Fréchet distance between N(mu1, S1) and N(mu2, S2) (Heusel et al. 2017):
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2}).
 *
 * tr((S1 S2)^{1/2}) is computed as tr((S1^{1/2} S2 S1^{1/2})^{1/2}) (similar
 * matrices, so the same eigenvalues) with ml-matrix's symmetric eigensolver,
 * which avoids the complex round-off scipy's `sqrtm` of a non-symmetric
 * product suffers. Result clipped at 0 (it is a squared distance).
 */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: feature sizes differ (${a.dim} vs ${b.dim})`);
  const d = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  const s1 = Matrix.from1DArray(d, d, Array.from(a.covariance));
  const s2 = Matrix.from1DArray(d, d, Array.from(b.covariance));
  const h = sqrtSymmetric(s1);
  const m = symmetrize(h.mmul(s2).mmul(h));
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const trSqrt = eig.realEigenvalues.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
  const fd = meanTerm + s1.trace() + s2.trace() - 2 * trSqrt;
  return Math.max(fd, 0);
}
