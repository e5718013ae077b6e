import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, type Callback, createModel, fit, type GenerativeModel, Rng } from '@elbo/core';

/**
 * The throughput models, as users build and train them: a config for
 * `createModel` (the 'vae' variant must be registered, i.e. `@elbo/vae`
 * imported) trained by `fit` with its defaults (Adam, lr 1e-3, NaN guard).
 * One definition for `pnpm bench throughput` in Node and the playground's
 * throughput page in the browser: this module imports only @elbo/core and
 * tfjs-core, never the native addon. scripts/torch_bench.py builds the same
 * networks in PyTorch.
 */
export type ThroughputModelName = 'mlp' | 'conv';

export interface ThroughputModelDefinition {
  name: ThroughputModelName;
  description: string;
  /** Default batch size. */
  batchSize: number;
  /** Shape of one example. */
  inputShape: number[];
  /** The createModel config. */
  config(seed: number): Record<string, unknown>;
  /**
   * FLOPs per sample of the step's matrix products and convolutions: 2 per
   * multiply-add, three times the forward pass (forward, input gradient,
   * weight gradient), from the layer shapes.
   */
  flopsPerSample: number;
}

/** Multiply-adds of one forward pass of a Dense chain. */
function denseMacs(widths: number[]): number {
  let macs = 0;
  for (let i = 0; i + 1 < widths.length; i++) macs += widths[i] * widths[i + 1];
  return macs;
}

/** Multiply-adds of a 3x3 convolution producing an [h, w, cout] map from cin channels. */
function convMacs(outH: number, outW: number, cin: number, cout: number): number {
  return outH * outW * cin * cout * 9;
}

/** Multiply-adds of a 3x3 transposed convolution reading an [h, w, cin] map (each input pixel scatters a 3x3 x cout patch). */
function convTransposeMacs(inH: number, inW: number, cin: number, cout: number): number {
  return inH * inW * cin * cout * 9;
}

const MLP_HIDDEN = [400, 400];
const MLP_LATENT = 20;
const CONV_CHANNELS = [32, 64];
const CONV_LATENT = 16;

function mlpMacs(): number {
  // Encoder 784-400-400 -> (mean, log-variance) 2 x 20; decoder 20-400-400-784.
  return denseMacs([784, ...MLP_HIDDEN]) + MLP_HIDDEN[MLP_HIDDEN.length - 1] * 2 * MLP_LATENT + denseMacs([MLP_LATENT, ...MLP_HIDDEN, 784]);
}

function convMacsTotal(): number {
  // 28 -> 14 -> 7 with 'same' stride-2 convs; the decoder mirrors them; a 3x3 output conv back to 1 channel.
  const sizes = [28, 14, 7];
  const [c1, c2] = CONV_CHANNELS;
  const flat = sizes[2] * sizes[2] * c2;
  const encoder = convMacs(14, 14, 1, c1) + convMacs(7, 7, c1, c2) + flat * 2 * CONV_LATENT;
  const decoder = CONV_LATENT * flat + convTransposeMacs(7, 7, c2, c1) + convTransposeMacs(14, 14, c1, c1) + convMacs(28, 28, c1, 1);
  return encoder + decoder;
}

export const THROUGHPUT_MODELS: Record<ThroughputModelName, ThroughputModelDefinition> = {
  mlp: {
    name: 'mlp',
    description: 'MLP VAE 784-400-400-20',
    batchSize: 128,
    inputShape: [784],
    config: (seed) => ({ variant: 'vae', architecture: 'mlp', inputShape: [784], hiddenDims: MLP_HIDDEN, latentDim: MLP_LATENT, activation: 'relu', likelihood: 'bernoulli', seed }),
    flopsPerSample: 6 * mlpMacs(),
  },
  conv: {
    name: 'conv',
    description: 'conv VAE 32/64 channels, latent 16',
    batchSize: 64,
    inputShape: [28, 28, 1],
    config: (seed) => ({
      variant: 'vae',
      architecture: 'conv',
      inputShape: [28, 28, 1],
      convChannels: CONV_CHANNELS,
      latentDim: CONV_LATENT,
      batchNorm: false,
      activation: 'relu',
      likelihood: 'bernoulli',
      seed,
    }),
    flopsPerSample: 6 * convMacsTotal(),
  },
};

export function throughputModel(name: string): ThroughputModelDefinition {
  const def = (THROUGHPUT_MODELS as Record<string, ThroughputModelDefinition | undefined>)[name];
  if (!def) throw new Error(`throughput model must be 'mlp' or 'conv', got ${JSON.stringify(name)}`);
  return def;
}

export interface FitThroughputOptions {
  model: ThroughputModelName;
  /**
   * Training batches of `batchSize` examples; `x` may be flat ([b, 784]) or
   * images, it is reshaped to the model's input shape. Real data, e.g.
   * @elbo/datasets' ArrayBatchSource over MNIST.
   */
  source: (batchSize: number) => BatchSource;
  batchSize?: number;
  /** Timed steps (default 30). */
  steps?: number;
  /** Untimed steps first, in the same fit call (default 10). */
  warmup?: number;
  seed?: number;
  /** Extra fit callbacks (e.g. a profiler). */
  callbacks?: Callback[];
}

