import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../errors';
import { BUILT_IN_SWEEPS } from './builtins';

/**
 * A sweep: a base model config, axes whose values are crossed into a grid, and
 * the seeds every grid point is trained with. An axis is either a list of values
 * for one config field (`"klWeight": [0.5, 1, 4, 10]`, a dotted path reaches
 * into nested fields) or named partial configs merged into the base
 * (`"architecture": { "mlp-2": {...}, "conv": {...} }`). Axis names that are
 * training options (epochs, trainLimit, batchSize, learningRate) set those
 * instead of a config field.
 */
export const TRAIN_FIELDS = ['epochs', 'trainLimit', 'testLimit', 'batchSize', 'learningRate', 'fidSamples', 'nllSamples'] as const;
export type TrainField = (typeof TRAIN_FIELDS)[number];

const positiveInt = z.number().int().min(1);
const axisSchema = z.union([z.array(z.unknown()).min(1), z.record(z.string().min(1), z.record(z.string(), z.unknown())).refine((o) => Object.keys(o).length > 0, 'needs at least one named config')]);

/** The most jobs one sweep may expand into (grid points x seeds): a typo such as seeds: 2000000 is refused, not expanded. */
export const MAX_JOBS = 100_000;

export const sweepSpecSchema = z
  .object({
    /** Names the sweep's folder (runs/<name>/) and its jobs in the queue. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
    description: z.string().optional(),
    /** Model config every job starts from (any registered variant's config, with "variant"). */
    base: z.record(z.string(), z.unknown()).refine((c) => typeof c.variant === 'string', 'needs a "variant"'),
    axes: z.record(z.string().min(1), axisSchema).default({}),
    /** Seed list, or a count n meaning seeds 0..n-1. */
    seeds: z.union([positiveInt.max(MAX_JOBS), z.array(z.number().int().min(0)).min(1).max(MAX_JOBS)]).default(1),
    epochs: positiveInt.default(1),
    /** Budget: the first N training images (seeded subset); all of MNIST when absent. */
    trainLimit: positiveInt.optional(),
    testLimit: z.number().int().min(10).optional(),
    batchSize: positiveInt.default(128),
    learningRate: z.number().positive().default(1e-3),
    fidSamples: z.number().int().min(0).default(0),
    nllSamples: z.number().int().min(0).default(0),
    /** Mid-epoch checkpoint period, so a job handed to another worker loses at most this many steps. */
    checkpointEverySteps: positiveInt.default(50),
    /** Tries per job before it is marked failed. */
    attempts: positiveInt.default(3),
  })
  .strict();

export type SweepSpec = z.output<typeof sweepSpecSchema>;

export interface JobTraining {
  epochs: number;
  trainLimit?: number;
  testLimit?: number;
  batchSize: number;
  learningRate: number;
  fidSamples: number;
  nllSamples: number;
  checkpointEverySteps: number;
}

/** One training run of a sweep; everything a worker on another machine needs. */
export interface SweepJob {
  /** Stable: the grid point's label, the seed and a hash of the canonical config, seed and training options. */
  id: string;
  sweep: string;
  /** Grid point label (the axis values), the same for every seed. */
  point: string;
  /** Axis name -> value label at this grid point. */
  axes: Record<string, string>;
  seed: number;
  config: Record<string, unknown>;
  training: JobTraining;
  attempts: number;
}

function fieldOf(path: PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(top level)';
}

/** Validate a parsed spec; throws a one-line UsageError naming the field. */
export function parseSweepSpec(raw: unknown, where = 'sweep spec'): SweepSpec {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const k of Object.keys(raw)) {
      if (!(k in sweepSpecSchema.shape)) {
        throw new UsageError(`${where}: field "${k}" is not known (fields: ${Object.keys(sweepSpecSchema.shape).join(', ')})`);
      }
    }
  }
  const r = sweepSpecSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(`${where}: field "${fieldOf(issue.path)}": ${issue.message.split('\n')[0]}`);
  }
  const points = Object.values(r.data.axes).reduce((n, values) => n * (Array.isArray(values) ? values.length : Object.keys(values).length), 1);
  const seeds = typeof r.data.seeds === 'number' ? r.data.seeds : new Set(r.data.seeds).size;
  if (points * seeds > MAX_JOBS) {
    throw new UsageError(`${where}: field "axes": ${points} grid points x ${seeds} seeds is ${points * seeds} jobs, more than the ${MAX_JOBS} a sweep may hold; split it`);
  }
  for (const [axis, values] of Object.entries(r.data.axes)) {
    if (axis === 'seed') throw new UsageError(`${where}: field "axes.seed": seeds go in "seeds", not an axis`);
    if (axis === 'variant' && Array.isArray(values)) continue;
    if ((TRAIN_FIELDS as readonly string[]).includes(axis) && !Array.isArray(values)) {
      throw new UsageError(`${where}: field "axes.${axis}": a training option's axis is a list of values`);
    }
  }
  // Axes that cross into the same config twice (a repeated value, or two axes setting one field alike) are refused here, naming the spec.
  const configs = new Set<string>();
  for (const job of expandSweep(r.data)) {
    const key = canonicalJson({ config: job.config, training: job.training });
    if (configs.has(key)) throw new UsageError(`${where}: field "axes": grid point ${job.point} repeats another grid point's config (an axis repeats a value)`);
    configs.add(key);
  }
  return r.data;
}

