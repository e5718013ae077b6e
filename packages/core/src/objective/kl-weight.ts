import { z } from 'zod';
import type { Schedule } from '../model';
import { ConfigError } from '../registry';

/**
 * The KL weight as a function of the training step: constant, linear warm-up,
 * cyclical and sigmoid annealing, and the plain-JSON form a model config (or a
 * `fit` option) stores. These live in core because core's base config schema
 * validates `klWeight`; @elbo/losses re-exports them.
 */

function checkNumber(where: string, field: string, v: unknown, test: (x: number) => boolean, allowed: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) {
    throw new ConfigError(`${where}: ${field} must be ${allowed}, got ${String(v)}`, field);
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
 * w(step) = weight for every step.
 * @example constantWeight(4)(1000) === 4
 */
export function constantWeight(weight = 1): Schedule {
  nonNegative('constantWeight', 'weight', weight);
  return (step) => {
    checkStep('constantWeight', step);
    return weight;
  };
}

export interface LinearWarmupOptions {
  /** Final weight (default 1). */
  weight?: number;
  /** Steps to reach the final weight; a positive integer. */
  annealSteps: number;
}

/**
 * Linear KL warm-up from 0 (Bowman et al. 2016): w(step) = min(step / annealSteps, 1) * weight.
 * @example linearWarmup({ weight: 1, annealSteps: 100 })(25) === 0.25
 */
export function linearWarmup(options: LinearWarmupOptions): Schedule {
  const weight = nonNegative('linearWarmup', 'weight', options.weight ?? 1);
  const annealSteps = positiveInt('linearWarmup', 'annealSteps', options.annealSteps);
  return (step) => {
    checkStep('linearWarmup', step);
    return Math.min(step / annealSteps, 1) * weight;
  };
}

export interface CyclicalOptions {
  /** Peak weight (default 1). */
  weight?: number;
  /** Steps per cycle (Fu et al.'s T / M); a positive integer. */
  period: number;
  /** Fraction R of each cycle spent ramping up linearly from 0; the rest stays at the peak. In (0, 1], default 0.5 (the paper's R). */
  ratio?: number;
  /** Number of cycles M; after cycles * period steps the weight stays at its peak. Default: repeat forever. */
  cycles?: number;
}

/**
 * Cyclical annealing (Fu et al. 2019, "Cyclical Annealing Schedule"):
 * tau = (step mod period) / period; w(step) = weight * min(tau / ratio, 1).
 * After `cycles` full cycles the weight stays at its peak (the paper trains
 * the last part at weight 1).
 * @example cyclical({ period: 100, ratio: 0.5 })(125) === 0.5
 */
export function cyclical(options: CyclicalOptions): Schedule {
  const weight = nonNegative('cyclical', 'weight', options.weight ?? 1);
  const period = positiveInt('cyclical', 'period', options.period);
  const ratio = checkNumber('cyclical', 'ratio', options.ratio ?? 0.5, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const cycles = options.cycles === undefined ? Infinity : positiveInt('cyclical', 'cycles', options.cycles);
  return (step) => {
    checkStep('cyclical', step);
    if (step >= cycles * period) return weight;
    const tau = (step % period) / period;
    return Math.min(tau / ratio, 1) * weight;
  };
}

export interface SigmoidOptions {
  /** Final weight (default 1). */
  weight?: number;
  /** Step at which w(step) = weight / 2; >= 0. */
  midpoint: number;
  /** Slope k of the logistic; > 0 (default 0.002: going from 1% to 99% of the weight takes 2 ln(99) / 0.002, about 4,600 steps). */
  steepness?: number;
}

/**
 * Logistic annealing (Bowman et al. 2016's "sigmoid" KL weight):
 * w(step) = weight / (1 + exp(-steepness * (step - midpoint))).
 * @example sigmoidSchedule({ midpoint: 1000 })(1000) === 0.5
 */
export function sigmoidSchedule(options: SigmoidOptions): Schedule {
  const weight = nonNegative('sigmoidSchedule', 'weight', options.weight ?? 1);
  const midpoint = nonNegative('sigmoidSchedule', 'midpoint', options.midpoint);
  const steepness = checkNumber('sigmoidSchedule', 'steepness', options.steepness ?? 0.002, (x) => x > 0, 'a finite number > 0');
  return (step) => {
    checkStep('sigmoidSchedule', step);
    return weight / (1 + Math.exp(-steepness * (step - midpoint)));
  };
}

const weightField = () => z.number().nonnegative().default(1);

/** Plain-JSON description of a KL-weight schedule; `weight` is the final (peak) weight, default 1. */
export const klWeightScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), weight: weightField() }).strict(),
  z.object({ type: z.literal('linear'), annealSteps: z.number().int().positive(), weight: weightField() }).strict(),
  z
    .object({
      type: z.literal('cyclical'),
      period: z.number().int().positive(),
      ratio: z.number().gt(0).lte(1).default(0.5),
      cycles: z.number().int().positive().optional(),
      weight: weightField(),
    })
    .strict(),
  z.object({ type: z.literal('sigmoid'), midpoint: z.number().nonnegative(), steepness: z.number().positive().default(0.002), weight: weightField() }).strict(),
]);
export type KlWeightScheduleConfig = z.input<typeof klWeightScheduleSchema>;

/**
 * The `klWeight` field of a model config: a number (a constant weight; > 1
 * is a beta-VAE) or a schedule description.
 * @example 4
 * @example { type: 'linear', annealSteps: 1000 }
 * @example { type: 'cyclical', period: 5000, ratio: 0.5, weight: 1 }
 */
export const klWeightSchema = z.union([z.number().nonnegative(), klWeightScheduleSchema]);
export type KlWeightConfig = z.input<typeof klWeightSchema>;

/**
 * Build the schedule a `klWeight` config value describes.
 * Throws a ConfigError naming the bad field when the value is invalid.
 * @example klWeightSchedule({ type: 'linear', annealSteps: 1000, weight: 4 })(500) === 2
 * @example klWeightSchedule(0.5)(123) === 0.5
 */
export function klWeightSchedule(config: KlWeightConfig): Schedule {
  const parsed = klWeightSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['klWeight', ...issue.path.map(String)].join('.');
    throw new ConfigError(`klWeight: field "${path}" ${issue.message}; got ${JSON.stringify(config)}`, path);
  }
  const c = parsed.data;
  if (typeof c === 'number') return constantWeight(c);
  switch (c.type) {
    case 'constant':
      return constantWeight(c.weight);
    case 'linear':
      return linearWarmup({ weight: c.weight, annealSteps: c.annealSteps });
    case 'cyclical':
      return cyclical({ weight: c.weight, period: c.period, ratio: c.ratio, cycles: c.cycles });
    case 'sigmoid':
      return sigmoidSchedule({ weight: c.weight, midpoint: c.midpoint, steepness: c.steepness });
  }
}

/**
 * The weight a `klWeight` config value ends at: the number itself, or the
 * schedule's final (peak) `weight`. What a loss without a step (evaluation)
 * uses.
 * @example finalKlWeight({ type: 'linear', annealSteps: 1000, weight: 4 }) === 4
 */
export function finalKlWeight(config: KlWeightConfig): number {
  if (typeof config === 'number') return config;
  const parsed = klWeightScheduleSchema.safeParse(config);
  if (!parsed.success) return klWeightSchedule(config)(0); // throws the ConfigError naming the field
  return parsed.data.weight;
}
