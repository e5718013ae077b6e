import { z } from 'zod';
import type { CheckpointTarget } from '../io/checkpoint';
import type { BatchSource, Schedule } from '../model';
import { ConfigError, validateConfig } from '../registry';
import type { Callback } from './callbacks';
import type { EarlyStoppingOptions } from './early-stopping';
import type { Optimizer } from './optimizers';
import type { ReduceLrOnPlateauOptions } from './reduce-lr-on-plateau';

export interface FitOptions {
  /** Passes over the training source (default 1). */
  epochs?: number;
  /**
   * Default 'adam'. An `Optimizer` instance is used as given and stays the
   * caller's to dispose; its `learningRate` is set every step.
   */
  optimizer?: 'adam' | 'sgd' | Optimizer;
  /** Base learning rate or a schedule of the global step (default 1e-3). */
  learningRate?: number | Schedule;
  /** Adam's moment decay rates and epsilon (defaults 0.9, 0.999, 1e-7 as tfjs). */
  adamBeta1?: number;
  adamBeta2?: number;
  epsilon?: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  /**
   * KL weight passed to `model.loss(batch, { step, klWeight })`: a number or a
   * schedule of the global step (e.g. a warm-up from @elbo/losses). Only for
   * models whose `usesKlWeight` is true; it scales the KL term and nothing else.
   */
  klWeight?: number | Schedule;
  /** Clip gradients to this global L2 norm. */
  clipNorm?: number;
  /** Linear learning-rate warm-up from lr/warmupSteps to lr over this many steps. */
  warmupSteps?: number;
  /** Multiply the learning rate by `factor` when the monitored value has not improved for `patience` epochs. */
  reduceLrOnPlateau?: ReduceLrOnPlateauOptions;
  /** Evaluated at the end of every epoch (model in eval mode). */
  validation?: BatchSource;
  callbacks?: Callback[];
  /** Progress bar on a TTY, plain epoch lines otherwise (default true). */
  progress?: boolean;
  /** JSON-lines metrics log path (Node). */
  metricsLog?: string;
  /** Save a checkpoint to `dir` every N epochs and/or steps, and when training ends (`atEnd`, default true). */
  checkpoint?: { dir: CheckpointTarget; everyEpochs?: number; everySteps?: number; atEnd?: boolean };
  /** Continue from a checkpoint (weights, optimizer, step, epoch, RNG, trainer state). */
  resume?: CheckpointTarget;
  /** Stop when the monitored value (default 'loss', validation if given else train) stops improving. */
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Skip steps whose loss, any term or any gradient is not finite (the update
   * is gated on the device: such a step changes no weight), name the culprits,
   * and restore the last good weights if they had become non-finite (default
   * true). Training stops at the first log point after `maxConsecutive`
   * (default 10) consecutive skipped steps.
   */
  nanGuard?: boolean | { maxConsecutive?: number };
  /**
   * Read loss, terms and gradient norms back from the device every this many
   * steps (default 50), and at an epoch's end, before a checkpoint and when
   * training stops. In between the loop does not wait on the device; the
   * values of the steps between are kept on it, so epoch averages are exact.
   */
  logEvery?: number;
  /** Stop after this many global steps. */
  maxSteps?: number;
  signal?: AbortSignal;
}

const positiveInt = () => z.number().int().positive();

function custom<T>(ok: (v: unknown) => boolean, message: string) {
  return z.custom<T>(ok, { message });
}

const numberOrSchedule = (min: 'positive' | 'nonNegative') =>
  custom<number | Schedule>(
    (v) => typeof v === 'function' || (typeof v === 'number' && Number.isFinite(v) && (min === 'positive' ? v > 0 : v >= 0)),
    `must be a ${min === 'positive' ? 'positive number' : 'number >= 0'} or a (step) => number schedule`,
  );

const isBatchSource = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as BatchSource).batches === 'function';
const batchSource = () => custom<BatchSource>(isBatchSource, 'must be a BatchSource ({ size, batchSize, batches(epoch) })');
const checkpointTarget = () => custom<CheckpointTarget>((v) => (typeof v === 'string' && v.length > 0) || (typeof v === 'object' && v !== null), 'must be a directory path or a tf.io handler');

/** The schema `fit` validates its options with; defaults are filled in. */
export const fitOptionsSchema = z
  .object({
    epochs: positiveInt().default(1),
    optimizer: custom<'adam' | 'sgd' | Optimizer>(
      (v) => v === 'adam' || v === 'sgd' || (typeof v === 'object' && v !== null && typeof (v as Optimizer).apply === 'function'),
      "must be 'adam', 'sgd' or an Optimizer instance",
    ).default('adam'),
    learningRate: numberOrSchedule('positive').default(1e-3),
    adamBeta1: z.number().min(0).lt(1).default(0.9),
    adamBeta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-7),
    momentum: z.number().min(0).lt(1).default(0),
    klWeight: numberOrSchedule('nonNegative').optional(),
    clipNorm: z.number().positive().optional(),
    warmupSteps: z.number().int().nonnegative().default(0),
    reduceLrOnPlateau: z
      .object({
        patience: positiveInt(),
        factor: z.number().gt(0).lt(1),
        minLr: z.number().nonnegative().optional(),
        minDelta: z.number().nonnegative().optional(),
        monitor: z.string().optional(),
      })
      .strict()
      .optional(),
    validation: batchSource().optional(),
    callbacks: z.array(custom<Callback>((v) => typeof v === 'object' && v !== null, 'must be an object of hooks')).default([]),
    progress: z.boolean().default(true),
    metricsLog: z.string().min(1).optional(),
    checkpoint: z
      .object({
        dir: checkpointTarget(),
        everyEpochs: positiveInt().optional(),
        everySteps: positiveInt().optional(),
        atEnd: z.boolean().default(true),
      })
      .strict()
      .optional(),
    resume: checkpointTarget().optional(),
    earlyStopping: z
      .object({ patience: positiveInt(), minDelta: z.number().nonnegative().optional(), monitor: z.string().optional() })
      .strict()
      .optional(),
    nanGuard: z.union([z.boolean(), z.object({ maxConsecutive: positiveInt().optional() }).strict()]).default(true),
    logEvery: positiveInt().default(50),
    maxSteps: positiveInt().optional(),
    signal: custom<AbortSignal>((v) => typeof v === 'object' && v !== null && 'aborted' in v, 'must be an AbortSignal').optional(),
  })
  .strict();

export type ResolvedFitOptions = z.output<typeof fitOptionsSchema>;

/** Old option names and what replaced them. */
const renamed: Record<string, string> = { beta: 'klWeight' };

/** Validate fit's options (one ConfigError naming the first bad field) and fill in defaults. */
export function parseFitOptions(options: FitOptions): ResolvedFitOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError(`Invalid fit options: expected an object, got ${JSON.stringify(options)}`);
  for (const [old, now] of Object.entries(renamed)) {
    if (old in options) throw new ConfigError(`Invalid fit options: field "${old}" is now "${now}"`, old);
  }
  return validateConfig(fitOptionsSchema, options, 'fit options');
}

/** Refuse a training source that is not a BatchSource. */
export function checkTrainSource(train: unknown): void {
  if (!isBatchSource(train)) throw new ConfigError('Invalid fit arguments: field "train" must be a BatchSource ({ size, batchSize, batches(epoch) })', 'train');
}
