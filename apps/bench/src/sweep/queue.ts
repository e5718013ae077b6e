import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { UsageError } from '../errors';
import { type JobProgress, type JobResult, jobDir, runJob, writeJsonAtomic } from './job';
import type { SweepJob } from './spec';

/** One BullMQ queue carries every sweep's jobs; a job's id is `<sweep>.<job id>`. */
export const QUEUE_NAME = 'elbo-sweeps';
const resultsKey = (sweep: string) => `elbo:sweep:${sweep}:results`;
const jobsKey = (sweep: string) => `elbo:sweep:${sweep}:jobs`;
export const queueJobId = (job: Pick<SweepJob, 'sweep' | 'id'>) => `${job.sweep}.${job.id}`;

/** redis://[user:password@]host:port[/db] -> ioredis options; a bad URL is a one-line usage error. */
export function parseQueueUrl(url: string): { host: string; port: number; db: number; username?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue must be a URL like redis://host:6379/0, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:') throw new UsageError(`--queue must be a redis:// URL, got ${JSON.stringify(url)}`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`--queue: database must be an integer, got ${JSON.stringify(u.pathname.slice(1))}`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/**
 * A worker's connection waits out a Redis restart instead of failing commands (what BullMQ
 * workers need). A client's (sweep, status, report) gives up after about 10 s with one line.
 */
export function connect(url: string, wait = false): Redis {
  const options = parseQueueUrl(url);
  if (wait) return new Redis({ ...options, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(200 * times, 2000) });
  const client = new Redis({ ...options, maxRetriesPerRequest: 2, connectTimeout: 5000, retryStrategy: (times) => (times > 8 ? null : Math.min(200 * times, 2000)) });
  // Errors surface as rejected commands (with the reason below); without a listener ioredis would also print each one.
  client.on('error', () => undefined);
  return client;
}

/** A Redis command of a client that failed: one line naming the queue. */
export async function reach<T>(url: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const m = (e as Error).message.split('\n')[0];
    if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|Connection is closed|max retries|Reached the max retries/i.test(m)) throw new UsageError(`cannot reach the queue at ${url} (${m})`);
    throw e;
  }
}

export interface EnqueueSummary {
  added: number;
  /** Already in the queue (waiting, running or done). */
  present: number;
  /** Failed before; retried now. */
  retried: number;
}

/** Put a sweep's jobs in the queue. Jobs already there are left alone (their ids are stable), failed ones retried. */
export function enqueueSweep(url: string, jobs: SweepJob[]): Promise<EnqueueSummary> {
  return reach(url, () => enqueue(url, jobs));
}

