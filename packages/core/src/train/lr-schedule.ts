import type { Schedule } from '../model';

/** Evaluate a number-or-schedule at `step`, refusing a schedule that returns something other than a number. */
export function valueAt(v: number | Schedule, step: number, what: string): number {
  const x = typeof v === 'function' ? v(step) : v;
  if (typeof x !== 'number' || Number.isNaN(x)) throw new Error(`fit: the ${what} schedule returned ${JSON.stringify(x)} at step ${step}`);
  return x;
}

/** What of the learning-rate schedule is saved in checkpoints (the plateau reductions so far). */
export interface LearningRateState {
  /** Product of the reductions applied so far (1 = none). */
  scale: number;
  /** Lower bound of the reduced rate (set with the first reduction), or null. */
  floor: number | null;
}

/**
 * The learning rate of each step: the base rate (a number or a schedule of the
 * global step), times the plateau reductions (never below their floor, as
 * Keras's min_lr; the floor bounds the reductions only, not the warm-up), times
 * a linear warm-up from base/warmupSteps to base over the first `warmupSteps` steps.
 */
export class LearningRateSchedule {
  state: LearningRateState = { scale: 1, floor: null };

  constructor(
    private readonly base: number | Schedule,
    private readonly warmupSteps = 0,
  ) {}

  /** Rate used by the update of global step `step` (0-based). */
  at(step: number): number {
    let lr = valueAt(this.base, step, 'learningRate');
    const { scale, floor } = this.state;
    if (scale !== 1) lr = floor !== null ? Math.max(floor, lr * scale) : lr * scale;
    if (this.warmupSteps > 0) lr *= Math.min(1, (step + 1) / this.warmupSteps);
    return lr;
  }

  /** Multiply the rate by `factor` from now on; the reduced rate stays at or above `minLr` when given. */
  reduce(factor: number, minLr?: number): void {
    this.state = { scale: this.state.scale * factor, floor: minLr ?? this.state.floor };
  }
}
