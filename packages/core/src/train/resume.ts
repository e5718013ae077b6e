import { type CheckpointTarget, loadCheckpoint, saveCheckpoint } from '../io/checkpoint';
import type { GenerativeModel } from '../model';
import type { Callback, EpochLog } from './callbacks';
import type { LearningRateSchedule, LearningRateState } from './lr-schedule';
import type { Optimizer, OptimizerConfig } from './optimizers';

/** Per-example sums of the current epoch (kept in checkpoints so a mid-epoch resume averages the whole epoch). */
export interface EpochAccumulator {
  sums: Record<string, number>;
  count: number;
  seconds: number;
}

/**
 * Trainer bookkeeping stored in checkpoints (JSON) so that a resumed run
 * continues exactly as one that ran straight through.
 */
export interface TrainerState {
  lr: LearningRateState;
  /** Each stateful callback's state, by its `state.key` (plateau and early-stopping counters, ...). */
  callbacks: Record<string, unknown>;
  history: EpochLog[];
  /** Batches of the current epoch already done (mid-epoch checkpoints). */
  batchInEpoch: number;
  acc: EpochAccumulator;
  consecutiveNonFinite: number;
}

export function initialTrainerState(): TrainerState {
  return { lr: { scale: 1, floor: null }, callbacks: {}, history: [], batchInEpoch: 0, acc: { sums: {}, count: 0, seconds: 0 }, consecutiveNonFinite: 0 };
}

/** Checkpoints written before the trainer was split kept the plateau/early counters and the lr scale at the top level. */
function migrate(saved: Record<string, unknown>): TrainerState {
  const s = { ...initialTrainerState(), ...(saved as Partial<TrainerState>) };
  if (saved.lr === undefined && typeof saved.lrScale === 'number') s.lr = { scale: saved.lrScale, floor: null };
  for (const key of ['plateau', 'early']) if (saved[key] !== undefined && s.callbacks[key] === undefined) s.callbacks = { ...s.callbacks, [key]: saved[key] };
  return s;
}

/** Everything `fit` restores from a checkpoint into the model, optimizer, schedule and callbacks. */
export interface ResumePoint {
  step: number;
  epoch: number;
  state: TrainerState;
}

/**
 * Load a checkpoint into `model` (weights, RNG), `optimizer` (state and step
 * count), the learning-rate schedule and the stateful callbacks.
 */
export async function resumeFrom(
  source: CheckpointTarget,
  model: GenerativeModel,
  optimizer: Optimizer,
  optimizerConfig: OptimizerConfig,
  parameterNames: string[],
  schedule: LearningRateSchedule,
  callbacks: Callback[],
): Promise<ResumePoint> {
  const ck = await loadCheckpoint(source, model);
  const state = ck.trainer ? migrate(JSON.parse(JSON.stringify(ck.trainer)) as Record<string, unknown>) : initialTrainerState();
  if (ck.optimizer) {
    try {
      if (ck.optimizer.config.kind !== optimizerConfig.kind) {
        throw new Error(`fit: the checkpoint's optimizer is ${ck.optimizer.config.kind}, the options ask for ${optimizerConfig.kind}`);
      }
      optimizer.setState(model.parameters(), parameterNames, ck.optimizer.iterations, ck.optimizer.state);
    } finally {
      ck.optimizer.dispose();
    }
  }
  schedule.state = { ...state.lr };
  for (const cb of callbacks) if (cb.state && state.callbacks[cb.state.key] !== undefined) cb.state.set(state.callbacks[cb.state.key]);
  return { step: ck.step, epoch: ck.epoch, state };
}

/** Save a checkpoint with the trainer state as it is now (collecting the callbacks' and the schedule's state). */
export async function saveTrainingCheckpoint(
  target: CheckpointTarget,
  model: GenerativeModel,
  optimizer: Optimizer,
  point: ResumePoint,
  schedule: LearningRateSchedule,
  callbacks: Callback[],
): Promise<void> {
  point.state.lr = { ...schedule.state };
  for (const cb of callbacks) if (cb.state) point.state.callbacks[cb.state.key] = cb.state.get();
  await saveCheckpoint(model, target, { step: point.step, epoch: point.epoch, optimizer, trainer: point.state });
}
