import type { Callback } from './callbacks';
import { type ImprovementState, monitoredValue, patienceExhausted } from './monitor';

export interface ReduceLrOnPlateauOptions {
  /** Epochs without improvement before the rate is reduced. */
  patience: number;
  /** Multiplier of the rate, in (0, 1). */
  factor: number;
  /** The reduced rate never goes below this. */
  minLr?: number;
  /** An improvement must exceed this (default 0). */
  minDelta?: number;
  /** Loss term to watch (default 'loss'), on validation when fit has it, else on training. */
  monitor?: string;
}

/**
 * Multiply the learning rate by `factor` when the monitored value has not
 * improved for `patience` epochs (as Keras's ReduceLROnPlateau); its counters
 * are saved in checkpoints. `fit`'s `reduceLrOnPlateau` option adds one.
 */
export function reduceLrOnPlateau(options: ReduceLrOnPlateauOptions): Callback {
  let s: ImprovementState = { best: null, wait: 0 };
  return {
    onEpochMetrics(metrics, control) {
      const value = monitoredValue(metrics, options.monitor ?? 'loss');
      if (patienceExhausted(s, value, options.patience, options.minDelta ?? 0)) {
        control.reduceLearningRate(options.factor, options.minLr);
        s.wait = 0;
      }
    },
    state: {
      key: 'plateau',
      get: () => ({ ...s }),
      set: (v) => void (s = { ...(v as ImprovementState) }),
    },
  };
}
