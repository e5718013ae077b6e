import * as tf from '@tensorflow/tfjs-core';
import { type Callback, createOptimizer } from '@elbo/core';
import { type BenchModelName, buildBenchModel, DEFAULT_BATCH, randomSource } from './models';
import { measureFitThroughput } from './product';

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

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
  /** 'tfjs' (tf.train.adam, default) or 'native' (@elbo/core's Adam, which runs the native fused update: one pass per variable). */
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

function checkCounts(who: string, steps: number, warmup: number): void {
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`${who}: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`${who}: warmup must be a non-negative integer, got ${warmup}`);
}

/** A bare minimisation step: tf.train.adam, or @elbo/core's Adam (on 'native' its registered fused update). */
interface LoopOptimizer {
  /** One update of `vars` on `loss`; returns the loss when `keepLoss`, else null. */
  minimize(loss: () => tf.Scalar, vars: tf.Variable[], keepLoss: boolean): tf.Scalar | null;
  dispose(): void;
}

function loopOptimizer(kind: 'tfjs' | 'native' | undefined, vars: tf.Variable[]): LoopOptimizer {
  if (kind !== 'native') {
    const adam = tf.train.adam(1e-3);
    return { minimize: (loss, vars, keepLoss) => adam.minimize(loss, keepLoss, vars) as tf.Scalar | null, dispose: () => adam.dispose() };
  }
  const adam = createOptimizer({ kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, 1e-3);
  // Its moments are made now, so the first profiled step runs only what every step runs.
  adam.init(vars);
  return {
    minimize(loss, vars, keepLoss) {
      const { value, grads } = tf.variableGrads(loss, vars);
      adam.apply(vars, vars.map((v) => grads[v.name]));
      tf.dispose(Object.values(grads));
      if (keepLoss) return value;
      value.dispose();
      return null;
    },
    dispose: () => adam.dispose(),
  };
}

/**
 * Kernel microbenchmark: a throughput model (createModel) trained by a bare
 * `optimizer.minimize(() => model.loss(batch).loss)` loop on one fixed
 * batch of seeded random inputs, without fit. Set against
 * `measureFitThroughput` (the product path) it shows what the trainer and
 * the data pipeline cost. The backend is switched with tf.setBackend and
 * left as it was found.
 */
export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH[options.model];
  const steps = options.steps ?? 20;
  const warmup = options.warmup ?? 3;
  checkCounts('measureThroughput', steps, warmup);
  const optimizerKind = options.optimizer ?? 'tfjs';
  if (optimizerKind !== 'tfjs' && optimizerKind !== 'native') {
    throw new Error(`measureThroughput: optimizer must be 'tfjs' or 'native', got ${String(optimizerKind)}`);
  }
  const previous = tf.getBackend();
  if (!(await tf.setBackend(options.backend))) throw new Error(`measureThroughput: backend '${options.backend}' could not be initialised`);
  const model = buildBenchModel(options.model, options.seed ?? 0);
  const [batch] = randomSource(options.model, batchSize, options.seed ?? 0, 1).batches(0);
  const vars = model.parameters();
  const optimizer = loopOptimizer(optimizerKind, vars);
  const step = (): tf.Scalar => optimizer.minimize(() => model.loss(batch).loss, vars, true) as tf.Scalar;
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
    return { model: options.model, backend: options.backend, batchSize, steps, optimizer: optimizerKind, samplesPerSec: (steps * batchSize * 1000) / ms, msPerStep: ms / steps, finalLoss };
  } finally {
    optimizer.dispose();
    batch.x.dispose();
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

/** The options of `measureThroughput`, here profiling `steps` steps (default 1) after `warmup` (default 1). */
export interface ProfileOptions extends ThroughputOptions {
  /**
   * 'fit' (default): the product path, createModel + fit, trainer kernels
   * included; 'loop': the bare minimize loop of `measureThroughput`.
   */
  path?: 'fit' | 'loop';
}

/**
 * Time every kernel of `steps` training steps (tf.profile) after `warmup`
 * untimed ones and sum by kernel name, largest first; `calls`, `ms` and
 * `wallMs` are per step. `share` is the fraction of the summed kernel time;
 * `kernelShare` is the summed kernel time over the wall time (the rest is
 * JavaScript between kernels: tape, tidy, trainer). Inputs are seeded random.
 * One step right after one warm-up (the defaults) still runs cold JIT code;
 * e.g. warmup 30, steps 30 gives the steady state.
 */
export async function profileTrainingStep(options: ProfileOptions): Promise<{ rows: KernelProfileRow[]; wallMs: number; kernelShare: number }> {
  const steps = options.steps ?? 1;
  const warmup = options.warmup ?? 1;
  checkCounts('profileTrainingStep', steps, warmup);
  const batchSize = options.batchSize ?? DEFAULT_BATCH[options.model];
  const previous = tf.getBackend();
  if (!(await tf.setBackend(options.backend))) throw new Error(`profileTrainingStep: backend '${options.backend}' could not be initialised`);
  const byName = new Map<string, { calls: number; ms: number }>();
  let wallMs = 0;
  const collect = (info: ProfileInfo) => {
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      byName.set(k.name, e);
    }
  };
  try {
    if ((options.path ?? 'fit') === 'fit') {
      // One fit call: warm-up steps untimed, then every step after it profiled up to fit's return.
      let profiling: Promise<ProfileInfo> | null = null;
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let t0 = 0;
      const start: Callback = {
        onStepEnd(info) {
          if (info.step === warmup) {
            t0 = performance.now();
            // tf.profile records the kernels run while its function is pending; the function waits for fit.
            profiling = tf.profile(() => held.then(() => tf.scalar(0)));
          }
        },
        onTrainBegin() {
          if (warmup === 0) {
            t0 = performance.now();
            profiling = tf.profile(() => held.then(() => tf.scalar(0)));
          }
        },
      };
      await measureFitThroughput({ model: options.model, source: (b) => randomSource(options.model, b, options.seed ?? 0), batchSize, steps, warmup, seed: options.seed, callbacks: [start] });
      wallMs = (performance.now() - t0) / steps;
      release();
      const info = await (profiling as unknown as Promise<ProfileInfo>);
      tf.dispose(info.result as tf.Tensor);
      collect(info);
    } else {
      const model = buildBenchModel(options.model, options.seed ?? 0);
      const [batch] = randomSource(options.model, batchSize, options.seed ?? 0, 1).batches(0);
      const vars = model.parameters();
      const optimizer = loopOptimizer(options.optimizer, vars);
      try {
        for (let i = 0; i < warmup; i++) optimizer.minimize(() => model.loss(batch).loss, vars, false);
        const t0 = performance.now();
        collect(
          await tf.profile(() => {
            for (let i = 0; i < steps; i++) optimizer.minimize(() => model.loss(batch).loss, vars, false);
          }),
        );
        wallMs = (performance.now() - t0) / steps;
      } finally {
        optimizer.dispose();
        batch.x.dispose();
        model.dispose();
      }
    }
    const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
    const rows = [...byName.entries()]
      .map(([kernel, e]) => ({ kernel, calls: e.calls / steps, ms: e.ms / steps, share: total > 0 ? e.ms / total : 0 }))
      .sort((a, b) => b.ms - a.ms);
    return { rows, wallMs, kernelShare: wallMs > 0 ? total / steps / wallMs : 0 };
  } finally {
    if (previous) await tf.setBackend(previous);
  }
}
