import * as tf from '@tensorflow/tfjs-core';
import { DiagonalGaussian } from '@elbo/core';

/** Per-example log densities of the minibatch-weighted sampling estimator, each [M]. */
export type MwsLogDensities = {
  /** log q(z_i | x_i). */
  logQzx: tf.Tensor1D;
  /** log q(z_i) ~ logsumexp_j log q(z_i | x_j) - log(N M). */
  logQz: tf.Tensor1D;
  /** log prod_d q(z_id) ~ sum_d [logsumexp_j log q(z_id | x_j) - log(N M)]. */
  logProdQzd: tf.Tensor1D;
  /** log p(z_i) under N(0, I). */
  logPz: tf.Tensor1D;
};

/** The decomposed KL of beta-TCVAE, batch means in nats (scalars). */
export type KlDecomposition = {
  /** Index-code mutual information E[log q(z|x) - log q(z)]. */
  mi: tf.Scalar;
  /** Total correlation E[log q(z) - log prod_d q(z_d)]. */
  tc: tf.Scalar;
  /** Dimension-wise KL E[log prod_d q(z_d) - log p(z)]. */
  dimKl: tf.Scalar;
};

/**
 * The minibatch-weighted sampling (MWS) estimates of Chen et al. (2018, eq. 4
 * and appendix C.1) for a batch of M draws z_i ~ q(z | x_i) with diagonal
 * Gaussian posteriors, from a dataset of N examples.
 *
 * The estimate of log q(z) is biased (it treats the batch's own posteriors as
 * the only ones contributing, with weight 1/(N M)); the bias shrinks as M grows.
 *
 * @param z [M, D] one draw per example
 * @param loc [M, D] posterior means
 * @param logVar [M, D] posterior log-variances
 * @param datasetSize N (>= 1)
 */
export function mwsLogDensities(z: tf.Tensor, loc: tf.Tensor, logVar: tf.Tensor, datasetSize: number): MwsLogDensities {
  if (!Number.isInteger(datasetSize) || datasetSize < 1) throw new Error(`mwsLogDensities: datasetSize must be a positive integer, got ${datasetSize}`);
  if (z.rank !== 2) throw new Error(`mwsLogDensities: z must be [batch, latentDim], got [${z.shape.join(', ')}]`);
  for (const [name, t] of [['loc', loc], ['logVar', logVar]] as const) {
    if (t.shape.length !== 2 || t.shape[0] !== z.shape[0] || t.shape[1] !== z.shape[1]) {
      throw new Error(`mwsLogDensities: ${name} must be [${z.shape.join(', ')}] like z, got [${t.shape.join(', ')}]`);
    }
  }
  return tf.tidy(() => {
    const [m, d] = z.shape;
    const logNM = Math.log(datasetSize) + Math.log(m);
    // [M, M, D]: entry (i, j, d) = log q(z_id | x_j), by broadcasting z_i against every posterior j.
    const pairs = new DiagonalGaussian(tf.reshape(loc, [1, m, d]), tf.reshape(logVar, [1, m, d])).logProbElementwise(tf.reshape(z, [m, 1, d]));
    const logQz = tf.sub(tf.logSumExp(tf.sum(pairs, 2), 1), logNM) as tf.Tensor1D;
    const logProdQzd = tf.sum(tf.sub(tf.logSumExp(pairs, 1), logNM), 1) as tf.Tensor1D;
    const logQzx = new DiagonalGaussian(loc, logVar).logProb(z);
    const logPz = new DiagonalGaussian(tf.zerosLike(z), tf.zerosLike(z)).logProb(z);
    return { logQzx, logQz, logProdQzd, logPz };
  });
}

/**
 * MI, TC and dimension-wise KL (batch means) from the MWS log densities; they
 * add up to the Monte-Carlo KL E[log q(z|x) - log p(z)] exactly.
 * @param z [M, D]; loc, logVar [M, D]
 */
export function klDecomposition(z: tf.Tensor, loc: tf.Tensor, logVar: tf.Tensor, datasetSize: number): KlDecomposition {
  return tf.tidy(() => {
    const l = mwsLogDensities(z, loc, logVar, datasetSize);
    return {
      mi: tf.mean(tf.sub(l.logQzx, l.logQz)) as tf.Scalar,
      tc: tf.mean(tf.sub(l.logQz, l.logProdQzd)) as tf.Scalar,
      dimKl: tf.mean(tf.sub(l.logProdQzd, l.logPz)) as tf.Scalar,
    };
  });
}
