import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { NativeAdamOptimizer } from '../adam';
import { type BenchModelName, buildBenchModel, DEFAULT_BATCH, negativeElbo } from './models';

export interface ThroughputOptions {
  model: BenchModelName;
  /** A registered tfjs backend name ('cpu', 'native', ...). */
  backend: string;
  batchSize?: number;
  /** Timed training steps (default 20). */
  steps?: number;
  /** Untimed steps first (default 3). */
  warmup?: number;
  seed?: number;
  /** 'tfjs' (tf.train.adam, default) or 'native' (NativeAdamOptimizer: one fused pass per variable). */
  optimizer?: 'tfjs' | 'native';
}

export interface ThroughputResult {
  model: BenchModelName;
  backend: string;
  batchSize: number;
  steps: number;
  optimizer: 'tfjs' | 'native';
  samplesPerSec: number;
  msPerStep: number;
  /** Loss after the last timed step (a sanity check that training ran). */
  finalLoss: number;
}

/**
 * Train one of the models with a plain tfjs Adam loop (lr 1e-3) on
 * seeded random data in [0, 1] and time it. The backend is switched with
 * tf.setBackend and left as it was found.
 */
export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH[options.model];
  const steps = options.steps ?? 20;
  const warmup = options.warmup ?? 3;
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`measureThroughput: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`measureThroughput: warmup must be a non-negative integer, got ${warmup}`);
  const previous = tf.getBackend();
  if (!(await tf.setBackend(options.backend))) throw new Error(`measureThroughput: backend '${options.backend}' could not be initialised`);
  const rng = new Rng(options.seed ?? 0);
  const model = buildBenchModel(options.model, rng.nextUint32(), batchSize);
  const optimizerKind = options.optimizer ?? 'tfjs';
  if (optimizerKind !== 'tfjs' && optimizerKind !== 'native') {
    throw new Error(`measureThroughput: optimizer must be 'tfjs' or 'native', got ${String(optimizerKind)}`);
  }
  const optimizer = optimizerKind === 'native' ? new NativeAdamOptimizer(1e-3) : tf.train.adam(1e-3);
  const data = tf.randomUniform(model.inputShape, 0, 1, 'float32', rng.nextSeed());
  const vars = model.variables();
  const step = (): tf.Scalar => optimizer.minimize(() => negativeElbo(model, data, rng), true, vars) as tf.Scalar;
  try {
    for (let i = 0; i < warmup; i++) step().dispose();
    let last: tf.Scalar | null = null;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      last?.dispose();
      last = step();
    }
    const finalLoss = (last as tf.Scalar).dataSync()[0];
    const ms = performance.now() - t0;
    last?.dispose();
    return {
      model: options.model,
      backend: options.backend,
      batchSize,
      steps,
      optimizer: optimizerKind,
      samplesPerSec: (steps * batchSize * 1000) / ms,
      msPerStep: ms / steps,
      finalLoss,
    };
  } finally {
    optimizer.dispose();
    data.dispose();
    model.dispose();
    if (previous) await tf.setBackend(previous);
  }
}

export interface KernelProfileRow {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

/**
 * Time every kernel of `steps` training steps (tf.profile) after `warmup`
 * untimed ones and sum by kernel name, largest first; `calls`, `ms` and
 * `wallMs` are per step. `share` is the fraction of the summed kernel time.
 * One step right after one warm-up (the defaults) still runs cold JIT code;
 * e.g. warmup 30, steps 30 gives the steady state.
 */
export async function profileTrainingStep(options: ThroughputOptions): Promise<{ rows: KernelProfileRow[]; wallMs: number }> {
  const steps = options.steps ?? 1;
  const warmup = options.warmup ?? 1;
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`profileTrainingStep: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`profileTrainingStep: warmup must be a non-negative integer, got ${warmup}`);
  const batchSize = options.batchSize ?? DEFAULT_BATCH[options.model];
  const previous = tf.getBackend();
  if (!(await tf.setBackend(options.backend))) throw new Error(`profileTrainingStep: backend '${options.backend}' could not be initialised`);
  const rng = new Rng(options.seed ?? 0);
  const model = buildBenchModel(options.model, rng.nextUint32(), batchSize);
  const optimizer = options.optimizer === 'native' ? new NativeAdamOptimizer(1e-3) : tf.train.adam(1e-3);
  const data = tf.randomUniform(model.inputShape, 0, 1, 'float32', rng.nextSeed());
  const vars = model.variables();
  try {
    for (let i = 0; i < warmup; i++) optimizer.minimize(() => negativeElbo(model, data, rng), false, vars);
    const t0 = performance.now();
    const info = await tf.profile(() => {
      for (let i = 0; i < steps; i++) optimizer.minimize(() => negativeElbo(model, data, rng), false, vars);
    });
    const wallMs = (performance.now() - t0) / steps;
    const byName = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      byName.set(k.name, e);
    }
    const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
    const rows = [...byName.entries()]
      .map(([kernel, e]) => ({ kernel, calls: e.calls / steps, ms: e.ms / steps, share: total > 0 ? e.ms / total : 0 }))
      .sort((a, b) => b.ms - a.ms);
    return { rows, wallMs };
  } finally {
    optimizer.dispose();
    data.dispose();
    model.dispose();
    if (previous) await tf.setBackend(previous);
  }
}
