import * as tf from '@tensorflow/tfjs-core';
import { type Schedule, z } from '@elbo/core';

function checkNumber(where: string, field: string, v: unknown, test: (x: number) => boolean, allowed: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) {
    throw new Error(`${where}: ${field} must be ${allowed}, got ${String(v)}`);
  }
  return v;
}
const nonNegative = (where: string, field: string, v: unknown): number => checkNumber(where, field, v, (x) => x >= 0, 'a finite number >= 0');
const positiveInt = (where: string, field: string, v: unknown): number =>
  checkNumber(where, field, v, (x) => Number.isInteger(x) && x > 0, 'a positive integer');

function checkStep(where: string, step: number): void {
  if (!Number.isFinite(step) || step < 0) throw new Error(`${where}: step must be a finite number >= 0, got ${step}`);
}

/**
 * beta(step) = beta for every step.
 * @example constantBeta(4)(1000) === 4
 */
export function constantBeta(beta = 1): Schedule {
  nonNegative('constantBeta', 'beta', beta);
  return (step) => {
    checkStep('constantBeta', step);
    return beta;
  };
}

export interface LinearWarmupOptions {
  /** Final KL weight (default 1). */
  beta?: number;
  /** Steps to reach beta; a positive integer. */
  annealSteps: number;
}

/**
 * KL warm-up as in the seed: beta(step) = min(step / annealSteps, 1) * beta
 * (Bowman et al. 2016 anneal linearly from 0).
 * @example linearWarmup({ beta: 1, annealSteps: 100 })(25) === 0.25
 */
export function linearWarmup(options: LinearWarmupOptions): Schedule {
  const beta = nonNegative('linearWarmup', 'beta', options.beta ?? 1);
  const annealSteps = positiveInt('linearWarmup', 'annealSteps', options.annealSteps);
  return (step) => {
    checkStep('linearWarmup', step);
    return Math.min(step / annealSteps, 1) * beta;
  };
}

export interface CyclicalOptions {
  /** Peak KL weight (default 1). */
  beta?: number;
  /** Steps per cycle (Fu et al.'s T / M); a positive integer. */
  period: number;
  /** Fraction R of each cycle spent ramping up linearly from 0; the rest stays at beta. In (0, 1], default 0.5 (the paper's R). */
  ratio?: number;
  /** Number of cycles M; after cycles * period steps beta stays at its peak. Default: repeat forever. */
  cycles?: number;
}

/**
 * Cyclical annealing (Fu et al. 2019, "Cyclical Annealing Schedule"):
 * tau = (step mod period) / period; beta(step) = beta * min(tau / ratio, 1).
 * After `cycles` full cycles the weight stays at beta (the paper trains the
 * last part at beta = 1).
 * @example cyclical({ period: 100, ratio: 0.5 })(125) === 0.5
 */
