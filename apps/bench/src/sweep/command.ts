import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { selectBackend } from '../backend';
import type { Command } from '../commands';
import { UsageError } from '../errors';
import type { Flags } from '../flags';
import { writeJsonAtomic } from './job';
import { poolShape, runLocalPool, serveIpcJobs } from './pool';
import { type JobRecord, statusLines, storeRecords, sweepTable, writeSweepReport } from './report';
import { BUILT_IN_SWEEPS } from './builtins';
import { expandSweep, loadSweepSpec, type SweepJob, type SweepSpec } from './spec';

function int(flags: Flags, name: keyof Flags, min = 1): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${String(name)} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

const str = (flags: Flags, name: keyof Flags): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);
const storeOf = (flags: Flags) => resolve(str(flags, 'store') ?? str(flags, 'runs') ?? 'runs');

type SpecSummary = Pick<SweepSpec, 'name' | 'description' | 'epochs' | 'trainLimit' | 'batchSize'>;

const summaryOf = (name: string, jobs: SweepJob[]): SpecSummary => ({ name, epochs: jobs[0].training.epochs, trainLimit: jobs[0].training.trainLimit, batchSize: jobs[0].training.batchSize });

/**
 * A sweep's spec and jobs. `sweep SPEC` expands the spec (with the flag overrides). `status` and
 * `report` (`saved`) use the jobs the last `sweep` of that name saved (in the store, else in the
 * queue), unless budget flags are given, so that `sweep status beta` finds the jobs `sweep beta
 * --seeds 2 --train-limit 2000` made; a name that is neither a spec nor saved is an error.
 */
async function sweepOf(target: string | undefined, flags: Flags, saved = false): Promise<{ spec: SpecSummary; jobs: SweepJob[] }> {
  if (!target) throw new UsageError('sweep needs a SPEC: a JSON file or a built-in (beta, arch, latent, variants)');
  const overrides = {
    seeds: int(flags, 'seeds'),
    epochs: int(flags, 'epochs'),
    trainLimit: int(flags, 'train-limit'),
    testLimit: int(flags, 'test-limit', 10),
    batchSize: int(flags, 'batch-size'),
  };
  const isSpec = existsSync(target) || Object.hasOwn(BUILT_IN_SWEEPS, target);
  const spec = isSpec ? await loadSweepSpec(target, overrides) : undefined;
  if (saved && Object.values(overrides).every((v) => v === undefined)) {
    const name = spec?.name ?? target;
    const file = join(storeOf(flags), name, 'sweep.json');
    if (existsSync(file)) {
      const s = JSON.parse(readFileSync(file, 'utf8')) as { spec: SweepSpec; jobs: SweepJob[] };
      return { spec: s.spec, jobs: s.jobs };
    }
    const queue = str(flags, 'queue');
    if (queue) {
      const { sweepJobsFromQueue } = await import('./queue');
      const jobs = await sweepJobsFromQueue(queue, name);
      if (jobs?.length) return { spec: spec ?? summaryOf(name, jobs), jobs };
    }
  }
  if (!spec) throw new UsageError(`no sweep ${JSON.stringify(target)}: not a spec file, not a built-in (${Object.keys(BUILT_IN_SWEEPS).join(', ')}), and not run in this store${str(flags, 'queue') ? ' or queue' : ''}`);
  return { spec, jobs: expandSweep(spec) };
}

/** Store records, overlaid with the queue's view (results recorded in Redis, failures, progress) when there is a queue. */
async function recordsOf(jobs: SweepJob[], flags: Flags): Promise<JobRecord[]> {
  const records = storeRecords(storeOf(flags), jobs);
  const queue = str(flags, 'queue');
  if (!queue) return records;
  const { queueStates } = await import('./queue');
  const states = await queueStates(queue, jobs);
  return records.map((r) => {
    const q = states.get(r.job.id);
    if (!q) return r;
    if (q.result) return { ...r, state: 'done', result: q.result };
    if (q.state === 'failed') return { ...r, state: 'failed', failure: r.failure ?? { reason: q.failedReason ?? 'unknown', attempts: q.attemptsMade } };
    return { ...r, state: q.state === 'active' ? 'running' : q.state, progress: q.progress ?? r.progress };
  });
}

async function report(spec: Parameters<typeof sweepTable>[0], records: JobRecord[], flags: Flags, log: (l: string) => void): Promise<void> {
  const table = sweepTable(spec, records);
  const out = resolve(str(flags, 'out') ?? join(str(flags, 'runs') ?? 'runs', `sweep-${spec.name}`));
  const files = await writeSweepReport(out, spec.name, table, records);
  log(table.markdown);
  log(`wrote ${out}/ (${files.join(', ')})`);
}

