import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type BaseModelConfig,
  type BenchContext,
  type BenchPlan,
  type Callback,
  createModel,
  type EpochLog,
  fit,
  type GenerativeModel,
  getVariant,
  saveModel,
  type VariantBench,
} from '@elbo/core';
import { loadMnist } from '@elbo/datasets';
import { type MnistBenchData, loadBenchData } from './data';
import { loadVariants } from './discover';
import { benchMetrics, type EvalOptions, type EvalResult, evaluateModel } from './evaluate';
import { writeImageGrid } from './png';
import { writeRunReport } from './report';

export interface TrainRunOptions {
  /** Run name: results go to `<runsDir>/<name>/`. */
  name: string;
  runsDir: string;
  /** Epochs of each training phase. */
  epochs: number;
  /** Training batch size given by the user (overrides the variant's). */
  batchSize?: number;
  /** Batch size when neither the user nor the variant gives one (default 128). */
  defaultBatchSize?: number;
  learningRate: number;
  trainLimit?: number;
  testLimit?: number;
  mnistDir?: string;
  /** Binarisation given by the user (overrides the variant's; default 'none'). */
  binarize?: 'none' | 'dynamic';
  /** Resume the first training phase from this checkpoint directory. */
  resume?: string;
  /** Also checkpoint every N steps (mid-epoch), and extra trainer callbacks (the sweep's progress and abort). */
  checkpointEverySteps?: number;
  callbacks?: Callback[];
  backend: string;
  evaluation: EvalOptions;
  progress: boolean;
  log: (line: string) => void;
}

export interface RunReport {
  name: string;
  variant: string;
  config: BaseModelConfig;
  backend: string;
  parameters: number;
  epochs: number;
  steps: number;
  trainSeconds: number;
  samplesPerSecond: number;
  history: EpochLog[];
  evaluation: EvalResult;
  files: string[];
}

/** The bench hooks a variant registered (none: the generic path). */
export function hooksOf(variant: string): VariantBench {
  return getVariant(variant)?.bench ?? {};
}

/** Build a registered variant from a config. */
export async function buildModel(config: unknown): Promise<GenerativeModel> {
  await loadVariants();
  // A bad config throws ConfigError (an InputError), which the CLI reports in one line; its message lists the registered variants.
  return createModel(config);
}

/** One-line summary of a run's headline numbers. */
export function summarize(r: RunReport): string {
  const e = r.evaluation;
  const parts = [
    `test -ELBO ${e.terms.elbo !== undefined ? (-e.terms.elbo).toFixed(2) : 'n/a'} nats`,
    `recon MSE ${e.reconstructionMse.toFixed(5)}`,
    `KL ${e.terms.kl !== undefined ? e.terms.kl.toFixed(2) : 'n/a'}`,
    `active units ${e.activeUnits ?? 'n/a'}`,
    e.nll !== undefined ? `NLL ${e.nll.toFixed(2)}` : '',
    e.fid !== undefined ? `FID(MNIST clf) ${e.fid.toFixed(2)}` : '',
    `${r.samplesPerSecond.toFixed(0)} samples/s`,
    `backend ${r.backend}`,
  ];
  return parts.filter(Boolean).join(' | ');
}

/** Training examples per epoch for these options (the limit, or the whole MNIST training set). */
function trainCount(options: Pick<TrainRunOptions, 'trainLimit' | 'mnistDir'>): number {
  const full = loadMnist({ split: 'train', dir: options.mnistDir }).count;
  return Math.min(options.trainLimit ?? full, full);
}

/** What the bench knows before the model is built, for a variant's `config` / `completeConfig` hooks. */
export function benchPlan(options: TrainRunOptions, hooks: VariantBench, seed: number): BenchPlan {
  return { seed, epochs: options.epochs, trainCount: trainCount(options), batchSize: options.batchSize ?? hooks.batchSize ?? options.defaultBatchSize ?? 128 };
}

/** The context the variant's hooks get: data, PNG grids in `dir`, metrics, logger, and a trainer when training. */
export function benchContext(
  data: MnistBenchData,
  dir: string,
  options: { seed: number; epochs: number; learningRate?: number; log: (line: string) => void; training: boolean },
): BenchContext {
  const ctx: BenchContext = {
    data,
    seed: options.seed,
    epochs: options.epochs,
    log: options.log,
    writeGrid: (file, images, cols) => {
      writeImageGrid(join(dir, file), images, cols, data.imageShape);
      return file;
    },
    metrics: benchMetrics,
  };
  if (options.training) {
    ctx.train = async (model, o = {}) => {
      const started = performance.now();
      await fit(model, data.train({ batchSize: o.batchSize, binarize: o.binarize }), { epochs: options.epochs, learningRate: o.learningRate ?? options.learningRate, progress: false });
      return { seconds: (performance.now() - started) / 1000 };
    };
  }
  return ctx;
}

/**
 * Train a model on real MNIST, evaluate it, and write the run directory. The variant's bench
 * hooks (registered with @elbo/core) add data conditions, training phases, metrics and pictures.
 */
