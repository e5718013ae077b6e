import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '@elbo/core';
import { selectBackend } from './backend';
import { loadBenchData } from './data';
import { UsageError } from './errors';
import { evaluateModel } from './evaluate';
import { writeImageGrid } from './png';
import { runSuite, SUITES } from './suites';
import { runThroughput } from './throughput';
import { type RunReport, type TrainRunOptions, trainRun } from './train-run';
import { loadVariants } from './variants';

export const USAGE = `usage: elbo-bench <command> [options]

commands:
  quick                      MLP VAE (784-400-20, Bernoulli) on real MNIST: test ELBO, MSE, KL, active units, samples/s
  train --config FILE        train any registered variant from a JSON config (resume with --resume DIR)
  sample --model DIR         write a PNG grid of samples from a saved model
  eval --model DIR           evaluate a saved model on the MNIST test set
  suite NAME                 ${Object.keys(SUITES).join(' | ')}
  throughput                 samples/s per model and backend (--reference pytorch to run PyTorch side by side;
                             --browser: in headless Chromium per backend, --backends webgpu,webgl,wasm,cpu)

common options:
  --epochs N  --batch-size N  --lr X  --train-limit N  --test-limit N  --seed N
  --backend auto|native|cpu|wasm|tensorflow  --runs DIR (default runs)  --name NAME  --mnist-dir DIR
  --nll-samples K  --fid-samples N  --no-progress
throughput options: --backends LIST  --reference pytorch  --steps N (timed, default 20)  --warmup N (untimed, default 10)`;

