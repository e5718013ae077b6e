import { ConfigError } from '../registry';

/**
 * The most parameters a model config may describe (2^28, 1 GiB of float32):
 * far above any model elbo trains (the 784-400-20 VAE has 0.65 M), far below
 * what a hostile or mistyped config (a latentDim of 3e8) would make
 * createModel allocate before anything else could refuse it.
 */
export const MAX_MODEL_PARAMETERS = 2 ** 28;

const SIZE_FIELDS = ['inputShape', 'hiddenDims', 'convChannels', 'latentDim'] as const;

const ints = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isFinite(d) && d > 0) ? (v as number[]) : typeof v === 'number' && Number.isFinite(v) && v > 0 ? [v] : undefined;

/**
 * Top-level fields that are not sizes. Counts of data or of draws (a dataset size an estimator needs,
 * importance samples) are integers that make no parameters: counted as sizes they made the estimate of
 * a beta-TCVAE on all of dSprites (datasetSize 737,280) 3.9e8 parameters, and its checkpoint unloadable.
 */
const NOT_SIZES = new Set(['variant', 'seed', 'klWeight', 'likelihoodScale', 'tcWeight', 'commitmentWeight', 'datasetSize', 'iwaeSamples']);

/** Positive integers (or lists of them) in fields other than the base size fields: class counts, codebook sizes, extra latent widths. */
function otherSizes(config: Record<string, unknown>): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(config)) {
    if (NOT_SIZES.has(k) || (SIZE_FIELDS as readonly string[]).includes(k) || k === 'inputDim' || k === 'hiddenDim') continue;
    for (const n of ints(v) ?? []) if (Number.isInteger(n)) out.push([k, n]);
  }
  return out;
}

/**
 * An estimate of the parameters of the encoder and decoder a config
 * describes: the base fields (`inputShape`, `architecture`, `hiddenDims`,
 * `convChannels`, `latentDim`; the defaults [400, 400] and [32, 64] where a
 * field is absent) exactly for the MLP and roughly for conv stages, plus,
 * for every other positive integer field (a class count, a codebook size),
 * that many times the latent and first hidden width, as a condition input or
 * an embedding table would take. Fields of the wrong type count as absent
 * (the schema reports them).
 */
export function estimateParameters(config: Record<string, unknown>): number {
  // inputDim / hiddenDim: the flat-MLP names older configs (and the test model) use.
  // A config that leaves inputShape to its schema's default still counts its other sizes (one input unit stands in).
  const shape = ints(config.inputShape) ?? ints(config.inputDim) ?? [1];
  // A variant without a single latentDim (several latent layers) still counts its other sizes.
  const latent = ints(config.latentDim)?.[0] ?? 1;
  const inputs = shape.reduce((a, b) => a * b, 1);
  const chain = (widths: number[]) => widths.slice(1).reduce((s, w, i) => s + widths[i] * w + w, 0);
  const hidden = ints(config.hiddenDims) ?? ints(config.hiddenDim) ?? [400, 400];
  const extra = otherSizes(config).reduce((s, [, n]) => s + n * (latent + hidden[0]), 0);
  const arch = config.architecture ?? 'mlp';
  if (arch === 'mlp' || shape.length !== 3) {
    return chain([inputs, ...hidden, 2 * latent]) + chain([latent, ...[...hidden].reverse(), inputs]) + extra;
  }
  const channels = ints(config.convChannels) ?? [32, 64];
  const conv = channels.reduce((s, c, i) => s + 9 * [shape[2], ...channels][i] * c + c, 0);
  const stride = 2 ** channels.length;
  const flat = Math.ceil(shape[0] / stride) * Math.ceil(shape[1] / stride) * channels[channels.length - 1];
  return 2 * conv + flat * 2 * latent + latent * flat + extra;
}

/**
 * Refuse a config that describes more than `limit` parameters, with a
 * ConfigError naming the largest size field, before anything is allocated.
 */
export function checkModelSize(config: Record<string, unknown>, limit = MAX_MODEL_PARAMETERS): void {
  const n = estimateParameters(config);
  if (n <= limit) return;
  const sizes: [string, number][] = [...SIZE_FIELDS.map((f) => [f, Math.max(0, ...(ints(config[f]) ?? [0]))] as [string, number]), ...otherSizes(config)];
  const largest = sizes.sort((a, b) => b[1] - a[1])[0][0];
  throw new ConfigError(
    `Invalid config: field "${largest}" makes a model of about ${n.toExponential(2)} parameters, more than the ${limit.toExponential(2)} allowed`,
    largest,
  );
}
