import * as tf from '@tensorflow/tfjs-core';

/** A matrix of n rows (points) and `dims` columns, as a tensor [n, dims] or nested arrays. */
export type PointMatrix = tf.Tensor | number[][] | ArrayLike<number>[];

/**
 * Split a [n, d] matrix into d float64 columns (disentanglement_lib keeps codes
 * and factors as [d, n]).
 */
export function toColumns(m: PointMatrix, name: string): Float64Array[] {
  if (m instanceof tf.Tensor) {
    if (m.rank !== 2) throw new Error(`${name} must be [n, dims], got [${m.shape.join(', ')}]`);
    const [n, d] = m.shape;
    const v = m.dataSync();
    return Array.from({ length: d }, (_, j) => {
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = v[i * d + j];
      return col;
    });
  }
  if (!Array.isArray(m) || m.length === 0) throw new Error(`${name} must be a non-empty [n, dims] tensor or array of rows`);
  const d = m[0].length;
  if (!(d > 0)) throw new Error(`${name}: rows must have at least one entry`);
  return Array.from({ length: d }, (_, j) =>
    Float64Array.from(m, (row, i) => {
      if (row.length !== d) throw new Error(`${name}: row ${i} has ${row.length} entries, expected ${d}`);
      return Number(row[j]);
    }),
  );
}

/** Map the values of a column to 0..classes-1 in ascending order (np.unique order). */
export function encodeLabels(col: Float64Array): { codes: Int32Array; classes: number[] } {
  const classes = [...new Set(col)].sort((a, b) => a - b);
  const index = new Map(classes.map((c, i) => [c, i]));
  return { codes: Int32Array.from(col, (v) => index.get(v) as number), classes };
}
