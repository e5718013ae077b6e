#!/usr/bin/env node
import { UsageError } from './errors';
import { runCommand } from './commands';

/**
 * elbo-bench: the project's main job. `quick` trains the MLP VAE on real
 * MNIST and prints its numbers; `train`, `sample`, `eval`, `suite` and
 * `throughput` cover the rest. Bad input prints one line and exits with 2.
 */
async function main(argv: string[]): Promise<number> {
  // `pnpm bench ...` runs this in apps/bench; relative paths (--config, --runs, --model) mean the user's directory.
  if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  try {
    return await runCommand(argv, (line) => console.log(line));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`elbo-bench: ${e.message}`);
      return 2;
    }
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
