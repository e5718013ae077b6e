import type { Callback } from './callbacks';
import { type ImprovementState, monitoredValue, patienceExhausted } from './monitor';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before training stops. */
  patience: number;
  /** An improvement must exceed this (default 0). */
  minDelta?: number;
  /** Loss term to watch (default 'loss'), on validation when fit has it, else on training. */
  monitor?: string;
}

/**
 * Stop training when the monitored value has not improved by more than
 * `minDelta` for `patience` epochs; its counters are saved in checkpoints.
 * `fit`'s `earlyStopping` option adds one.
 */
export function earlyStopping(options: EarlyStoppingOptions): Callback {
  let s: ImprovementState = { best: null, wait: 0 };
  const monitor = options.monitor ?? 'loss';
  return {
    onEpochMetrics(metrics, control) {
      if (patienceExhausted(s, monitoredValue(metrics, monitor), options.patience, options.minDelta ?? 0)) {
        control.stop(`early stopping: ${monitor} did not improve by more than ${options.minDelta ?? 0} for ${options.patience} epochs`);
      }
    },
    state: {
      key: 'early',
      get: () => ({ ...s }),
      set: (v) => void (s = { ...(v as ImprovementState) }),
    },
  };
}