export interface FitThroughputResult {
  model: ThroughputModelName;
  backend: string;
  batchSize: number;
  steps: number;
  samplesPerSec: number;
  msPerStep: number;
  /** Loss the trainer last reported (a check that training ran). */
  finalLoss: number;
  /** Parameters of the model. */
  parameters: number;
}

/** `source` with each batch's inputs reshaped to `shape` (a view on the cpu backends, no copy). */
function reshaped(source: BatchSource, shape: number[]): BatchSource {
  return {
    size: source.size,
    batchSize: source.batchSize,
    *batches(epoch: number): Iterable<Batch> {
      for (const batch of source.batches(epoch)) {
        const want = [batch.x.shape[0], ...shape];
        if (batch.x.shape.join() === want.join()) {
          yield batch;
          continue;
        }
        const x = tf.reshape(batch.x, want);
        batch.x.dispose();
        yield { ...batch, x };
      }
    },
  };
}

/**
 * Build a throughput model with createModel and train it with fit on the
 * active backend for `warmup` + `steps` steps; time the last `steps`
 * (from the end of the last warm-up step to fit's return, which includes
 * fit's final read-back, so asynchronous backends are timed to completion).
 */
export async function measureFitThroughput(options: FitThroughputOptions): Promise<FitThroughputResult> {
  const def = throughputModel(options.model);
  const batchSize = options.batchSize ?? def.batchSize;
  const steps = options.steps ?? 30;
  const warmup = options.warmup ?? 10;
  for (const [key, v, min] of [['steps', steps, 1], ['warmup', warmup, 0], ['batchSize', batchSize, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`measureFitThroughput: ${key} must be an integer >= ${min}, got ${v}`);
  }
  const source = options.source(batchSize);
  if (source.batchSize !== batchSize) throw new Error(`measureFitThroughput: the source gives batches of ${source.batchSize}, expected ${batchSize}`);
  const model: GenerativeModel = createModel(def.config(options.seed ?? 0));
  let t0 = 0;
  let finalLoss = Number.NaN;
  const timer: Callback = {
    onTrainBegin() {
      if (warmup === 0) t0 = performance.now();
    },
    onStepEnd(info) {
      if (info.step === warmup) t0 = performance.now();
      // The trainer reads the loss back only at its log points; keep the last one it reported.
      const loss = (info as { values?: { loss?: number } }).values?.loss ?? (info as { loss?: number }).loss;
      if (typeof loss === 'number' && Number.isFinite(loss)) finalLoss = loss;
    },
  };
  try {
    const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
    const stepsPerEpoch = Math.max(1, Math.floor(source.size / batchSize));
    await fit(model, reshaped(source, def.inputShape), {
      epochs: Math.ceil((warmup + steps) / stepsPerEpoch) + 1,
      maxSteps: warmup + steps,
      progress: false,
      callbacks: [timer, ...(options.callbacks ?? [])],
    });
    const ms = performance.now() - t0;
    return { model: def.name, backend: tf.getBackend(), batchSize, steps, samplesPerSec: (steps * batchSize * 1000) / ms, msPerStep: ms / steps, finalLoss, parameters };
  } finally {
    model.dispose();
  }
}

/**
 * Least-squares fit of ms/step = fixed + perSample * batch over a batch
 * sweep: the fixed cost of a step (kernel launches, tape, trainer) and the
 * cost per sample (mostly the GEMMs).
 */
export function fitStepCost(points: { batchSize: number; msPerStep: number }[]): { fixedMs: number; msPerSample: number } {
  const n = points.length;
  if (n < 2) throw new Error('fitStepCost: needs at least two batch sizes');
  const mx = points.reduce((s, p) => s + p.batchSize, 0) / n;
  const my = points.reduce((s, p) => s + p.msPerStep, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.batchSize - mx) * (p.msPerStep - my);
    sxx += (p.batchSize - mx) ** 2;
  }
  const msPerSample = sxy / sxx;
  return { fixedMs: my - msPerSample * mx, msPerSample };
}

/**
 * A seeded BatchSource of full batches over uint8 images held in memory (e.g.
 * MNIST's IDX file as read): each batch is `x` float32 [b, dim] in [0, 1], in a
 * permutation that depends only on (seed, epoch). Keeping bytes, not floats,
 * holds the training set in a quarter of the memory, as PyTorch's reference does.
 */
export class ByteImageSource implements BatchSource {
  readonly size: number;

  constructor(
    private readonly images: Uint8Array,
    count: number,
    private readonly dim: number,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`ByteImageSource: batchSize must be a positive integer, got ${batchSize}`);
    if (images.length !== count * dim) throw new Error(`ByteImageSource: ${images.length} bytes do not hold ${count} images of ${dim} values`);
    // Full batches only: every timed step has the same size.
    this.size = Math.floor(count / batchSize) * batchSize;
  }

  *batches(epoch: number): Iterable<Batch> {
    const order = new Rng(this.seed).fork(`epoch-${epoch}`).permutation(this.size);
    const d = this.dim;
    for (let start = 0; start < this.size; start += this.batchSize) {
      const n = this.batchSize;
      const x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const k = order[start + i] * d;
        for (let j = 0; j < d; j++) x[i * d + j] = this.images[k + j] / 255;
      }
      yield { x: tf.tensor2d(x, [n, d]) };
    }
  }
}
