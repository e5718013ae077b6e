import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BaseModelConfig, type Callback, createModel, type EpochLog, fit, type GenerativeModel, saveModel } from '@elbo/core';
import { loadBenchData } from './data';
import { type EvalOptions, type EvalResult, evaluateModel } from './evaluate';
import { writeImageGrid, writeLinePlot } from './png';
import { loadVariants } from './variants';

export interface TrainRunOptions {
  /** Run name: results go to `<runsDir>/<name>/`. */
  name: string;
  runsDir: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  trainLimit?: number;
  testLimit?: number;
  mnistDir?: string;
  binarize?: 'none' | 'dynamic';
  /** Resume from this checkpoint directory. */
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

/** Build a registered variant from a config. */
export async function buildModel(config: unknown): Promise<GenerativeModel> {
  await loadVariants();
  // A bad config throws ConfigError (an InputError), which the CLI reports in one line; its message lists the registered variants.
  return createModel(config);
}

/** Train a model on real MNIST, evaluate it, and write the run directory. */
export async function trainRun(config: unknown, options: TrainRunOptions): Promise<RunReport> {
  const model = await buildModel(config);
  try {
    const dir = join(options.runsDir, options.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
    const data = loadBenchData(model.inputShape, {
      batchSize: options.batchSize,
      seed: model.config.seed ?? 0,
      trainLimit: options.trainLimit,
      testLimit: options.testLimit,
      mnistDir: options.mnistDir,
      binarize: options.binarize,
    });
    options.log(
      `${model.variant}: ${model.numParameters().toLocaleString('en-US')} parameters; ${data.train.count} train / ${data.test.count} test images; backend ${tf.getBackend()}`,
    );
    const started = performance.now();
    const result = await fit(model, data.trainSource, {
      epochs: options.epochs,
      learningRate: options.learningRate,
      progress: options.progress,
      metricsLog: join(dir, 'metrics.jsonl'),
      checkpoint: { dir: join(dir, 'checkpoint'), everyEpochs: 1, everySteps: options.checkpointEverySteps },
      resume: options.resume,
      callbacks: options.callbacks,
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const trainedSamples = result.history.reduce((s, h) => s + h.samplesPerSecond * h.seconds, 0);
    const seconds = result.history.reduce((s, h) => s + h.seconds, 0);
    const x = data.testImages();
    const evaluation = await evaluateModel(model, x, options.evaluation);
    const files = writePictures(model, x, dir);
    x.dispose();
    await saveModel(model, join(dir, 'model'));
    const report: RunReport = {
      name: options.name,
      variant: model.variant,
      config: model.config,
      backend: tf.getBackend(),
      parameters: model.numParameters(),
      epochs: result.epochs,
      steps: result.steps,
      trainSeconds,
      samplesPerSecond: seconds > 0 ? trainedSamples / seconds : 0,
      history: result.history,
      evaluation,
      files,
    };
    const curve = writeLinePlot(join(dir, 'loss-curve.png'), [
      { values: result.history.map((h) => h.train.loss), color: [31, 119, 180] },
    ]);
    files.push('loss-curve.png');
    writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(dir, 'report.md'), markdownReport(report, curve));
    return report;
  } finally {
    model.dispose();
  }
}

/** Samples, reconstructions, interpolations and latent traversals as PNG grids. */
export function writePictures(model: GenerativeModel, x: tf.Tensor, dir: string): string[] {
  const shape = [28, 28, 1];
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
    return tf.concat([orig, model.reconstruct(orig)]);
  }, n);
  if (x.shape[0] >= 10) {
    grid('interpolations.png', () => {
      const rows: tf.Tensor[] = [];
      for (let r = 0; r < 5; r++) rows.push(model.interpolate(tf.slice(x, 2 * r, 1), tf.slice(x, 2 * r + 1, 1), 10));
      return tf.concat(rows);
    }, 10);
  }
  const traverse = (model as { traverse?: (d: number, v: number[]) => tf.Tensor }).traverse;
  const latentDim = model.config.latentDim;
  if (typeof traverse === 'function' && typeof latentDim === 'number') {
    const dims = Math.min(latentDim, 10);
    const values = Array.from({ length: 9 }, (_, i) => -3 + (6 * i) / 8);
    grid('traversals.png', () => tf.concat(Array.from({ length: dims }, (_, d) => traverse.call(model, d, values))), 9);
  }
  return files;
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

function markdownReport(r: RunReport, curve: { min: number; max: number }): string {
  const e = r.evaluation;
  const rows: Array<[string, string]> = [
    ['test -ELBO (nats/example)', fmt(e.terms.elbo !== undefined ? -e.terms.elbo : undefined)],
    ['test loss (as trained)', fmt(e.terms.loss)],
    ['reconstruction term (nats)', fmt(e.terms.reconstruction)],
    ['KL (nats)', fmt(e.terms.kl)],
    ['reconstruction MSE (per pixel)', fmt(e.reconstructionMse, 5)],
    ['reconstruction SSIM', fmt(e.reconstructionSsim, 4)],
    ['active units', e.activeUnits === undefined ? 'n/a' : String(e.activeUnits)],
    ['NLL (importance sampled, nats)', fmt(e.nll)],
    ['FID (MNIST classifier)', fmt(e.fid)],
    ['train samples/s', fmt(r.samplesPerSecond, 0)],
    ['backend', r.backend],
    ['parameters', r.parameters.toLocaleString('en-US')],
  ];
  return [
    `# ${r.name}`,
    '',
    `Variant \`${r.variant}\`, ${r.epochs} epoch(s), ${r.steps} steps, ${r.trainSeconds.toFixed(1)} s of training.`,
    '',
    '| metric | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `Loss per epoch (train, ${fmt(curve.min)} to ${fmt(curve.max)} nats): ![loss](loss-curve.png)`,
    '',
    ...r.files.filter((f) => f !== 'loss-curve.png').map((f) => `![${f}](${f})`),
    '',
    '```json',
    JSON.stringify(r.config, null, 2),
    '```',
    '',
  ].join('\n');
}
