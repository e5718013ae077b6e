import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Callback } from '@elbo/core';
import { trainRun } from '../train-run';
import type { SweepJob } from './spec';

/** What a job reports while it trains (also the BullMQ job's progress). */
export interface JobProgress {
  step: number;
  totalSteps: number;
  /** Global step the job resumed from (0 for a fresh start). */
  resumedFrom: number;
  /** Steps per second since this attempt started. */
  stepsPerSecond: number;
  startedAt: number;
  updatedAt: number;
  worker: string;
}

/** A finished job: headline numbers of its evaluation and a hash of its final weights. */
export interface JobResult {
  id: string;
  sweep: string;
  point: string;
  axes: Record<string, string>;
  seed: number;
  /** Test-set metrics; null where not computed or not finite. */
  metrics: Record<string, number | null>;
  parameters: number;
  steps: number;
  trainSeconds: number;
  /** SHA-256 of the saved model's weights file: equal weights, equal hash. */
  weightsSha256: string;
  worker: string;
}

/** A job that cannot succeed as configured (non-finite loss, bad config); the message is its reason. */
export class JobFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFailure';
  }
}

export interface JobContext {
  /** Root every worker can reach: the job writes <store>/<sweep>/<job id>/. */
  store: string;
  /** Backend name recorded in the run (the process selected it already). */
  backend: string;
  /** Who runs it (host:pid), recorded in the attempts log. */
  worker: string;
  mnistDir?: string;
  log: (line: string) => void;
  onProgress?: (p: JobProgress) => void | Promise<void>;
  /** Aborted when this worker no longer owns the job (its queue lock was lost): training stops with an error. */
  signal?: AbortSignal;
}

export const jobDir = (store: string, job: Pick<SweepJob, 'sweep' | 'id'>) => join(store, job.sweep, job.id);

/** The job's result if it finished before (in any worker), else undefined. */
export function readResult(store: string, job: Pick<SweepJob, 'sweep' | 'id'>): JobResult | undefined {
  const file = join(jobDir(store, job), 'result.json');
  if (!existsSync(file)) return undefined;
  const r = JSON.parse(readFileSync(file, 'utf8')) as JobResult;
  return r.id === job.id ? r : undefined;
}

/** Progress the job last wrote (any worker), if any. */
export function readProgress(store: string, job: Pick<SweepJob, 'sweep' | 'id'>): JobProgress | undefined {
  const file = join(jobDir(store, job), 'progress.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JobProgress;
  } catch {
    return undefined;
  }
}

/** Write via a temporary file and a rename, so a killed writer never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Global step of the checkpoint in `dir`, or undefined when there is none. */
export function checkpointStep(dir: string): number | undefined {
  const file = join(dir, 'model.json');
  if (!existsSync(file)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as { userDefinedMetadata?: { elbo?: { step?: number } } };
    return meta.userDefinedMetadata?.elbo?.step;
  } catch {
    return undefined;
  }
}

/** SHA-256 over a saved model's weight specs and weight bytes, in manifest order. */
export function weightsHash(modelDir: string): string {
  const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[]; weights: unknown[] }> };
  const h = createHash('sha256');
  for (const group of manifest.weightsManifest) {
    h.update(JSON.stringify(group.weights));
    for (const p of group.paths) h.update(readFileSync(join(modelDir, p)));
  }
  return h.digest('hex');
}

const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);

/**
 * Run one sweep job: train (resuming from the job's checkpoint in the store if
 * an earlier attempt left one), evaluate, write the run folder and result.json.
 * A job whose result.json exists returns it without training, so running a job
 * twice changes nothing. The same code runs in the local pool and in queue workers.
 */
