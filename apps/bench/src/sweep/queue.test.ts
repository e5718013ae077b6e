import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointStep, jobDir, type JobResult } from './job';
import { benchCli } from './pool';
import { queueStates } from './queue';
import { expandSweep, parseSweepSpec, type SweepJob } from './spec';
import { benchConfigFile } from '../suites';

// The bench names no variant: the tests train whichever variant the quick config names.
const { variant } = benchConfigFile<{ variant: string }>('quick.json');

/**
 * Fault tests on a real Redis (Debian's redis-server, started here on a free
 * port with an append-only file) and real worker processes: one worker is
 * killed with SIGKILL mid-job, Redis is restarted mid-sweep, and every job must
 * finish exactly once, with the weights an uninterrupted run gives.
 */

// Tiny jobs: a small MLP on 1,536 MNIST images, 48 steps of batch 32, a checkpoint every 4 steps.
const base = { variant, inputShape: [784], hiddenDims: [64], latentDim: 4 };
const budget = { trainLimit: 1536, testLimit: 200, batchSize: 32, checkpointEverySteps: 4 };
const goodSpec = { name: 'fault', base, axes: { latentDim: [2, 4] }, seeds: 2, ...budget };
const badSpec = { name: 'fault-bad', base, axes: { latentDim: [0] }, seeds: 1, attempts: 2, ...budget };

const cli = benchCli();
const tmp = mkdtempSync(join(tmpdir(), 'elbo-sweep-queue-'));
const store = join(tmp, 'store');
const localStore = join(tmp, 'local-store');
const children = new Set<ChildProcess>();
let redis: ChildProcess | undefined;
let port = 0;
let url = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function startRedis(): Promise<void> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(tmp, 'redis'), '--appendonly', 'yes', '--save', '', '--protected-mode', 'no'], { stdio: 'ignore' });
  redis = p;
  await waitFor('redis to answer', () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG' || undefined, 20_000);
}

