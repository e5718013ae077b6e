import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors';
import { type JobContext, type JobProgress, type JobResult, jobDir, readResult, runJob, writeJsonAtomic } from './job';
import type { SweepJob } from './spec';

/** The built CLI (dist/cli.js) that worker processes run. */
export function benchCli(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, 'cli.js'), join(here, '..', '..', 'dist', 'cli.js')]) if (existsSync(c)) return c;
  throw new Error('elbo-bench is not built (no dist/cli.js): build @elbo/bench first');
}

/**
 * Worker processes and native threads per job for a pool on this machine:
 * workers x threads never exceeds the cores.
 */
export function poolShape(requestedWorkers: number | undefined, requestedThreads: number | undefined, jobs: number, cores = availableParallelism()): { workers: number; threads: number } {
  const workers = Math.max(1, Math.min(requestedWorkers ?? Math.max(1, Math.floor(cores / (requestedThreads ?? 1))), Math.max(1, jobs)));
  const threads = requestedThreads ?? Math.max(1, Math.floor(cores / workers));
  if (workers * threads > cores) {
    throw new UsageError(`--workers ${workers} x --threads ${threads} is more than the ${cores} cores of this machine (each job's native backend runs ${threads} thread(s))`);
  }
  return { workers, threads };
}

type ToWorker = { type: 'job'; job: SweepJob };
type FromWorker = { type: 'ready' } | { type: 'progress'; id: string; progress: JobProgress } | { type: 'done'; id: string; result: JobResult } | { type: 'failed'; id: string; reason: string };

export interface PoolOptions {
  store: string;
  workers: number;
  threads: number;
  backend: string;
  mnistDir?: string;
  log: (line: string) => void;
  onProgress?: (job: SweepJob, p: JobProgress) => void;
}

export interface PoolOutcome {
  results: Map<string, JobResult>;
  failed: Map<string, string>;
  /** Tries that did not finish (a failure or a worker that died), over all jobs. */
  retries: number;
}

/**
 * Run jobs on N forked worker processes (`elbo-bench worker --ipc`, the same
 * job code as queue workers). A job whose worker fails or dies is tried again,
 * on a fresh process if the old one died, up to the job's attempts; it resumes
 * from its checkpoint.
 */
export async function runLocalPool(jobs: SweepJob[], options: PoolOptions): Promise<PoolOutcome> {
  const outcome: PoolOutcome = { results: new Map(), failed: new Map(), retries: 0 };
  const pending: SweepJob[] = [];
  for (const job of jobs) {
    const done = readResult(options.store, job);
    if (done) outcome.results.set(job.id, done);
    else pending.push(job);
  }
  const tries = new Map<string, number>();
  const cli = benchCli();
  let live = 0;
  await new Promise<void>((resolve) => {
    const finishIfIdle = () => {
      if (live === 0 && pending.length === 0) resolve();
    };
    const spawn = () => {
      const args = ['worker', '--ipc', '--store', options.store, '--backend', options.backend, ...(options.mnistDir ? ['--mnist-dir', options.mnistDir] : [])];
      const child: ChildProcess = fork(cli, args, {
        env: { ...process.env, ELBO_NATIVE_THREADS: String(options.threads), INIT_CWD: process.cwd() },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      live++;
      let current: SweepJob | undefined;
      let ready = false;
      const relay = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) options.log(`  ${line}`);
      };
      child.stdout?.on('data', relay);
      child.stderr?.on('data', relay);
      const next = () => {
        current = pending.shift();
        if (!current) {
          child.disconnect();
          return;
        }
        child.send({ type: 'job', job: current } satisfies ToWorker);
      };
      const failed = (job: SweepJob, reason: string) => {
        const n = (tries.get(job.id) ?? 0) + 1;
        tries.set(job.id, n);
        if (n < job.attempts) {
          outcome.retries++;
          options.log(`${job.id}: try ${n} of ${job.attempts} failed (${reason}); trying again`);
          pending.push(job);
        } else {
          outcome.failed.set(job.id, reason);
          writeJsonAtomic(join(jobDir(options.store, job), 'failed.json'), { id: job.id, reason, attempts: n });
          options.log(`${job.id}: failed after ${n} tries: ${reason}`);
        }
      };
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          next();
        }
        else if (m.type === 'progress' && current) options.onProgress?.(current, m.progress);
        else if (m.type === 'done' && current) {
          outcome.results.set(m.id, m.result);
          next();
        } else if (m.type === 'failed' && current) {
          failed(current, m.reason);
          next();
        }
      });
      child.on('exit', (code, signal) => {
        live--;
        if (!ready && live === 0) {
          // The process could not start (its error was relayed above): nothing would run the rest.
          for (const job of pending.splice(0)) {
            const reason = `worker process could not start (${signal ?? `code ${code}`})`;
            outcome.failed.set(job.id, reason);
            writeJsonAtomic(join(jobDir(options.store, job), 'failed.json'), { id: job.id, reason, attempts: 0 });
          }
        } else if (current) {
          failed(current, `worker process exited (${signal ?? `code ${code}`})`);
          current = undefined;
          if (pending.length > 0) spawn();
        }
        finishIfIdle();
      });
    };
    if (pending.length === 0) resolve();
    else for (let i = 0; i < Math.min(options.workers, pending.length); i++) spawn();
  });
  return outcome;
}

/** The child side of the pool: jobs over IPC, one at a time, until the parent disconnects. */
export async function serveIpcJobs(ctx: Omit<JobContext, 'worker' | 'onProgress'>): Promise<number> {
  const send = (m: FromWorker) => process.send?.(m);
  const worker = `${hostname()}:${process.pid}`;
  await new Promise<void>((resolve) => {
    process.on('disconnect', resolve);
    process.on('message', async (m: ToWorker) => {
      if (m.type !== 'job') return;
      const job = m.job;
      try {
        const result = await runJob(job, { ...ctx, worker, onProgress: (progress) => {
            send({ type: 'progress', id: job.id, progress });
          },
        });
        send({ type: 'done', id: job.id, result });
      } catch (e) {
        send({ type: 'failed', id: job.id, reason: (e as Error).message.split('\n')[0] });
      }
    });
    send({ type: 'ready' });
  });
  return 0;
}