async function enqueue(url: string, jobs: SweepJob[]): Promise<EnqueueSummary> {
  const connection = connect(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  // Connection errors reach the caller as rejected commands; this keeps BullMQ from printing each retry.
  queue.on('error', () => undefined);
  const summary: EnqueueSummary = { added: 0, present: 0, retried: 0 };
  try {
    if (jobs.length > 0) await connection.set(jobsKey(jobs[0].sweep), JSON.stringify(jobs));
    for (const job of jobs) {
      const existing = await queue.getJob(queueJobId(job));
      if (existing) {
        if ((await existing.getState()) === 'failed') {
          await existing.retry('failed');
          summary.retried++;
        } else summary.present++;
        continue;
      }
      await queue.add(job.sweep, job, {
        jobId: queueJobId(job),
        attempts: job.attempts,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: false,
        removeOnFail: false,
      });
      summary.added++;
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return summary;
}

/** The jobs a sweep put in the queue (so status and report work without the spec). */
export function sweepJobsFromQueue(url: string, sweep: string): Promise<SweepJob[] | undefined> {
  return reach(url, () => savedJobs(url, sweep));
}

async function savedJobs(url: string, sweep: string): Promise<SweepJob[] | undefined> {
  const connection = connect(url);
  try {
    const raw = await connection.get(jobsKey(sweep));
    return raw ? (JSON.parse(raw) as SweepJob[]) : undefined;
  } finally {
    connection.disconnect();
  }
}

export interface QueuedJobState {
  state: string;
  progress?: JobProgress;
  attemptsMade: number;
  failedReason?: string;
  result?: JobResult;
}

/** Queue state, progress and recorded result of each job. */
export function queueStates(url: string, jobs: SweepJob[]): Promise<Map<string, QueuedJobState>> {
  return reach(url, () => states(url, jobs));
}

async function states(url: string, jobs: SweepJob[]): Promise<Map<string, QueuedJobState>> {
  const connection = connect(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  // Connection errors reach the caller as rejected commands; this keeps BullMQ from printing each retry.
  queue.on('error', () => undefined);
  const out = new Map<string, QueuedJobState>();
  try {
    const results = jobs.length > 0 ? await connection.hgetall(resultsKey(jobs[0].sweep)) : {};
    for (const job of jobs) {
      const q = await queue.getJob(queueJobId(job));
      const result = results[job.id] ? (JSON.parse(results[job.id]) as JobResult) : undefined;
      out.set(job.id, {
        state: q ? await q.getState() : 'not queued',
        progress: q && typeof q.progress === 'object' ? (q.progress as unknown as JobProgress) : undefined,
        attemptsMade: q?.attemptsMade ?? 0,
        failedReason: q?.failedReason || undefined,
        result,
      });
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return out;
}

export interface QueueWorkerOptions {
  url: string;
  store: string;
  backend: string;
  mnistDir?: string;
  /** Jobs this process trains at once (default 1; each uses the native backend's threads). */
  concurrency?: number;
  /**
   * A worker that stops renewing its lock (killed, frozen) loses the job after this long (default 120 s).
   * Renewals run on the event loop, so this must exceed the longest synchronous stretch of a job
   * (evaluation, pictures); a worker whose lock lapses stops that job, and another resumes it.
   */
  lockMs?: number;
  /** How often workers look for such stalled jobs (default 30 s). */
  stalledMs?: number;
  log: (line: string) => void;
}

/**
 * Train queued sweep jobs until closed. A job's run folder and checkpoints
 * live in the store; a job another worker lost (stalled) resumes from its last
 * checkpoint; the result goes to result.json and to the sweep's result hash in
 * Redis (a hash field per job id, so writing it twice changes nothing).
 */
export function startQueueWorker(options: QueueWorkerOptions): { worker: Worker; close: () => Promise<void> } {
  const connection = connect(options.url, true);
  const results = connect(options.url, true);
  const name = `${hostname()}:${process.pid}`;
  const aborts = new Map<string, { abort: AbortController; token?: string }>();
  const worker = new Worker(
    QUEUE_NAME,
    async (bjob: Job, token?: string, signal?: AbortSignal) => {
      const job = bjob.data as SweepJob;
      const abort = new AbortController();
      aborts.set(String(bjob.id), { abort, token });
      signal?.addEventListener('abort', () => abort.abort(signal.reason));
      try {
        const result = await runJob(job, {
          store: options.store,
          backend: options.backend,
          worker: name,
          mnistDir: options.mnistDir,
          log: options.log,
          signal: abort.signal,
          // Not awaited: while Redis restarts, training goes on and the update is sent on reconnect.
          onProgress: (p) => {
            bjob.updateProgress(p as unknown as object).catch(() => undefined);
          },
        });
        await results.hset(resultsKey(job.sweep), job.id, JSON.stringify(result));
        options.log(`[${job.id}] done on ${name}: ${result.steps} steps, weights ${result.weightsSha256.slice(0, 12)}`);
        return result;
      } catch (e) {
        const reason = (e as Error).message.split('\n')[0];
        const last = bjob.attemptsMade + 1 >= (bjob.opts.attempts ?? 1);
        options.log(`[${job.id}] attempt ${bjob.attemptsMade + 1} of ${bjob.opts.attempts ?? 1} failed on ${name}: ${reason}`);
        if (last && !abort.signal.aborted) writeJsonAtomic(join(jobDir(options.store, job), 'failed.json'), { id: job.id, reason, attempts: bjob.attemptsMade + 1 });
        throw e;
      } finally {
        aborts.delete(String(bjob.id));
      }
    },
    {
      connection,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockMs ?? 120_000,
      stalledInterval: options.stalledMs ?? 30_000,
      // A job may be handed on a few times (each hand-over resumes from its checkpoint) before it counts as failed.
      maxStalledCount: 5,
    },
  );
  // A renewal failed. If the lock is really gone (it lapsed: the event loop was blocked, or Redis was away
  // longer than lockMs), another worker may have the job now, so stop training it here; if Redis was
  // only briefly away and the lock is still ours, go on.
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      const held = aborts.get(id);
      if (!held) continue;
      results
        .get(`bull:${QUEUE_NAME}:${id}:lock`)
        .then((owner) => {
          if (owner !== held.token) held.abort.abort('its queue lock lapsed');
        })
        .catch(() => held.abort.abort('its queue lock could not be checked'));
    }
  });
  worker.on('error', (e) => options.log(`worker ${name}: ${e.message.split('\n')[0]}`));
  return {
    worker,
    close: async () => {
      await worker.close();
      connection.disconnect();
      results.disconnect();
    },
  };
}
