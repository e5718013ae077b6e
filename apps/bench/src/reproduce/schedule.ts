import type { Schedule } from '@elbo/core';

/**
 * The learning-rate schedule of Burda, Grosse & Salakhutdinov (2016),
 * "Importance Weighted Autoencoders", section 5: for i = 0..7, 3^i passes over
 * the training set at 1e-3 * 10^(-i/7), 3,280 epochs in all. A run of N < 3,280
 * epochs uses the first N epochs of it, so a shorter run is a prefix of the
 * full one and its checkpoint can be resumed into a longer run.
 */
export const BURDA_STAGES = 8;
export const BURDA_BASE_LR = 1e-3;

/** Epochs of stage i: 3^i. */
export function burdaStageEpochs(i: number): number {
  return 3 ** i;
}

/** Epoch (count) at which each stage ends: 1, 4, 13, 40, 121, 364, 1093, 3280. */
export function burdaStageEnds(): number[] {
  const ends: number[] = [];
  let total = 0;
  for (let i = 0; i < BURDA_STAGES; i++) ends.push((total += burdaStageEpochs(i)));
  return ends;
}

/** Epochs of the full schedule: 3,280. */
export const BURDA_EPOCHS = burdaStageEnds()[BURDA_STAGES - 1];

/** Stage (0..7) of 0-based epoch `epoch`; epochs past the schedule stay in the last stage. */
export function burdaStage(epoch: number): number {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`burdaStage: epoch must be an integer >= 0, got ${epoch}`);
  const ends = burdaStageEnds();
  const i = ends.findIndex((end) => epoch < end);
  return i === -1 ? BURDA_STAGES - 1 : i;
}

/** Learning rate of 0-based epoch `epoch`: 1e-3 * 10^(-i/7) in stage i. */
export function burdaLearningRate(epoch: number): number {
  return BURDA_BASE_LR * 10 ** (-burdaStage(epoch) / 7);
}

/** The same as a schedule of the global step (what `fit` takes), for `stepsPerEpoch` batches per epoch. */
export function burdaStepSchedule(stepsPerEpoch: number): Schedule {
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) throw new Error(`burdaStepSchedule: stepsPerEpoch must be a positive integer, got ${stepsPerEpoch}`);
  return (step) => burdaLearningRate(Math.floor(step / stepsPerEpoch));
}

/**
 * Warm-up length for a run of `epochs` of a protocol that warms up over
 * `warmupEpochs` of `fullEpochs`: the same fraction of the run (Sønderby et
 * al.'s 200 of 2,000 epochs is the first 10%), in steps, at least 1.
 */
export function scaledWarmupSteps(warmupEpochs: number, fullEpochs: number, epochs: number, stepsPerEpoch: number): number {
  const fraction = warmupEpochs / fullEpochs;
  return Math.max(1, Math.round(fraction * epochs * stepsPerEpoch));
}
