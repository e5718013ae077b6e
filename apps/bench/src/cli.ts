#!/usr/bin/env node
import { type ErrorContext, internalErrorReport, setVerbose, userErrorLine } from './errors';
import { runCommand } from './commands';
import { setProgress } from './report-progress';

/** The value of `--name VALUE` or `--name=VALUE` in argv, to say where an error came from. */
function flagValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}

/**
 * elbo-bench: the project's main job. `quick` trains the MLP VAE on real
 * MNIST and prints its numbers; `train`, `sample`, `eval`, `suite` and
 * `throughput` cover the rest. An error caused by the input (a bad flag or
 * config, a missing or malformed file, an unknown backend or variant) prints
 * one line and exits with 2; an internal error prints its stack and exits with 1.
 * `--verbose` adds stack traces and the backend choice's reasons.
 */
async function main(argv: string[]): Promise<number> {
  // `pnpm bench ...` runs this in apps/bench; relative paths (--config, --runs, --model) mean the user's directory.
  if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  const verbose = argv.includes('--verbose');
  setVerbose(verbose);
  const args = argv.filter((a) => a !== '--verbose');
  setProgress(!args.includes('--no-progress'));
  const ctx: ErrorContext = { config: flagValue(args, 'config'), model: flagValue(args, 'model') ?? flagValue(args, 'resume'), mnistDir: flagValue(args, 'mnist-dir') };
  try {
    return await runCommand(args, (line) => console.log(line));
  } catch (e) {
    const line = userErrorLine(e, ctx);
    if (line !== undefined) {
      console.error(line);
      if (verbose && e instanceof Error && e.stack) console.error(e.stack);
      return 2;
    }
    console.error(internalErrorReport(e));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
