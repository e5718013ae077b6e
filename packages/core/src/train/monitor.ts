import type { EpochMetrics } from './callbacks';

/** The value a plateau/early-stopping callback watches: validation's when there is validation, else training's. */
export function monitoredValue(metrics: EpochMetrics, monitor: string): number {
  const src = metrics.validation ?? metrics.train;
  const v = src[monitor];
  if (v === undefined) throw new Error(`fit: monitored value "${monitor}" is not a loss term (have: ${Object.keys(src).join(', ')})`);
  return v;
}

/** Best value so far and epochs since it improved; best is null until the first epoch (JSON has no Infinity). */
export interface ImprovementState {
  best: number | null;
  wait: number;
}

/** Update `s` with this epoch's value; returns true when it did not improve by more than minDelta for `patience` epochs. */
export function patienceExhausted(s: ImprovementState, value: number, patience: number, minDelta: number): boolean {
  if (s.best === null || value < s.best - minDelta) {
    s.best = value;
    s.wait = 0;
    return false;
  }
  s.wait += 1;
  return s.wait >= patience;
}
