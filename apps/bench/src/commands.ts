import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '@elbo/core';
import { selectBackend } from './backend';
import { loadBenchData } from './data';
import { loadVariants } from './discover';
import { backendLine, UsageError } from './errors';
import { evaluateModel } from './evaluate';
import { type Flags, intFlag, parseFlags, readJson, runOptions } from './flags';
import { writeImageGrid } from './png';
import { evalTable } from './report';
import { benchConfigFile, runSuite, SUITES } from './suites';
import { runThroughput } from './throughput';
import { REPRODUCE_COMMAND } from './reproduce/command';
import { SWEEP_COMMAND, WORKER_COMMAND } from './sweep/command';
import { benchContext, hooksOf, summarize, trainRun } from './train-run';

// Older imports of these helpers from './commands' keep working.
export { type Flags, intFlag, runOptions } from './flags';
export { summarize } from './train-run';

/** Runs a command: `rest` are the positional arguments after its name; returns the exit code. */
export type CommandRun = (flags: Flags, rest: string[], log: (line: string) => void) => Promise<number>;

export interface Command {
  /** Arguments shown in --help after the name (e.g. '--config FILE'). */
  args?: string;
  /** One line (or more) for --help. */
  description: string;
  run: CommandRun;
  /** Check the arguments before a backend is started (bad input fails fast). */
  check?: (flags: Flags, rest: string[]) => void;
  /** Positional arguments it takes (default none). */
  positionals?: boolean;
  /** Activate a backend (--backend) before running (default true). */
  backend?: boolean;
}

/** The PyTorch examples/vae model: 784-400-20, ReLU, Bernoulli likelihood on [0, 1] pixels (apps/bench/configs/quick.json). */
export const QUICK_CONFIG: Record<string, unknown> = benchConfigFile('quick.json');

const quick: CommandRun = async (flags, _rest, log) => {
  const fast = ['native', 'tensorflow'].includes(tf.getBackend());
  // With a fast backend: the reference run (10 epochs of full MNIST, as PyTorch's example); otherwise a shorter run that still finishes in minutes.
  const defaults = fast ? { name: 'quick', epochs: 10 } : { name: 'quick', epochs: 1, trainLimit: 5000 };
  if (!fast) log(`note: backend ${tf.getBackend()} is slow; quick trains 1 epoch on 5,000 images (use --backend native for the full 10-epoch run)`);
  const report = await trainRun({ ...QUICK_CONFIG, seed: intFlag(flags, 'seed', 0) }, runOptions(flags, defaults, log));
  log(summarize(report));
  log(`wrote ${join(flags.runs ?? 'runs', report.name)}/ (${report.files.join(', ')}, metrics.json, report.md)`);
  return 0;
};

const train: CommandRun = async (flags, _rest, log) => {
  if (!flags.config) throw new UsageError('train needs --config FILE (a model config JSON, e.g. {"variant":"<name>","inputShape":[784],"latentDim":20})');
  const config = readJson(flags.config, 'config file') as Record<string, unknown>;
  const name = flags.name ?? String(config.variant ?? 'run');
  const report = await trainRun({ seed: intFlag(flags, 'seed', 0), ...config }, runOptions(flags, { name, epochs: 10 }, log));
  log(summarize(report));
  return 0;
};

/** `sample` and `eval`: a saved model, with its variant's bench hooks (conditions, metrics, pictures). */
function savedModelCommand(kind: 'sample' | 'eval'): CommandRun {
  return async (flags, _rest, log) => {
    if (!flags.model) throw new UsageError(`${kind} needs --model DIR (a saved model, e.g. runs/quick/model)`);
    if (!existsSync(join(flags.model, 'model.json'))) throw new UsageError(`no saved model at ${flags.model} (expected ${join(flags.model, 'model.json')})`);
    await loadVariants();
    const model = await loadModel(flags.model);
    const seed = intFlag(flags, 'seed', 0)!;
    try {
      model.eval();
      const hooks = hooksOf(model.variant);
      const data = loadBenchData(model.inputShape, {
        batchSize: 250,
        seed,
        testLimit: intFlag(flags, 'test-limit', undefined, 10),
        mnistDir: flags['mnist-dir'],
        conditions: hooks.conditions,
      });
      if (kind === 'sample') {
        const n = intFlag(flags, 'n', 64, 1)!;
        const out = flags.out ?? join(flags.model, '..', 'samples-cli.png');
        const s = tf.tidy(() => model.sample(n));
        writeImageGrid(out, s, Math.ceil(Math.sqrt(n)), data.imageShape);
        s.dispose();
        log(`wrote ${n} samples to ${out}`);
        if (hooks.pictures) {
          const files = await hooks.pictures(model, benchContext(data, dirname(out), { seed, epochs: 0, log, training: false }));
          log(`wrote ${files.join(', ')} to ${dirname(out)}`);
        }
        return 0;
      }
      const x = data.testImages();
      const condition = data.testConditions();
      const out = flags.out ?? join(flags.model, '..', 'eval.json');
      const result = await evaluateModel(model, x, { nllSamples: intFlag(flags, 'nll-samples', 0), fidSamples: intFlag(flags, 'fid-samples', 0), seed, condition });
      tf.dispose([x, condition].filter((t): t is tf.Tensor => t !== undefined));
      model.eval();
      if (hooks.metrics) result.variant = await hooks.metrics(model, benchContext(data, dirname(out), { seed, epochs: 0, log, training: false }));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
      log(evalTable(result, model.variant));
      log(`wrote ${out}`);
      return 0;
    } finally {
      model.dispose();
    }
  };
}

