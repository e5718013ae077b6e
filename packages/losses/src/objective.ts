/**
 * The ELBO's terms live in @elbo/core's objective, because core's
 * LatentVariableModel and base config need them and core cannot import this
 * package. They are re-exported here so @elbo/losses stays the one import
 * for every loss term: reductions, the KL (analytic or the Monte-Carlo
 * fallback), free bits, KL-weight schedules, capacity control, importance
 * weights and the IWAE bound, and `elboObjective` / `latentElbo`, which
 * combine them.
 */
export {
  // Reductions
  type Reduction,
  REDUCTIONS,
  checkReduction,
  checkSameShape,
  perExample,
  reduceLoss,
  // KL
  type KlEstimator,
  type KlPerDimensionOptions,
  type KlTermOptions,
  type LogDensity,
  asDistribution,
  klPerDimension,
  klTerm,
  monteCarloKl,
  freeBitsKl,
  // KL weight and capacity
  type CyclicalOptions,
  type KlWeightConfig,
  type KlWeightScheduleConfig,
  type LinearWarmupOptions,
  type SigmoidOptions,
  constantWeight,
  cyclical,
  klWeightSchedule,
  klWeightScheduleSchema,
  klWeightSchema,
  linearWarmup,
  sigmoidSchedule,
  type CapacityOptions,
  capacityLoss,
  capacitySchedule,
  // Importance weights and IWAE
  type DecodeFn,
  type EncodeFn,
  importanceLogWeights,
  iwaeBound,
  iwaeBoundPerExample,
  // The objective
  type KlTerm,
  type LatentElboOptions,
  type LatentModelParts,
  type ObjectiveSpec,
  type WeightedTerm,
  elboObjective,
  latentElbo,
  negLogLikelihood,
} from '@elbo/core';