export function cyclical(options: CyclicalOptions): Schedule {
  const beta = nonNegative('cyclical', 'beta', options.beta ?? 1);
  const period = positiveInt('cyclical', 'period', options.period);
  const ratio = checkNumber('cyclical', 'ratio', options.ratio ?? 0.5, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const cycles = options.cycles === undefined ? Infinity : positiveInt('cyclical', 'cycles', options.cycles);
  return (step) => {
    checkStep('cyclical', step);
    if (step >= cycles * period) return beta;
    const tau = (step % period) / period;
    return Math.min(tau / ratio, 1) * beta;
  };
}

export interface SigmoidOptions {
  /** Final KL weight (default 1). */
  beta?: number;
  /** Step at which beta(step) = beta / 2; >= 0. */
  midpoint: number;
  /** Slope k of the logistic; > 0 (default 0.002: going from 1% to 99% of beta takes 2 ln(99) / 0.002, about 4,600 steps). */
  steepness?: number;
}

/**
 * Logistic annealing (Bowman et al. 2016's "sigmoid" KL weight):
 * beta(step) = beta / (1 + exp(-steepness * (step - midpoint))).
 * @example sigmoidSchedule({ midpoint: 1000 })(1000) === 0.5
 */
export function sigmoidSchedule(options: SigmoidOptions): Schedule {
  const beta = nonNegative('sigmoidSchedule', 'beta', options.beta ?? 1);
  const midpoint = nonNegative('sigmoidSchedule', 'midpoint', options.midpoint);
  const steepness = checkNumber('sigmoidSchedule', 'steepness', options.steepness ?? 0.002, (x) => x > 0, 'a finite number > 0');
  return (step) => {
    checkStep('sigmoidSchedule', step);
    return beta / (1 + Math.exp(-steepness * (step - midpoint)));
  };
}

export interface CapacityOptions {
  /** Weight gamma of |KL - C|; > 0 (Burgess et al. use 1000 on dSprites). */
  gamma: number;
  /** Final capacity C_max in nats (Burgess et al. use 25 on dSprites). */
  maxCapacity: number;
  /** Steps over which C grows linearly from 0 to maxCapacity; a positive integer. */
  steps: number;
}

/**
 * The capacity C(step) = min(step / steps, 1) * maxCapacity of capacity control
 * (Burgess et al. 2018, "Understanding disentangling in beta-VAE").
 */
export function capacitySchedule(options: Pick<CapacityOptions, 'maxCapacity' | 'steps'>): Schedule {
  const maxCapacity = nonNegative('capacitySchedule', 'maxCapacity', options.maxCapacity);
  const steps = positiveInt('capacitySchedule', 'steps', options.steps);
  return (step) => {
    checkStep('capacitySchedule', step);
    return Math.min(step / steps, 1) * maxCapacity;
  };
}

/**
 * Capacity control (Burgess et al. 2018): gamma * |KL - C(step)|, the term that
 * replaces beta * KL in the objective. Its gradient pushes the KL towards the
 * current capacity from either side.
 *
 * @param kl scalar KL (nats per example, e.g. `klTerm(q, p)`)
 * @param step global training step
 * @returns scalar
 * @example const term = capacityLoss(kl, step, { gamma: 1000, maxCapacity: 25, steps: 100_000 });
 */
export function capacityLoss(kl: tf.Scalar, step: number, options: CapacityOptions): tf.Scalar {
  const gamma = checkNumber('capacityLoss', 'gamma', options.gamma, (x) => x > 0, 'a finite number > 0');
  if (kl.rank !== 0) throw new Error(`capacityLoss: kl must be a scalar, got shape [${kl.shape.join(', ')}]`);
  const c = capacitySchedule(options)(step);
  return tf.tidy(() => tf.mul(tf.abs(tf.sub(kl, c)), gamma) as tf.Scalar);
}

/** Plain-JSON description of a beta schedule (what a model config stores). */
export const betaScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant') }).strict(),
  z.object({ type: z.literal('linear'), annealSteps: z.number().int().positive() }).strict(),
  z
    .object({
      type: z.literal('cyclical'),
      period: z.number().int().positive(),
      ratio: z.number().gt(0).lte(1).default(0.5),
      cycles: z.number().int().positive().optional(),
    })
    .strict(),
  z.object({ type: z.literal('sigmoid'), midpoint: z.number().nonnegative(), steepness: z.number().positive().default(0.002) }).strict(),
]);
export type BetaScheduleConfig = z.input<typeof betaScheduleSchema>;

/**
 * Build a schedule from its JSON description, peaking at `beta`.
 * Throws naming the bad field when the config is invalid.
 * @example betaSchedule({ type: 'linear', annealSteps: 1000 }, 4)(500) === 2
 */
export function betaSchedule(config: BetaScheduleConfig, beta = 1): Schedule {
  const parsed = betaScheduleSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.length ? issue.path.join('.') : 'type';
    throw new Error(`betaSchedule: ${path}: ${issue.message}`);
  }
  const c = parsed.data;
  switch (c.type) {
    case 'constant':
      return constantBeta(beta);
    case 'linear':
      return linearWarmup({ beta, annealSteps: c.annealSteps });
    case 'cyclical':
      return cyclical({ beta, period: c.period, ratio: c.ratio, cycles: c.cycles });
    case 'sigmoid':
      return sigmoidSchedule({ beta, midpoint: c.midpoint, steepness: c.steepness });
  }
}
