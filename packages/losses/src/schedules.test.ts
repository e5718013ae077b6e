import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capacityLoss, capacitySchedule, constantWeight, cyclical, klWeightSchedule, linearWarmup, sigmoidSchedule } from './index';
import { close, expectNoLeaks, value, variable } from './test-helpers';

expectNoLeaks(beforeEach, afterEach);

describe('KL-weight schedules at hand-picked steps', () => {
  it('constantWeight', () => {
    const s = constantWeight(4);
    expect([s(0), s(1), s(1e6)]).toEqual([4, 4, 4]);
    expect(constantWeight()(7)).toBe(1);
  });

  it('linearWarmup is min(step / annealSteps, 1) * weight', () => {
    const s = linearWarmup({ weight: 2, annealSteps: 100 });
    expect([s(0), s(25), s(50), s(100), s(250)]).toEqual([0, 0.5, 1, 2, 2]);
  });

  it('cyclical (Fu et al. 2019): ramps over ratio of each period, holds, restarts; stays at the peak after the last cycle', () => {
    const s = cyclical({ weight: 1, period: 100, ratio: 0.5, cycles: 2 });
    expect([s(0), s(25), s(50), s(99), s(100), s(125), s(175), s(200), s(225), s(1000)]).toEqual([0, 0.5, 1, 1, 0, 0.5, 1, 1, 1, 1]);
    const forever = cyclical({ weight: 3, period: 10, ratio: 1 });
    expect([forever(0), forever(5), forever(10), forever(1005)]).toEqual([0, 1.5, 0, 1.5]);
  });

  it('sigmoidSchedule is weight / (1 + exp(-k (step - midpoint)))', () => {
    const s = sigmoidSchedule({ weight: 2, midpoint: 1000, steepness: 0.01 });
    close(s(1000), 1, 1e-12);
    close(s(1100), 2 / (1 + Math.exp(-1)), 1e-12);
    close(s(0), 2 / (1 + Math.exp(10)), 1e-12);
    expect(s(1e5)).toBeCloseTo(2, 10);
  });

  it('klWeightSchedule builds each schedule from JSON and names a bad field', () => {
    expect(klWeightSchedule({ type: 'linear', annealSteps: 1000, weight: 4 })(500)).toBe(2);
    expect(klWeightSchedule({ type: 'constant', weight: 3 })(9)).toBe(3);
    expect(klWeightSchedule({ type: 'cyclical', period: 10 })(2)).toBeCloseTo(0.4, 12);
    expect(klWeightSchedule({ type: 'sigmoid', midpoint: 5 })(5)).toBe(0.5);
    expect(() => klWeightSchedule({ type: 'linear', annealSteps: 0 })).toThrow(/annealSteps/);
    expect(() => klWeightSchedule({ type: 'cyclical', period: 10, ratio: 2 })).toThrow(/ratio/);
    expect(() => klWeightSchedule({ type: 'warmup' } as never)).toThrow(/field "klWeight/);
  });

  it('rejects bad options and steps with the field name', () => {
    expect(() => linearWarmup({ annealSteps: 0 })).toThrow(/annealSteps must be a positive integer, got 0/);
    expect(() => linearWarmup({ weight: -1, annealSteps: 5 })).toThrow(/weight must be a finite number >= 0/);
    expect(() => cyclical({ period: 10, ratio: 0 })).toThrow(/ratio must be a number in \(0, 1\]/);
    expect(() => cyclical({ period: 10, cycles: 1.5 })).toThrow(/cycles/);
    expect(() => sigmoidSchedule({ midpoint: 10, steepness: 0 })).toThrow(/steepness/);
    expect(() => constantWeight(1)(-1)).toThrow(/step must be a finite number >= 0/);
  });
});

describe('capacity control (Burgess et al. 2018)', () => {
  it('C(step) grows linearly to maxCapacity; the loss is gamma |KL - C|', () => {
    const c = capacitySchedule({ maxCapacity: 25, steps: 1000 });
    expect([c(0), c(400), c(1000), c(5000)]).toEqual([0, 10, 25, 25]);
    const opts = { gamma: 1000, maxCapacity: 25, steps: 1000 };
    close(value(() => capacityLoss(tf.scalar(12), 400, opts)), 2000, 1e-3);
    close(value(() => capacityLoss(tf.scalar(8), 400, opts)), 2000, 1e-3);
    close(value(() => capacityLoss(tf.scalar(25), 2000, opts)), 0, 1e-6);
  });

  it('pushes the KL towards C from either side (gradient +gamma above, -gamma below)', () => {
    const kl = variable([12]);
    const grad = (step: number) => {
      const r = tf.variableGrads(() => capacityLoss(tf.squeeze(kl) as tf.Scalar, step, { gamma: 5, maxCapacity: 25, steps: 1000 }), [kl]);
      const g = r.grads[kl.name].dataSync()[0];
      tf.dispose([r.value, ...Object.values(r.grads)]);
      return g;
    };
    expect(grad(400)).toBeCloseTo(5, 6); // KL 12 > C 10
    expect(grad(600)).toBeCloseTo(-5, 6); // KL 12 < C 15
    kl.dispose();
    tf.tidy(() => {
      expect(() => capacityLoss(tf.scalar(1), 0, { gamma: 0, maxCapacity: 1, steps: 1 })).toThrow(/gamma must be a finite number > 0/);
    });
  });
});