/**
 * The bench's commands, in --help order. A new command is one entry here (its module exports a
 * `Command` or a `CommandRun`; its options go in OPTIONS in flags.ts).
 */
export const COMMANDS: Record<string, Command> = {
  quick: { description: 'MLP VAE (784-400-20, Bernoulli) on real MNIST: test ELBO, MSE, KL, active units, samples/s', run: quick },
  train: { args: '--config FILE', description: 'train any registered variant from a JSON config (resume with --resume DIR)', run: train },
  sample: { args: '--model DIR', description: "write a PNG grid of samples from a saved model (and its variant's pictures)", run: savedModelCommand('sample') },
  eval: { args: '--model DIR', description: "evaluate a saved model on the MNIST test set (and its variant's metrics)", run: savedModelCommand('eval') },
  suite: {
    args: 'NAME',
    description: `${Object.keys(SUITES).join(' | ')} (variants: every registered variant, or --variants a,b)`,
    positionals: true,
    check: (_flags, rest) => {
      if (rest.length !== 1 || !(rest[0] in SUITES)) throw new UsageError(`unknown suite ${JSON.stringify(rest.join(' '))} (suites: ${Object.keys(SUITES).join(', ')})`);
    },
    run: (flags, rest, log) => runSuite(rest[0], flags, log),
  },
  throughput: {
    description: `samples/s per model and backend (--reference pytorch to run PyTorch side by side;
                             --browser: in headless Chromium per backend, --backends webgpu,webgl,wasm,cpu)`,
    backend: false,
    run: (flags, _rest, log) => runThroughput(flags, log),
  },
  soak: { args: '--steps N', description: 'train the quick MLP VAE N steps per backend (--backends native,wasm; --every K): tf.memory() and RSS curve, exit 1 if they grow', backend: false, run: async (flags, _rest, log) => (await import('./soak')).soakCommand(flags, log) },
  reproduce: REPRODUCE_COMMAND,
  sweep: SWEEP_COMMAND,
  worker: WORKER_COMMAND,
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => {
    const head = `${name} ${c.args ?? ''}`;
    return `  ${head.length < 27 ? head.padEnd(27) : `${head}\n${' '.repeat(29)}`}${c.description}`;
  });
  return `usage: elbo-bench <command> [options]

commands:
${lines.join('\n')}

common options:
  --epochs N  --batch-size N  --lr X  --train-limit N  --test-limit N  --seed N
  --backend auto|native|cpu|wasm|tensorflow  --runs DIR (default runs)  --name NAME  --mnist-dir DIR
  --nll-samples K  --fid-samples N  --no-progress  --verbose (stack traces, why a backend was skipped)
throughput options: --backends LIST  --reference pytorch  --steps N (timed, default 20)  --warmup N (untimed, default 10)`;
}

export const USAGE = usage();

export async function runCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const [name, ...rest] = positionals;
  if (flags.help || name === undefined || name === 'help') {
    log(usage());
    return name === undefined && !flags.help ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  if (!command.positionals && rest.length > 0) throw new UsageError(`unexpected argument(s) ${rest.map((r) => `"${r}"`).join(' ')} for ${name}`);
  command.check?.(flags, rest);
  if (command.backend !== false) {
    const backend = await selectBackend(flags.backend ?? 'auto');
    log(backendLine(backend));
  }
  return command.run(flags, rest, log);
}
