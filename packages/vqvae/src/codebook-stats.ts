/** Codebook diagnostics: how many codes a model really uses. */
export interface CodebookStats {
  /**
   * exp(H(p)) of the empirical code distribution p (nats): K for a uniform
   * assignment over K codes, 1 when every vector maps to one code.
   */
  perplexity: number;
  /** Fraction of the K codes assigned at least once. */
  codesUsed: number;
  /** Assignments per code: [K]. */
  counts: Float64Array;
}

/**
 * Perplexity and usage from assignment counts.
 * @param counts assignments per code, length K
 */
export function codebookStatsFromCounts(counts: ArrayLike<number>): CodebookStats {
  const k = counts.length;
  if (k === 0) throw new Error('codebookStatsFromCounts: counts must not be empty');
  const c = Float64Array.from(counts as ArrayLike<number>);
  let total = 0;
  let used = 0;
  for (let i = 0; i < k; i++) {
    if (!(c[i] >= 0)) throw new Error(`codebookStatsFromCounts: counts must be >= 0, got ${c[i]} at ${i}`);
    total += c[i];
    if (c[i] > 0) used++;
  }
  if (total === 0) return { perplexity: 0, codesUsed: 0, counts: c };
  let entropy = 0;
  for (let i = 0; i < k; i++) {
    if (c[i] > 0) {
      const p = c[i] / total;
      entropy -= p * Math.log(p);
    }
  }
  return { perplexity: Math.exp(entropy), codesUsed: used / k, counts: c };
}

/**
 * Perplexity and usage of a list of code indices.
 * @param indices code indices (any length)
 * @param numCodes K
 */
export function codebookStats(indices: ArrayLike<number>, numCodes: number): CodebookStats {
  if (!Number.isInteger(numCodes) || numCodes <= 0) throw new Error(`codebookStats: numCodes must be a positive integer, got ${numCodes}`);
  const counts = new Float64Array(numCodes);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= numCodes) throw new Error(`codebookStats: index ${k} at ${i} is outside [0, ${numCodes})`);
    counts[k]++;
  }
  return codebookStatsFromCounts(counts);
}
