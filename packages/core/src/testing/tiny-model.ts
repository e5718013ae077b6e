import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  type Batch,
  type BaseModelConfig,
  type BatchSource,
  configFields,
  getVariant,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  MlpDecoder,
  MlpEncoder,
  registerVariant,
  Rng,
  StandardNormalPrior,
} from '@elbo/core';

/**
 * A tiny Gaussian MLP VAE for tests of the trainer, checkpoints and backends
 * (loss = reconstruction + klWeight * kl), registered under a variant name of the
 * caller's choice so tests need no variant package.
 */
export interface TinyVaeConfig extends BaseModelConfig {
  inputDim: number;
  hiddenDim: number;
  klWeight: number;
  seed: number;
}

export const tinyVaeSchema = z
  .object({
    variant: z.string(),
    seed: configFields.seed(),
    inputDim: configFields.positiveInt(),
    hiddenDim: configFields.positiveInt().default(8),
    latentDim: configFields.positiveInt(),
    klWeight: configFields.weight(1),
  })
  .strict();

export class TinyVae extends LatentVariableModel {
  readonly variant: string;
  readonly usesKlWeight = true;

  constructor(config: TinyVaeConfig) {
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const encoder = new MlpEncoder(config.inputDim, config.latentDim, init, { hiddenDims: [config.hiddenDim], activation: 'tanh' });
    const decoder = new MlpDecoder(config.latentDim, [config.inputDim], init, { hiddenDims: [config.hiddenDim], activation: 'tanh', likelihood: 'gaussian' });
    super(config, [config.inputDim], encoder, decoder, new StandardNormalPrior([config.latentDim]), rng.fork('noise'));
    this.variant = config.variant;
  }

  /** -ELBO with weight klWeight on the KL: { loss, terms: { reconstruction, kl, elbo, klWeight } }. */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    return this.elbo(batch, { klWeight: context.klWeight ?? (this.config as TinyVaeConfig).klWeight });
  }
}

/** Register the tiny VAE under `name` (idempotent). */
export function registerTinyVae(name = 'tiny-vae'): string {
  if (!getVariant(name)) registerVariant<TinyVaeConfig>(name, { schema: tinyVaeSchema as unknown as z.ZodType<TinyVaeConfig>, create: (c) => new TinyVae(c) });
  return name;
}

/**
 * A deterministic in-memory BatchSource over rows of `data` ([n, dim]):
 * epoch e visits the rows in a permutation drawn from Rng(seed + e).
 * `corrupt(epoch, batch)` may return true to fill that batch with NaN (tests of the NaN guard).
 */
export function arrayBatchSource(
  data: Float32Array,
  dim: number,
  batchSize: number,
  options: { seed?: number; shuffle?: boolean; corrupt?: (epoch: number, batch: number) => boolean } = {},
): BatchSource {
  const n = data.length / dim;
  if (!Number.isInteger(n)) throw new Error(`arrayBatchSource: data length ${data.length} is not a multiple of dim ${dim}`);
  return {
    size: n,
    batchSize,
    *batches(epoch: number) {
      const order = options.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : new Rng((options.seed ?? 0) + epoch).permutation(n);
      for (let b = 0, start = 0; start < n; b++, start += batchSize) {
        const rows = order.subarray(start, Math.min(n, start + batchSize));
        const out = new Float32Array(rows.length * dim);
        rows.forEach((r, i) => out.set(data.subarray(r * dim, (r + 1) * dim), i * dim));
        if (options.corrupt?.(epoch, b)) out.fill(Number.NaN);
        yield { x: tf.tensor2d(out, [rows.length, dim]) };
      }
    },
  };
}

/** n points near a random 2-D subspace of R^dim (something a VAE can learn), seeded. */
export function syntheticData(n: number, dim: number, seed = 0): Float32Array {
  const rng = new Rng(seed);
  const basis = Array.from({ length: 2 * dim }, () => rng.normal());
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    for (let j = 0; j < dim; j++) out[i * dim + j] = Math.tanh(a * basis[j] + b * basis[dim + j]) + 0.05 * rng.normal();
  }
  return out;
}
