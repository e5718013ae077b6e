import * as tf from '@tensorflow/tfjs-core';
import type { Schedule } from '../model';

export interface CapacityOptions {
  /** Weight gamma of |KL - C|; > 0 (Burgess et al. use 1000 on dSprites). */
  gamma: number;
  /** Final capacity C_max in nats (Burgess et al. use 25 on dSprites). */
  maxCapacity: number;
  /** Steps over which C grows linearly from 0 to maxCapacity; a positive integer. */
  steps: number;
}

function check(where: string, field: string, v: unknown, ok: (x: number) => boolean, allowed: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${where}: ${field} must be ${allowed}, got ${String(v)}`);
  return v;
}

/**
 * The capacity C(step) = min(step / steps, 1) * maxCapacity of capacity control
 * (Burgess et al. 2018, "Understanding disentangling in beta-VAE").
 */
export function capacitySchedule(options: Pick<CapacityOptions, 'maxCapacity' | 'steps'>): Schedule {
  const maxCapacity = check('capacitySchedule', 'maxCapacity', options.maxCapacity, (x) => x >= 0, 'a finite number >= 0');
  const steps = check('capacitySchedule', 'steps', options.steps, (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  return (step) => {
    if (!Number.isFinite(step) || step < 0) throw new Error(`capacitySchedule: step must be a finite number >= 0, got ${step}`);
    return Math.min(step / steps, 1) * maxCapacity;
  };
}

/**
 * Capacity control (Burgess et al. 2018): gamma * |KL - C(step)|, the term that
 * replaces klWeight * KL in the objective. Its gradient pushes the KL towards
 * the current capacity from either side.
 *
 * @param kl scalar KL (nats per example)
 * @param step global training step
 * @returns scalar
 * @example const term = capacityLoss(kl, step, { gamma: 1000, maxCapacity: 25, steps: 100_000 });
 */
export function capacityLoss(kl: tf.Scalar, step: number, options: CapacityOptions): tf.Scalar {
  const gamma = check('capacityLoss', 'gamma', options.gamma, (x) => x > 0, 'a finite number > 0');
  if (kl.rank !== 0) throw new Error(`capacityLoss: kl must be a scalar, got shape [${kl.shape.join(', ')}]`);
  const c = capacitySchedule(options)(step);
  return tf.tidy(() => tf.mul(tf.abs(tf.sub(kl, c)), gamma) as tf.Scalar);
}