async function stopRedis(): Promise<void> {
  const p = redis;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

function startWorker(name: string): ChildProcess {
  const w = spawn(process.execPath, [cli, 'worker', '--queue', url, '--store', store, '--threads', '1', '--lock-ms', '15000', '--stalled-ms', '1000', '--no-progress'], {
    env: { ...process.env, ELBO_NATIVE_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  w.stdout?.on('data', (d) => {
    out += d;
  });
  w.stderr?.on('data', (d) => {
    out += d;
  });
  w.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') process.stderr.write(`worker ${name} exited ${code ?? signal}:\n${out.slice(-2000)}\n`);
  });
  children.add(w);
  return w;
}

function runCli(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, INIT_CWD: tmp }, timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

type Attempt = { event: string; worker: string; resumeStep?: number; weightsSha256?: string };
const attempts = (job: SweepJob): Attempt[] => {
  const f = join(jobDir(store, job), 'attempts.jsonl');
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Attempt)
    : [];
};

beforeAll(async () => {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed (Debian: apt-get install redis-server; scripts/setup-test-env.sh installs it)');
  }
  port = await freePort();
  url = `redis://127.0.0.1:${port}/0`;
  rmSync(join(tmp, 'redis'), { recursive: true, force: true });
  spawnSync('mkdir', ['-p', join(tmp, 'redis')]);
  await startRedis();
  writeFileSync(join(tmp, 'good.json'), JSON.stringify(goodSpec));
  writeFileSync(join(tmp, 'bad.json'), JSON.stringify(badSpec));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stopRedis().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('sweep on BullMQ + Redis', () => {
  it('survives a worker killed mid-job and a Redis restart: every job finishes exactly once, with the uninterrupted weights', async () => {
    const jobs = expandSweep(parseSweepSpec(goodSpec));
    const bad = expandSweep(parseSweepSpec(badSpec));
    const queued = runCli(['sweep', join(tmp, 'good.json'), '--queue', url, '--store', store, '--detach']);
    expect(queued.status, queued.out).toBe(0);
    expect(queued.out).toContain('queued 4 job(s)');
    expect(runCli(['sweep', join(tmp, 'bad.json'), '--queue', url, '--store', store, '--detach']).status).toBe(0);

    const workers = [startWorker('a'), startWorker('b'), startWorker('c')];
    // Kill the worker of the first job that has a mid-run checkpoint (and is not done).
    const victim = await waitFor('a job with a mid-run checkpoint', () =>
      jobs.find((j) => {
        const step = checkpointStep(join(jobDir(store, j), 'checkpoint'));
        return step !== undefined && step > 0 && step < 48 && !existsSync(join(jobDir(store, j), 'result.json'));
      }),
    );
    const owner = attempts(victim).at(-1)!.worker;
    const pid = Number(owner.split(':').at(-1));
    const killed = workers.find((w) => w.pid === pid);
    expect(killed, `worker ${owner} runs ${victim.id}`).toBeDefined();
    killed!.kill('SIGKILL');
    const stepAtKill = checkpointStep(join(jobDir(store, victim), 'checkpoint'))!;

    // Restart Redis while the other workers train (the AOF keeps the queue).
    await sleep(500);
    const doneAtRestart = jobs.filter((j) => existsSync(join(jobDir(store, j), 'result.json'))).length;
    await stopRedis();
    await sleep(1000);
    await startRedis();

    const states = await waitFor(
      'every job to finish or fail',
      async () => {
        const s = await queueStates(url, [...jobs, ...bad]);
        return [...s.values()].every((q) => q.state === 'completed' || q.state === 'failed') ? s : undefined;
      },
      240_000,
    );

    // Each good job: completed once in the queue, its result recorded in Redis, trained to the end exactly once.
    for (const j of jobs) {
      const q = states.get(j.id)!;
      expect(q.state, j.id).toBe('completed');
      expect(q.result?.id).toBe(j.id);
      const finishes = attempts(j).filter((a) => a.event === 'finish');
      expect(finishes, `${j.id} finished once`).toHaveLength(1);
      expect(finishes[0].weightsSha256).toBe(q.result!.weightsSha256);
    }
    // The killed job was picked up by another worker, from its checkpoint (not from step 0).
    const starts = attempts(victim).filter((a) => a.event === 'start');
    expect(starts.length).toBeGreaterThanOrEqual(2);
    const resumed = starts.find((a) => a.worker !== owner)!;
    expect(resumed.resumeStep).toBeGreaterThanOrEqual(stepAtKill);
    expect(resumed.resumeStep).toBeGreaterThan(0);

    const figures = {
      jobs: jobs.length,
      killed: victim.id,
      checkpointStepAtKill: stepAtKill,
      resumedFromStep: resumed.resumeStep,
      jobsDoneWhenRedisRestarted: doneAtRestart,
      startsPerJob: Object.fromEntries(jobs.map((j) => [j.id, attempts(j).filter((a) => a.event === 'start').length])),
      finishesPerJob: Object.fromEntries(jobs.map((j) => [j.id, attempts(j).filter((a) => a.event === 'finish').length])),
    };
    console.log(`sweep fault figures: ${JSON.stringify(figures)}`);
    expect(doneAtRestart).toBeLessThan(jobs.length);

    // The bad config: tried twice, then failed with its reason; the report shows it.
    const b = states.get(bad[0].id)!;
    expect(b.state).toBe('failed');
    expect(b.attemptsMade).toBe(2);
    expect(b.failedReason).toMatch(/latentDim/);

    // The same sweep again: nothing is queued twice, nothing retrained.
    const again = runCli(['sweep', join(tmp, 'good.json'), '--queue', url, '--store', store, '--detach']);
    expect(again.out).toContain('queued 0 job(s), 4 already in the queue');

    // The same jobs uninterrupted on the local pool: the same weights, hence the same table.
    const local = runCli(['sweep', join(tmp, 'good.json'), '--store', localStore, '--runs', join(tmp, 'local-runs'), '--workers', '2', '--no-progress']);
    expect(local.status, local.out).toBe(0);
    console.log(`sweep fault figures: ${jobs.length} local-pool results compared with the queue's`);
    for (const j of jobs) {
      const r = JSON.parse(readFileSync(join(jobDir(localStore, j), 'result.json'), 'utf8')) as JobResult;
      expect(r.weightsSha256, `${j.id}: weights equal an uninterrupted run's`).toBe(states.get(j.id)!.result!.weightsSha256);
    }
    const report = runCli(['sweep', 'report', join(tmp, 'good.json'), '--queue', url, '--store', store, '--runs', join(tmp, 'queue-runs')]);
    expect(report.status, report.out).toBe(0);
    const tableOf = (dir: string) => readFileSync(join(dir, 'sweep-fault', 'table.md'), 'utf8').split('\n![')[0];
    expect(tableOf(join(tmp, 'queue-runs'))).toBe(tableOf(join(tmp, 'local-runs')));
    const badReport = runCli(['sweep', 'report', join(tmp, 'bad.json'), '--queue', url, '--store', store, '--runs', join(tmp, 'queue-runs')]);
    expect(badReport.out).toMatch(/Failed jobs[\s\S]*latentDim/);

    // A result written twice changes nothing: a worker handed a finished job returns the recorded result.
    const before = readFileSync(join(jobDir(store, jobs[0]), 'result.json'), 'utf8');
    const rerun = runCli(['sweep', 'status', join(tmp, 'good.json'), '--queue', url, '--store', store]);
    expect(rerun.out).toContain('4 done, 0 failed, 0 to go');
    expect(readFileSync(join(jobDir(store, jobs[0]), 'result.json'), 'utf8')).toBe(before);
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  });
});
