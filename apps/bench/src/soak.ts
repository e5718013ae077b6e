import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, fit } from '@elbo/core';
import { selectBackend } from './backend';
import { loadBenchData } from './data';
import { loadVariants } from './discover';
import { UsageError } from './errors';
import { type Flags, intFlag } from './flags';
import { benchConfigFile } from './suites';

/** One measurement during a soak run. */
export interface SoakPoint {
  step: number;
  /** Seconds since fit started. */
  seconds: number;
  numTensors: number;
  numBytes: number;
  /** Resident set size of the process, bytes. */
  rss: number;
  heapUsed: number;
}

/** What a soak run may grow by between the end of warm-up and the end. */
export interface SoakBounds {
  tensors: number;
  bytes: number;
  rssBytes: number;
}

export const DEFAULT_SOAK_BOUNDS: SoakBounds = { tensors: 0, bytes: 1024 * 1024, rssBytes: 64 * 1024 * 1024 };

export interface SoakBackendResult {
  backend: string;
  steps: number;
  every: number;
  /** Step from which growth is measured (the first record at or after warm-up). */
  warmupStep: number;
  points: SoakPoint[];
  /** Growth from the warm-up record: the largest tensor and byte counts after it, and the last RSS. */
  growth: { tensors: number; bytes: number; rssBytes: number };
  stepsPerSecond: number;
  passed: boolean;
  failures: string[];
}

export interface SoakOptions {
  steps: number;
  /** Record every this many steps; default 1,000, or a tenth of the run for shorter runs. */
  every?: number;
  backends: string[];
  batchSize?: number;
  seed?: number;
  /** Training examples (a seeded subset of MNIST); default 10,000. */
  trainLimit?: number;
  bounds?: SoakBounds;
  log?: (line: string) => void;
}

/** The record interval for a run of `steps`: 1,000, or a tenth of a shorter run. */
export function soakInterval(steps: number): number {
  return Math.max(1, Math.min(1000, Math.floor(steps / 10)));
}

function point(step: number, t0: number): SoakPoint {
  const m = tf.memory();
  const p = process.memoryUsage();
  return { step, seconds: (performance.now() - t0) / 1000, numTensors: m.numTensors, numBytes: m.numBytes, rss: p.rss, heapUsed: p.heapUsed };
}

/**
 * Growth after warm-up: warm-up is the first fifth of the run (at most 5,000
 * steps), rounded up to a record. Tensors and bytes must not exceed their
 * warm-up values by more than the bound at any later record (they are exact
 * counts); RSS is compared at the last record (it moves with the GC).
 */
export function soakVerdict(points: SoakPoint[], steps: number, bounds: SoakBounds): Pick<SoakBackendResult, 'warmupStep' | 'growth' | 'passed' | 'failures'> {
  const warm = Math.min(5000, Math.ceil(steps / 5));
  const base = points.find((p) => p.step >= warm && p.step > 0) ?? points[points.length - 1];
  const after = points.filter((p) => p.step >= base.step);
  const last = points[points.length - 1];
  const growth = {
    tensors: Math.max(...after.map((p) => p.numTensors)) - base.numTensors,
    bytes: Math.max(...after.map((p) => p.numBytes)) - base.numBytes,
    rssBytes: last.rss - base.rss,
  };
  const failures: string[] = [];
  if (growth.tensors > bounds.tensors) failures.push(`tensors grew by ${growth.tensors} after step ${base.step} (bound ${bounds.tensors})`);
  if (growth.bytes > bounds.bytes) failures.push(`tensor bytes grew by ${growth.bytes} after step ${base.step} (bound ${bounds.bytes})`);
  if (growth.rssBytes > bounds.rssBytes) failures.push(`RSS grew by ${(growth.rssBytes / 2 ** 20).toFixed(1)} MiB after step ${base.step} (bound ${(bounds.rssBytes / 2 ** 20).toFixed(0)} MiB)`);
  return { warmupStep: base.step, growth, passed: failures.length === 0, failures };
}

/**
 * Train the bench's small MLP VAE (configs/quick.json) for `steps` steps on
 * each backend with createModel + fit, recording tf.memory() and RSS.
 */