export async function runJob(job: SweepJob, ctx: JobContext): Promise<JobResult> {
  const done = readResult(ctx.store, job);
  if (done) return done;
  const dir = jobDir(ctx.store, job);
  mkdirSync(dir, { recursive: true });
  const checkpoint = join(dir, 'checkpoint');
  const resumeStep = checkpointStep(checkpoint);
  const attempt = (event: string, extra: Record<string, unknown> = {}) =>
    appendFileSync(join(dir, 'attempts.jsonl'), `${JSON.stringify({ event, worker: ctx.worker, at: new Date().toISOString(), ...extra })}\n`);
  attempt('start', { resumeStep: resumeStep ?? 0 });

  const startedAt = Date.now();
  let totalSteps = 0;
  let startStep = resumeStep ?? 0;
  let lastReport = 0;
  const nonFinite: string[] = [];
  const report = async (step: number) => {
    const now = Date.now();
    const p: JobProgress = {
      step,
      totalSteps,
      resumedFrom: resumeStep ?? 0,
      stepsPerSecond: now > startedAt ? ((step - startStep) * 1000) / (now - startedAt) : 0,
      startedAt,
      updatedAt: now,
      worker: ctx.worker,
    };
    writeJsonAtomic(join(dir, 'progress.json'), p);
    await ctx.onProgress?.(p);
  };
  const callback: Callback = {
    onTrainBegin: async (info) => {
      totalSteps = info.maxSteps ?? info.epochs * info.stepsPerEpoch;
      startStep = info.startStep;
      await report(info.startStep);
    },
    onStepEnd: async (info) => {
      if (ctx.signal?.aborted) throw new Error(`job ${job.id}: stopped on ${ctx.worker} (${String(ctx.signal.reason ?? 'aborted')})`);
      const now = Date.now();
      if (now - lastReport >= 1000 || info.step === totalSteps) {
        lastReport = now;
        await report(info.step);
      }
    },
    onNonFinite: (e) => {
      nonFinite.push(JSON.stringify(e).slice(0, 200));
    },
  };

  const run = await trainRun(job.config, {
    name: job.id,
    runsDir: join(ctx.store, job.sweep),
    epochs: job.training.epochs,
    batchSize: job.training.batchSize,
    learningRate: job.training.learningRate,
    trainLimit: job.training.trainLimit,
    testLimit: job.training.testLimit,
    mnistDir: ctx.mnistDir,
    resume: resumeStep !== undefined ? checkpoint : undefined,
    checkpointEverySteps: job.training.checkpointEverySteps,
    callbacks: [callback],
    backend: ctx.backend,
    evaluation: { nllSamples: job.training.nllSamples, fidSamples: job.training.fidSamples, seed: job.seed },
    progress: false,
    log: (l) => ctx.log(`[${job.id}] ${l}`),
  });
  const e = run.evaluation;
  if (nonFinite.length > 0 && run.steps < totalSteps) {
    throw new JobFailure(`non-finite loss: training stopped at step ${run.steps} of ${totalSteps} (${nonFinite[nonFinite.length - 1]})`);
  }
  if (e.terms.loss !== undefined && !Number.isFinite(e.terms.loss)) throw new JobFailure(`non-finite test loss ${e.terms.loss}`);
  const result: JobResult = {
    id: job.id,
    sweep: job.sweep,
    point: job.point,
    axes: job.axes,
    seed: job.seed,
    metrics: {
      negElbo: finite(e.terms.elbo !== undefined ? -e.terms.elbo : undefined),
      reconstruction: finite(e.terms.reconstruction),
      kl: finite(e.terms.kl),
      reconstructionMse: finite(e.reconstructionMse),
      ssim: finite(e.reconstructionSsim),
      activeUnits: finite(e.activeUnits),
      nll: finite(e.nll),
      fid: finite(e.fid),
      samplesPerSecond: finite(run.samplesPerSecond),
    },
    parameters: run.parameters,
    steps: run.steps,
    trainSeconds: run.trainSeconds,
    weightsSha256: weightsHash(join(dir, 'model')),
    worker: ctx.worker,
  };
  writeJsonAtomic(join(dir, 'result.json'), result);
  attempt('finish', { steps: run.steps, weightsSha256: result.weightsSha256 });
  return result;
}