/** `elbo-bench sweep SPEC`, `sweep status SPEC`, `sweep report SPEC`. */
async function sweepCommand(flags: Flags, rest: string[], log: (line: string) => void): Promise<number> {
  const [first, second] = rest;
  if (first === 'status' || first === 'report') {
    const { spec, jobs } = await sweepOf(second, flags, true);
    const records = await recordsOf(jobs, flags);
    if (first === 'status') for (const l of statusLines(records)) log(l);
    else await report(spec, records, flags, log);
    return 0;
  }
  if (rest.length > 1) throw new UsageError(`unexpected argument(s) ${rest.slice(1).map((r) => `"${r}"`).join(' ')} for sweep`);
  const { spec, jobs } = await sweepOf(first, flags);
  const store = storeOf(flags);
  writeJsonAtomic(join(ensureDir(join(store, spec.name)), 'sweep.json'), { spec, jobs });
  log(`sweep ${spec.name}: ${jobs.length} job(s) (${new Set(jobs.map((j) => j.point)).size} grid points x ${jobs.length / new Set(jobs.map((j) => j.point)).size} seeds), store ${store}`);

  const queue = str(flags, 'queue');
  if (queue) {
    const { enqueueSweep } = await import('./queue');
    const s = await enqueueSweep(queue, jobs);
    log(`queued ${s.added} job(s), ${s.present} already in the queue, ${s.retried} failed one(s) retried; workers: elbo-bench worker --queue ${queue} --store DIR`);
    if (flags.detach) return 0;
    let lastLine = '';
    for (;;) {
      let records: JobRecord[];
      try {
        records = await recordsOf(jobs, flags);
      } catch (e) {
        // Redis away (restarting): the jobs are safe in its append-only file; ask again.
        log(`${(e as Error).message.split('\n')[0]}; asking again in 5 s`);
        await new Promise((r) => setTimeout(r, 5000));
        continue;
      }
      const left = records.filter((r) => r.state !== 'done' && r.state !== 'failed').length;
      const line = statusLines(records).at(-1)!;
      if (line !== lastLine && !flags['no-progress']) log(line);
      lastLine = line;
      if (left === 0) {
        await report(spec, records, flags, log);
        return records.some((r) => r.state === 'failed') ? 1 : 0;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  const { workers, threads } = poolShape(int(flags, 'workers'), int(flags, 'threads'), jobs.length);
  log(`local pool: ${workers} worker process(es) x ${threads} native thread(s) on ${availableParallelism()} cores`);
  const started = performance.now();
  let lastShown = 0;
  const outcome = await runLocalPool(jobs, {
    store,
    workers,
    threads,
    backend: str(flags, 'backend') ?? 'auto',
    mnistDir: str(flags, 'mnist-dir'),
    log,
    onProgress: (job, p) => {
      const now = Date.now();
      if (flags['no-progress'] || now - lastShown < 5000) return;
      lastShown = now;
      log(`${job.id}: step ${p.step}/${p.totalSteps}${p.stepsPerSecond > 0 ? `, ETA ${Math.ceil((p.totalSteps - p.step) / p.stepsPerSecond)} s` : ''}`);
    },
  });
  log(`sweep ${spec.name}: ${outcome.results.size} done, ${outcome.failed.size} failed, ${outcome.retries} retried tries, ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
  await report(spec, await recordsOf(jobs, { ...flags, queue: undefined }), flags, log);
  return outcome.failed.size > 0 ? 1 : 0;
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function workerCommand(flags: Flags, rest: string[], log: (line: string) => void): Promise<number> {
  if (rest.length > 0) throw new UsageError(`unexpected argument(s) ${rest.map((r) => `"${r}"`).join(' ')} for worker`);
  const threads = int(flags, 'threads');
  // Read by the native backend when its thread pool starts, so set before the backend loads.
  if (threads !== undefined) process.env.ELBO_NATIVE_THREADS = String(threads);
  const store = storeOf(flags);
  const backend = await selectBackend(str(flags, 'backend') ?? 'auto');
  if (flags.ipc) return serveIpcJobs({ store, backend: backend.name, mnistDir: str(flags, 'mnist-dir'), log });
  const queue = str(flags, 'queue');
  if (!queue) throw new UsageError('worker needs --queue redis://host:port/db (and --store DIR, a folder every worker can reach)');
  if (!flags.store) throw new UsageError('worker needs --store DIR: a folder every worker can reach (checkpoints and run folders go there)');
  const concurrency = int(flags, 'concurrency') ?? 1;
  const perJob = Number(process.env.ELBO_NATIVE_THREADS ?? availableParallelism());
  if (backend.name === 'native' && concurrency * perJob > availableParallelism()) {
    throw new UsageError(`--concurrency ${concurrency} x ${perJob} native thread(s) is more than the ${availableParallelism()} cores (set --threads)`);
  }
  const { startQueueWorker } = await import('./queue');
  const w = startQueueWorker({ url: queue, store, backend: backend.name, mnistDir: str(flags, 'mnist-dir'), concurrency, lockMs: int(flags, 'lock-ms'), stalledMs: int(flags, 'stalled-ms'), log });
  log(`worker: queue ${queue}, store ${store}, backend ${backend.name}, ${concurrency} job(s) at a time`);
  await new Promise<void>((done) => {
    const stop = () => {
      log('worker: closing after the current job');
      w.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

export const SWEEP_COMMAND: Command = {
  args: 'SPEC',
  description: `a grid of runs over seeds (SPEC: a JSON file, or beta | arch | latent | variants)
                             on a local pool (--workers N, --threads N) or a BullMQ queue (--queue redis://host:port/db);
                             sweep status SPEC, sweep report SPEC (mean ± std tables, chart); --seeds N --store DIR --detach`,
  positionals: true,
  backend: false,
  run: sweepCommand,
};

export const WORKER_COMMAND: Command = {
  args: '--queue URL --store DIR',
  description: 'train queued sweep jobs on this machine (--concurrency N, --threads N, --lock-ms, --stalled-ms)',
  backend: false,
  run: workerCommand,
};