/** A spec from a JSON file or a built-in name (beta, arch, latent, variants). */
export async function loadSweepSpec(specOrName: string, overrides: Partial<Pick<SweepSpec, 'epochs' | 'trainLimit' | 'testLimit' | 'batchSize'>> & { seeds?: number } = {}): Promise<SweepSpec> {
  let raw: unknown;
  let where: string;
  if (Object.hasOwn(BUILT_IN_SWEEPS, specOrName)) {
    raw = await BUILT_IN_SWEEPS[specOrName]();
    where = `built-in sweep ${specOrName}`;
  } else {
    if (!existsSync(specOrName)) throw new UsageError(`sweep spec not found: ${specOrName} (a JSON file, or a built-in: ${Object.keys(BUILT_IN_SWEEPS).join(', ')})`);
    where = `sweep spec ${specOrName}`;
    try {
      raw = JSON.parse(readFileSync(specOrName, 'utf8'));
    } catch (e) {
      throw new UsageError(`${where} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const withFlags = { ...(raw as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) withFlags[k] = v;
  return parseSweepSpec(withFlags, where);
}

/** JSON with object keys sorted at every level, so equal configs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    o[k] = next !== null && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
}

/** A short, file-name-safe label for an axis value. */
export function valueLabel(v: unknown): string {
  const s = typeof v === 'string' ? v : canonicalJson(v);
  return s.replace(/[^A-Za-z0-9.+-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40) || '_';
}

export function seedsOf(spec: SweepSpec): number[] {
  return typeof spec.seeds === 'number' ? Array.from({ length: spec.seeds }, (_, i) => i) : [...new Set(spec.seeds)];
}

/** Cross the axes and seeds into jobs, in a stable order (axes as written, seeds innermost). */
export function expandSweep(spec: SweepSpec): SweepJob[] {
  type Point = { axes: Record<string, string>; config: Record<string, unknown>; training: JobTraining };
  const training: JobTraining = {
    epochs: spec.epochs,
    trainLimit: spec.trainLimit,
    testLimit: spec.testLimit,
    batchSize: spec.batchSize,
    learningRate: spec.learningRate,
    fidSamples: spec.fidSamples,
    nllSamples: spec.nllSamples,
    checkpointEverySteps: spec.checkpointEverySteps,
  };
  let points: Point[] = [{ axes: {}, config: structuredClone(spec.base), training }];
  for (const [axis, values] of Object.entries(spec.axes)) {
    const next: Point[] = [];
    for (const p of points) {
      const entries: Array<[string, unknown]> = Array.isArray(values) ? values.map((v) => [valueLabel(v), v]) : Object.entries(values);
      for (const [label, v] of entries) {
        const config = structuredClone(p.config);
        const t = { ...p.training };
        if (!Array.isArray(values)) Object.assign(config, structuredClone(v as Record<string, unknown>));
        else if ((TRAIN_FIELDS as readonly string[]).includes(axis)) (t as Record<string, unknown>)[axis] = v;
        else setPath(config, axis, v);
        next.push({ axes: { ...p.axes, [axis]: label }, config, training: t });
      }
    }
    points = next;
  }
  const jobs: SweepJob[] = [];
  for (const p of points) {
    const point = Object.values(p.axes).join('_') || 'base';
    for (const seed of seedsOf(spec)) {
      const config = { ...p.config, seed };
      const hash = createHash('sha256')
        .update(canonicalJson({ config, training: p.training }))
        .digest('hex')
        .slice(0, 10);
      jobs.push({ id: `${point}-s${seed}-${hash}`, sweep: spec.name, point, axes: p.axes, seed, config, training: p.training, attempts: spec.attempts });
    }
  }
  return jobs;
}
