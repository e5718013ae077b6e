import * as tf from '@tensorflow/tfjs-core';
import type { HierarchicalVae } from './hierarchical-vae';

export interface ActiveUnitsOptions {
  /** A unit is active when Cov_x(E_q[u | x]) exceeds this (Burda et al. 2016 use 0.01). */
  threshold?: number;
  /**
   * Ancestral draws of the levels above used to estimate E_q[z_i | x] below
   * the top (the top level's posterior mean is exact). Each draw contributes
   * the conditional mean of q(z_i | z_{i+1}, x), which is exact given the draw.
   */
  samples?: number;
}

export interface ActiveUnitsReport {
  /** Active units per level, bottom-first. */
  perLevel: number[];
  /** Sum over levels. */
  total: number;
  /** Cov_x(E_q[u | x]) per unit, per level, bottom-first. */
  variances: Float32Array[];
  threshold: number;
}

/**
 * Active units per level (Burda et al. 2016, section 5.2): unit u of level i
 * is active when A_u = Cov_x(E_{q(z|x)}[u]) > threshold. A level whose count
 * is 0 has collapsed onto its prior.
 * @param x [n, ...inputShape] evaluation inputs (n >= 2; a few hundred or more for a stable estimate)
 */
export function activeUnitsPerLevel(model: HierarchicalVae, x: tf.Tensor, options: ActiveUnitsOptions = {}): ActiveUnitsReport {
  const threshold = options.threshold ?? 0.01;
  const samples = options.samples ?? 10;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`activeUnitsPerLevel: samples must be a positive integer, got ${samples}`);
  if (!(threshold >= 0)) throw new Error(`activeUnitsPerLevel: threshold must be >= 0, got ${threshold}`);
  if (x.shape[0] < 2) throw new Error(`activeUnitsPerLevel: needs at least 2 examples, got ${x.shape[0]}`);
  const variances = tf.tidy(() => {
    const posterior = model.encode(x);
    const top = model.numLevels - 1;
    const sums: tf.Tensor[] = model.latentDims.map((d) => tf.zeros([x.shape[0], d]));
    for (let s = 0; s < samples; s++) {
      const steps = tf.tidy(() => posterior.walk((_, q) => q.sample(model.rng)).map((st) => st.q.loc.clone()));
      steps.forEach((m, i) => {
        const next = tf.add(sums[i], m);
        sums[i].dispose();
        m.dispose();
        sums[i] = next;
      });
    }
    return sums.map((sum, i) => {
      const mean = i === top ? posterior.bottomUp[top].loc : tf.div(sum, samples);
      return tf.moments(mean, 0).variance;
    });
  });
  const arrays = variances.map((v) => v.dataSync().slice() as Float32Array);
  tf.dispose(variances);
  const perLevel = arrays.map((a) => a.reduce((n, v) => n + (v > threshold ? 1 : 0), 0));
  return { perLevel, total: perLevel.reduce((a, b) => a + b, 0), variances: arrays, threshold };
}