const OPTIONS = {
  config: { type: 'string' },
  model: { type: 'string' },
  resume: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'train-limit': { type: 'string' },
  'test-limit': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  runs: { type: 'string', default: 'runs' },
  name: { type: 'string' },
  'mnist-dir': { type: 'string' },
  'nll-samples': { type: 'string' },
  'fid-samples': { type: 'string' },
  binarize: { type: 'string' },
  n: { type: 'string' },
  out: { type: 'string' },
  reference: { type: 'string' },
  backends: { type: 'string' },
  steps: { type: 'string' },
  warmup: { type: 'string' },
  browser: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see elbo-bench --help)`);
  }
}

/** A non-negative integer flag, or the default. */
export function intFlag(flags: Flags, name: keyof Flags, fallback: number | undefined, min = 0): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${String(name)} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function numberFlag(flags: Flags, name: keyof Flags, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${String(name)} must be a positive number, got ${JSON.stringify(raw)}`);
  return v;
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Options shared by every training command, from the flags. */
export function runOptions(flags: Flags, defaults: { name: string; epochs: number; batchSize?: number; lr?: number; trainLimit?: number; testLimit?: number }, log: (l: string) => void): TrainRunOptions {
  const binarize = flags.binarize ?? 'none';
  if (binarize !== 'none' && binarize !== 'dynamic') throw new UsageError(`--binarize must be none or dynamic, got ${JSON.stringify(binarize)}`);
  return {
    name: flags.name ?? defaults.name,
    runsDir: flags.runs ?? 'runs',
    epochs: intFlag(flags, 'epochs', defaults.epochs, 1)!,
    batchSize: intFlag(flags, 'batch-size', defaults.batchSize ?? 128, 1)!,
    learningRate: numberFlag(flags, 'lr', defaults.lr ?? 1e-3),
    trainLimit: intFlag(flags, 'train-limit', defaults.trainLimit, 1),
    testLimit: intFlag(flags, 'test-limit', defaults.testLimit, 10),
    mnistDir: flags['mnist-dir'],
    binarize,
    resume: flags.resume,
    backend: flags.backend ?? 'auto',
    evaluation: {
      nllSamples: intFlag(flags, 'nll-samples', 0),
      fidSamples: intFlag(flags, 'fid-samples', 0),
    },
    progress: !flags['no-progress'],
    log,
  };
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

/** The PyTorch examples/vae model: 784-400-20, ReLU, Bernoulli likelihood on [0, 1] pixels. */
export const QUICK_CONFIG = { variant: 'vae', architecture: 'mlp', inputDim: 784, hiddenDim: 400, mlpLayers: 1, latentDim: 20, likelihood: 'bernoulli', beta: 1 };

export async function runCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values: flags, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (flags.help || command === undefined || command === 'help') {
    log(USAGE);
    return command === undefined && !flags.help ? 2 : 0;
  }
  const known = ['quick', 'train', 'sample', 'eval', 'suite', 'throughput'];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}" (commands: ${known.join(', ')})`);
  if (command !== 'suite' && rest.length > 0) throw new UsageError(`unexpected argument(s) ${rest.map((r) => `"${r}"`).join(' ')} for ${command}`);
  if (command === 'suite') {
    const name = rest[0];
    if (!name || !(name in SUITES)) throw new UsageError(`unknown suite ${JSON.stringify(name ?? '')} (suites: ${Object.keys(SUITES).join(', ')})`);
  }
  if (command === 'throughput') return runThroughput(flags, log);

  const backend = await selectBackend(flags.backend ?? 'auto');
  log(`backend: ${backend.name}${backend.reason ? ` (${backend.reason})` : ''}`);
  const fast = backend.name === 'native' || backend.name === 'tensorflow';
  const seed = intFlag(flags, 'seed', 0)!;

  if (command === 'quick') {
    // With a fast backend: the reference run (10 epochs of full MNIST, as PyTorch's example); otherwise a shorter run that still finishes in minutes.
    const defaults = fast ? { name: 'quick', epochs: 10 } : { name: 'quick', epochs: 1, trainLimit: 5000 };
    if (!fast) log(`note: backend ${backend.name} is slow; quick trains 1 epoch on 5,000 images (use --backend native for the full 10-epoch run)`);
    const report = await trainRun({ ...QUICK_CONFIG, seed }, runOptions(flags, defaults, log));
    log(summarize(report));
    log(`wrote ${join(flags.runs ?? 'runs', report.name)}/ (${report.files.join(', ')}, metrics.json, report.md)`);
    return 0;
  }
  if (command === 'train') {
    if (!flags.config) throw new UsageError('train needs --config FILE (a model config JSON, e.g. {"variant":"vae","inputDim":784,"latentDim":20})');
    const config = readJson(flags.config, 'config file') as Record<string, unknown>;
    const name = flags.name ?? String(config.variant ?? 'run');
    const report = await trainRun({ seed, ...config }, runOptions(flags, { name, epochs: 10 }, log));
    log(summarize(report));
    return 0;
  }
  if (command === 'sample' || command === 'eval') {
    if (!flags.model) throw new UsageError(`${command} needs --model DIR (a saved model, e.g. runs/quick/model)`);
    if (!existsSync(join(flags.model, 'model.json'))) throw new UsageError(`no saved model at ${flags.model} (expected ${join(flags.model, 'model.json')})`);
    await loadVariants();
    const model = await loadModel(flags.model);
    try {
      model.eval();
      if (command === 'sample') {
        const n = intFlag(flags, 'n', 64, 1)!;
        const out = flags.out ?? join(flags.model, '..', 'samples-cli.png');
        const s = tf.tidy(() => model.sample(n));
        writeImageGrid(out, s, Math.ceil(Math.sqrt(n)), [28, 28, 1]);
        s.dispose();
        log(`wrote ${n} samples to ${out}`);
        return 0;
      }
      const data = loadBenchData(model.inputShape, { batchSize: 250, seed, testLimit: intFlag(flags, 'test-limit', undefined, 10), mnistDir: flags['mnist-dir'] });
      const x = data.testImages();
      const result = await evaluateModel(model, x, { nllSamples: intFlag(flags, 'nll-samples', 0), fidSamples: intFlag(flags, 'fid-samples', 0), seed });
      x.dispose();
      const out = flags.out ?? join(flags.model, '..', 'eval.json');
      mkdirSync(join(out, '..'), { recursive: true });
      writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
      log(JSON.stringify(result));
      return 0;
    } finally {
      model.dispose();
    }
  }
  return runSuite(rest[0], flags, log);
}
