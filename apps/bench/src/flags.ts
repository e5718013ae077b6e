import { existsSync, readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors';
import type { TrainRunOptions } from './train-run';

/** The command line's options (every command's: a new command adds its own here, one line each). */
export const OPTIONS = {
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
  variants: { type: 'string' },
  n: { type: 'string' },
  out: { type: 'string' },
  reference: { type: 'string' },
  backends: { type: 'string' },
  steps: { type: 'string' },
  every: { type: 'string' },
  warmup: { type: 'string' },
  models: { type: 'string' },
  rounds: { type: 'string' },
  sweep: { type: 'string' },
  // reproduce
  'eval-every': { type: 'string' },
  'curve-samples': { type: 'string' },
  'curve-limit': { type: 'string' },
  'kl-weight': { type: 'string' },
  'tc-weight': { type: 'string' },
  ablate: { type: 'string' },
  // sweep and worker
  seeds: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  concurrency: { type: 'string' },
  queue: { type: 'string' },
  store: { type: 'string' },
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
  detach: { type: 'boolean', default: false },
  ipc: { type: 'boolean', default: false },
  browser: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

/** Parsed flags. */
export type Flags = ReturnType<typeof parse>['values'];

/** Parse the command line; an unknown option or a missing value is a usage error. */
export function parseFlags(argv: string[]): { flags: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parse(argv);
    return { flags: values, positionals };
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

/** A positive number flag, or the default. */
export function numberFlag(flags: Flags, name: keyof Flags, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${String(name)} must be a positive number, got ${JSON.stringify(raw)}`);
  return v;
}

/** A comma-separated list flag, or undefined. */
export function listFlag(flags: Flags, name: keyof Flags): string[] | undefined {
  const raw = flags[name];
  if (typeof raw !== 'string') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Parse a JSON file the user named; a missing or malformed file is a usage error. */
export function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Options shared by every training command, from the flags. */
export function runOptions(
  flags: Flags,
  defaults: { name: string; epochs: number; batchSize?: number; lr?: number; trainLimit?: number; testLimit?: number },
  log: (l: string) => void,
): TrainRunOptions {
  const binarize = flags.binarize;
  if (binarize !== undefined && binarize !== 'none' && binarize !== 'dynamic') throw new UsageError(`--binarize must be none or dynamic, got ${JSON.stringify(binarize)}`);
  return {
    name: flags.name ?? defaults.name,
    runsDir: flags.runs ?? 'runs',
    epochs: intFlag(flags, 'epochs', defaults.epochs, 1)!,
    batchSize: flags['batch-size'] === undefined ? undefined : intFlag(flags, 'batch-size', undefined, 1),
    defaultBatchSize: defaults.batchSize,
    learningRate: numberFlag(flags, 'lr', defaults.lr ?? 1e-3),
    trainLimit: intFlag(flags, 'train-limit', defaults.trainLimit, 1),
    testLimit: intFlag(flags, 'test-limit', defaults.testLimit, 10),
    mnistDir: flags['mnist-dir'],
    binarize: binarize as 'none' | 'dynamic' | undefined,
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