export async function trainRun(config: unknown, options: TrainRunOptions): Promise<RunReport> {
  await loadVariants();
  const requested = (config as { variant?: unknown } | null)?.variant;
  const hooks = typeof requested === 'string' ? hooksOf(requested) : {};
  const seed = ((config as { seed?: unknown }).seed as number | undefined) ?? 0;
  const completed = hooks.completeConfig ? hooks.completeConfig(config as Record<string, unknown>, benchPlan(options, hooks, seed)) : config;
  const model = await buildModel(completed);
  try {
    const dir = join(options.runsDir, options.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
    const binarize = options.binarize ?? hooks.binarize ?? 'none';
    const data = loadBenchData(model.inputShape, {
      batchSize: options.batchSize ?? hooks.batchSize ?? options.defaultBatchSize ?? 128,
      seed: model.config.seed ?? 0,
      trainLimit: options.trainLimit,
      testLimit: options.testLimit,
      mnistDir: options.mnistDir,
      binarize,
      conditions: hooks.conditions,
    });
    options.log(
      `${model.variant}: ${model.numParameters().toLocaleString('en-US')} parameters; ${data.trainSet.count} train / ${data.testSet.count} test images; backend ${tf.getBackend()}`,
    );
    const ctx = benchContext(data, dir, { seed: model.config.seed ?? 0, epochs: options.epochs, learningRate: options.learningRate, log: options.log, training: true });
    const phases = hooks.phases ?? [{ name: 'train' }];
    const history: EpochLog[] = [];
    let steps = 0;
    let epochs = 0;
    const started = performance.now();
    for (const [i, phase] of phases.entries()) {
      phase.enter?.(model);
      // The first phase keeps the plain file names (a one-phase run writes what it always wrote).
      const suffix = i === 0 ? '' : `-${phase.name}`;
      if (phases.length > 1) options.log(`${model.variant}: phase ${phase.name} (${model.numParameters().toLocaleString('en-US')} trainable parameters)`);
      const epochLog = hooks.epochLog;
      const result = await fit(model, data.trainSource, {
        epochs: options.epochs,
        learningRate: phase.learningRate ?? options.learningRate,
        progress: options.progress,
        metricsLog: join(dir, `metrics${suffix}.jsonl`),
        checkpoint: { dir: join(dir, `checkpoint${suffix}`), everyEpochs: 1, everySteps: options.checkpointEverySteps },
        resume: i === 0 ? options.resume : undefined,
        callbacks: [
          ...(options.callbacks ?? []),
          ...(epochLog ? [{ onEpochEnd: (log: EpochLog) => options.log(`${model.variant}: ${phase.name} epoch ${log.epoch + 1}: ${epochLog(model, ctx)}`) }] : []),
        ],
      });
      history.push(...result.history);
      steps += result.steps;
      epochs += result.epochs;
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const trainedSamples = history.reduce((s, h) => s + h.samplesPerSecond * h.seconds, 0);
    const seconds = history.reduce((s, h) => s + h.seconds, 0);
    const x = data.testImages();
    const condition = data.testConditions();
    const evaluation = await evaluateModel(model, x, { ...options.evaluation, condition });
    model.eval();
    if (hooks.metrics) evaluation.variant = await hooks.metrics(model, ctx);
    const files = writePictures(model, x, dir, condition);
    tf.dispose([x, condition].filter((t): t is tf.Tensor => t !== undefined));
    model.eval();
    if (hooks.pictures) files.push(...(await hooks.pictures(model, ctx)));
    await saveModel(model, join(dir, 'model'));
    const report: RunReport = {
      name: options.name,
      variant: model.variant,
      config: model.config,
      backend: tf.getBackend(),
      parameters: model.numParameters(),
      epochs,
      steps,
      trainSeconds,
      samplesPerSecond: seconds > 0 ? trainedSamples / seconds : 0,
      history,
      evaluation,
      files,
    };
    // Loss curves (SVG, PNG), report.md and a self-contained report.html.
    files.push(...(await writeRunReport(dir, report)));
    writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    model.dispose();
  }
}

/** Samples, reconstructions, interpolations and latent traversals as PNG grids. */
export function writePictures(model: GenerativeModel, x: tf.Tensor, dir: string, condition?: tf.Tensor): string[] {
  const shape = [28, 28, 1];
  // A conditional model reconstructs, interpolates and traverses under the examples' own conditions.
  const c = (start: number, size: number) => (condition ? tf.slice(condition, start, size) : undefined);
  const files: string[] = [];
  const grid = (file: string, make: () => tf.Tensor, cols: number) => {
    let t: tf.Tensor;
    try {
      t = tf.tidy(make);
    } catch (e) {
      // A variant without this operation (e.g. interpolation of discrete codes) gets no such picture.
      writeFileSync(join(dir, `${file}.skipped.txt`), `${(e as Error).message}\n`);
      return;
    }
    writeImageGrid(join(dir, file), t, cols, shape);
    t.dispose();
    files.push(file);
  };
  grid('samples.png', () => model.sample(64), 8);
  const n = Math.min(8, x.shape[0]);
  grid('reconstructions.png', () => {
    const orig = tf.slice(x, 0, n);
    return tf.concat([orig, model.reconstruct(orig, c(0, n))]);
  }, n);
  if (x.shape[0] >= 10) {
    grid('interpolations.png', () => {
      const rows: tf.Tensor[] = [];
      for (let r = 0; r < 5; r++) rows.push(model.interpolate(tf.slice(x, 2 * r, 1), tf.slice(x, 2 * r + 1, 1), 10, condition ? ({ condition: c(2 * r, 1) } as object) : undefined));
      return tf.concat(rows);
    }, 10);
  }
  const traverse = (model as { traverse?: (d: number, v: number[], base?: tf.Tensor, condition?: tf.Tensor) => tf.Tensor }).traverse;
  const latentDim = model.config.latentDim;
  if (typeof traverse === 'function' && typeof latentDim === 'number') {
    const dims = Math.min(latentDim, 10);
    const values = Array.from({ length: 9 }, (_, i) => -3 + (6 * i) / 8);
    grid('traversals.png', () => tf.concat(Array.from({ length: dims }, (_, d) => (condition ? traverse.call(model, d, values, undefined, c(0, 1)) : traverse.call(model, d, values)))), 9);
  }
  return files;
}
