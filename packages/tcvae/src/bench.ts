import type { VariantBench } from '@elbo/core';
import type { Tcvae } from './tcvae';

/**
 * What a bench (elbo-bench) needs of tcvae beyond its schema and factory. The minibatch-weighted
 * sampling estimator needs N, the number of training examples, so any config the bench builds or
 * reads gets `datasetSize` from the training data unless it sets one; the rest goes through the
 * bench's generic path.
 */
export const tcvaeBench: VariantBench<Tcvae> = {
  completeConfig: (config, plan) => ({ datasetSize: plan.trainCount, ...config }),
};