export async function runSoak(options: SoakOptions): Promise<SoakBackendResult[]> {
  const log = options.log ?? (() => {});
  const every = options.every ?? soakInterval(options.steps);
  const bounds = options.bounds ?? DEFAULT_SOAK_BOUNDS;
  await loadVariants();
  const config = { ...benchConfigFile<Record<string, unknown>>('quick.json'), seed: options.seed ?? 0 };
  const results: SoakBackendResult[] = [];
  for (const name of options.backends) {
    const choice = await selectBackend(name);
    const model = createModel(config);
    const data = loadBenchData(model.inputShape, { batchSize: options.batchSize ?? 128, seed: options.seed ?? 0, trainLimit: options.trainLimit ?? 10_000, testLimit: 10 });
    const t0 = performance.now();
    const points: SoakPoint[] = [point(0, t0)];
    try {
      await fit(model, data.trainSource, {
        epochs: Number.MAX_SAFE_INTEGER,
        maxSteps: options.steps,
        progress: false,
        callbacks: [
          {
            onStepEnd: (info) => {
              if (info.step % every === 0 || info.step === options.steps) {
                const p = point(info.step, t0);
                points.push(p);
                log(`soak ${choice.name} step ${p.step}: ${p.numTensors} tensors, ${(p.numBytes / 2 ** 20).toFixed(2)} MiB in tensors, RSS ${(p.rss / 2 ** 20).toFixed(0)} MiB`);
              }
            },
          },
        ],
      });
    } finally {
      model.dispose();
    }
    const last = points[points.length - 1];
    results.push({
      backend: choice.name,
      steps: last.step,
      every,
      points,
      stepsPerSecond: last.step / Math.max(1e-9, last.seconds),
      ...soakVerdict(points, options.steps, bounds),
    });
  }
  return results;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** The run as a markdown table per backend. */
export function soakMarkdown(results: SoakBackendResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`## ${r.backend}: ${r.steps} steps, ${r.stepsPerSecond.toFixed(1)} steps/s, ${r.passed ? 'passed' : `FAILED (${r.failures.join('; ')})`}`, '');
    out.push(`Growth after step ${r.warmupStep}: ${r.growth.tensors} tensors, ${r.growth.bytes} tensor bytes, ${mib(r.growth.rssBytes)} MiB RSS.`, '');
    out.push('| step | seconds | tensors | tensor MiB | RSS MiB | heap MiB |', '|---:|---:|---:|---:|---:|---:|');
    for (const p of r.points) out.push(`| ${p.step} | ${p.seconds.toFixed(1)} | ${p.numTensors} | ${mib(p.numBytes)} | ${mib(p.rss)} | ${mib(p.heapUsed)} |`);
    out.push('');
  }
  return out.join('\n');
}

/** The points as CSV: backend, step, seconds, tensors, bytes, rss, heap. */
export function soakCsv(results: SoakBackendResult[]): string {
  const rows = ['backend,step,seconds,numTensors,numBytes,rss,heapUsed'];
  for (const r of results) for (const p of r.points) rows.push([r.backend, p.step, p.seconds.toFixed(3), p.numTensors, p.numBytes, p.rss, p.heapUsed].join(','));
  return `${rows.join('\n')}\n`;
}

/** A Vega-Lite spec of the run: tensors, tensor MiB and RSS MiB against the step, one line per backend. */
export function soakChartSpec(results: SoakBackendResult[]): Record<string, unknown> {
  const values = results.flatMap((r) =>
    r.points.flatMap((p) => [
      { backend: r.backend, step: p.step, metric: 'tensors', value: p.numTensors },
      { backend: r.backend, step: p.step, metric: 'tensor MiB', value: p.numBytes / 2 ** 20 },
      { backend: r.backend, step: p.step, metric: 'RSS MiB', value: p.rss / 2 ** 20 },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `soak: memory per step (${results.map((r) => `${r.backend} ${r.passed ? 'flat' : 'GROWS'}`).join(', ')})`,
    data: { values },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: ['tensors', 'tensor MiB', 'RSS MiB'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 560,
      height: 140,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'training step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'backend', type: 'nominal' },
      },
    },
  };
}

/** `elbo-bench soak --steps N [--backends native,wasm] [--every K] [--out DIR]`: exit 1 when memory grows after warm-up. */
export async function soakCommand(flags: Flags, log: (line: string) => void): Promise<number> {
  const steps = intFlag(flags, 'steps', 10_000, 1)!;
  const backends = (flags.backends ?? 'native,wasm').split(',').map((s) => s.trim()).filter(Boolean);
  if (backends.length === 0) throw new UsageError('--backends needs at least one backend (e.g. native,wasm)');
  const results = await runSoak({
    steps,
    every: intFlag(flags, 'every', soakInterval(steps), 1),
    backends,
    batchSize: intFlag(flags, 'batch-size', 128, 1),
    seed: intFlag(flags, 'seed', 0),
    trainLimit: intFlag(flags, 'train-limit', 10_000, 1),
    log,
  });
  const dir = flags.out ?? join(flags.runs ?? 'runs', flags.name ?? 'soak');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'soak.json'), `${JSON.stringify({ steps, backends: results }, null, 2)}\n`);
  writeFileSync(join(dir, 'soak.csv'), soakCsv(results));
  writeFileSync(join(dir, 'soak.md'), soakMarkdown(results));
  // The chart module (vega, resvg) loads only here, not for runSoak.
  const { renderChart } = await import('./charts/render');
  const chart = await renderChart(soakChartSpec(results) as never);
  writeFileSync(join(dir, 'soak.svg'), chart.svg);
  writeFileSync(join(dir, 'soak.png'), chart.png);
  for (const r of results) log(`${r.backend}: ${r.passed ? 'no growth' : r.failures.join('; ')} (${r.stepsPerSecond.toFixed(1)} steps/s)`);
  log(`wrote ${join(dir, 'soak.json')}, soak.csv, soak.md, soak.png, soak.svg`);
  return results.every((r) => r.passed) ? 0 : 1;
}
