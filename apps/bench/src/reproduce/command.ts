import type { Command } from '../commands';
import { knownProtocols, protocolByName, reproduceOptions, runReproduce } from './run';

/**
 * `elbo-bench reproduce NAME`: a published training protocol (protocols.ts)
 * run as written, or truncated to --epochs / --steps, over --seeds seeds,
 * resumed from its checkpoints when rerun; optionally beside the same protocol
 * in PyTorch (--reference pytorch).
 */
export const REPRODUCE_COMMAND: Command = {
  args: 'NAME',
  description: `train a published protocol and compare with the paper: ${knownProtocols()}
                             (--epochs N | --steps N, --seeds K, --reference pytorch, --nll-samples K, --test-limit N, --eval-every E,
                             --ablate '{"batchNorm":false}' to change the model's config;
                             rerun the same command to resume)`,
  positionals: true,
  check: (flags, rest) => {
    protocolByName(rest);
    reproduceOptions(flags, rest);
  },
  run: (flags, rest, log) => runReproduce(reproduceOptions(flags, rest), log),
};
