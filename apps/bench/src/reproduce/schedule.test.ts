import { describe, expect, it } from 'vitest';
import { BURDA_EPOCHS, burdaLearningRate, burdaStage, burdaStageEnds, burdaStepSchedule, scaledWarmupSteps } from './schedule';

describe('Burda et al. learning-rate schedule', () => {
  it('has stages of 3^i epochs ending at 1, 4, 13, 40, 121, 364, 1093, 3280', () => {
    expect(burdaStageEnds()).toEqual([1, 4, 13, 40, 121, 364, 1093, 3280]);
    expect(BURDA_EPOCHS).toBe(3280);
  });

  it('uses 1e-3 * 10^(-i/7) in stage i, changing exactly at the stage boundaries', () => {
    const ends = [1, 4, 13, 40, 121, 364, 1093, 3280];
    let start = 0;
    for (const [i, end] of ends.entries()) {
      const rate = 1e-3 * 10 ** (-i / 7);
      // First and last epoch of the stage (0-based epochs start..end-1).
      expect(burdaStage(start)).toBe(i);
      expect(burdaStage(end - 1)).toBe(i);
      expect(burdaLearningRate(start)).toBeCloseTo(rate, 15);
      expect(burdaLearningRate(end - 1)).toBeCloseTo(rate, 15);
      start = end;
    }
    // Hand-computed rates at a few epochs.
    expect(burdaLearningRate(0)).toBe(1e-3);
    expect(burdaLearningRate(1)).toBeCloseTo(7.196856730011521e-4, 15);
    expect(burdaLearningRate(3)).toBeCloseTo(7.196856730011521e-4, 15);
    expect(burdaLearningRate(4)).toBeCloseTo(5.1794746792312125e-4, 15);
    expect(burdaLearningRate(3279)).toBeCloseTo(1e-4, 15);
    // Past the schedule the last rate stays.
    expect(burdaLearningRate(5000)).toBeCloseTo(1e-4, 15);
    expect(() => burdaLearningRate(-1)).toThrow(/epoch must be an integer >= 0/);
    expect(() => burdaLearningRate(1.5)).toThrow(/epoch must be an integer >= 0/);
  });

  it('as a step schedule: constant within an epoch, the epoch rate from its first step', () => {
    const s = burdaStepSchedule(3000);
    expect(s(0)).toBe(1e-3);
    expect(s(2999)).toBe(1e-3);
    expect(s(3000)).toBeCloseTo(1e-3 * 10 ** (-1 / 7), 15);
    expect(s(4 * 3000 - 1)).toBeCloseTo(1e-3 * 10 ** (-1 / 7), 15);
    expect(s(4 * 3000)).toBeCloseTo(1e-3 * 10 ** (-2 / 7), 15);
    expect(() => burdaStepSchedule(0)).toThrow(/stepsPerEpoch/);
  });
});

describe('warm-up scaled to a shorter run', () => {
  it('keeps the same fraction of the run: 200 of 2000 epochs is the first 10%', () => {
    // 60,000 images / batch 256 = 235 steps per epoch.
    expect(scaledWarmupSteps(200, 2000, 2000, 235)).toBe(200 * 235);
    expect(scaledWarmupSteps(200, 2000, 100, 235)).toBe(10 * 235);
    expect(scaledWarmupSteps(200, 2000, 5, 235)).toBe(Math.round(0.5 * 235));
    // Never below one step.
    expect(scaledWarmupSteps(200, 2000, 1, 1)).toBe(1);
  });
});
