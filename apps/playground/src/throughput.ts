import * as tf from '@tensorflow/tfjs-core';
import { ConvDecoder, ConvEncoder, type Decoder, type DiagonalGaussian, type Encoder, MlpDecoder, MlpEncoder, Rng, StandardNormal } from '@elbo/core';

/**
 * The throughput measurement of `pnpm bench throughput`, for the browser.
 * The models and the loop are those of @elbo/backend-native's bench
 * (buildBenchModel, measureThroughput: MLP VAE 784-400-400-20 batch 128, conv
 * VAE 32-64 channels latent 16 batch 64, Bernoulli likelihood, tfjs Adam 1e-3,
 * seeded random inputs in [0, 1]); that module also loads the native addon,
 * which a browser cannot, so the few lines are repeated here. One difference:
 * the last loss is read back asynchronously (inside the timing), as webgpu
 * has no synchronous read in a page.
 */
export type ThroughputModel = 'mlp' | 'conv';

export interface BrowserThroughputResult {
  model: ThroughputModel;
  backend: string;
  batchSize: number;
  steps: number;
  samplesPerSec: number;
  msPerStep: number;
  /** Milliseconds of the untimed warm-up steps (shader compilation shows here). */
  warmupMs: number;
  finalLoss: number;
}

export const THROUGHPUT_BATCH: Record<ThroughputModel, number> = { mlp: 128, conv: 64 };

function build(name: ThroughputModel, seed: number, batchSize: number) {
  const rng = new Rng(seed);
  let encoder: Encoder;
  let decoder: Decoder;
  let inputShape: number[];
  if (name === 'mlp') {
    encoder = new MlpEncoder(784, 20, rng.fork('enc'), { hiddenDims: [400, 400], activation: 'relu' });
    decoder = new MlpDecoder(20, [784], rng.fork('dec'), { hiddenDims: [400, 400], activation: 'relu' });
    inputShape = [batchSize, 784];
  } else {
    const opts = { hiddenDims: [32, 64], batchNorm: false, activation: 'relu' as const };
    encoder = new ConvEncoder([28, 28, 1], 16, rng.fork('enc'), opts);
    decoder = new ConvDecoder(16, [28, 28, 1], rng.fork('dec'), opts);
    inputShape = [batchSize, 28, 28, 1];
  }
  const variables = () => [...encoder.namedParameters().values(), ...decoder.namedParameters().values()];
  return { encoder, decoder, inputShape, variables, dispose: () => (encoder.dispose(), decoder.dispose()) };
}

/**
 * Train one model for `warmup` untimed and `steps` timed Adam steps on the
 * active backend and report samples/s.
 */
export async function measureBrowserThroughput(options: { model: ThroughputModel; steps?: number; warmup?: number; seed?: number; batchSize?: number }): Promise<BrowserThroughputResult> {
  const { model: name, steps = 20, warmup = 3, seed = 0 } = options;
  if (name !== 'mlp' && name !== 'conv') throw new Error(`measureBrowserThroughput: model must be 'mlp' or 'conv', got ${JSON.stringify(name)}`);
  const batchSize = options.batchSize ?? THROUGHPUT_BATCH[name];
  for (const [key, v, min] of [['steps', steps, 1], ['warmup', warmup, 0], ['batchSize', batchSize, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`measureBrowserThroughput: ${key} must be an integer >= ${min}, got ${v}`);
  }
  const rng = new Rng(seed);
  const model = build(name, rng.nextUint32(), batchSize);
  const optimizer = tf.train.adam(1e-3);
  const data = tf.randomUniform(model.inputShape, 0, 1, 'float32', rng.nextSeed());
  const vars = model.variables();
  const negativeElbo = () =>
    tf.tidy(() => {
      const q = model.encoder.forward(data) as DiagonalGaussian;
      const z = q.rsample(rng);
      const rec = model.decoder.forward(z).logProb(data);
      return tf.mean(tf.sub(q.kl(new StandardNormal(z.shape)), rec)) as tf.Scalar;
    });
  const step = () => optimizer.minimize(negativeElbo, true, vars) as tf.Scalar;
  try {
    const w0 = performance.now();
    for (let i = 0; i < warmup; i++) {
      const l = step();
      await l.data(); // finish each warm-up step (and its shader compiles) before timing starts
      l.dispose();
    }
    const warmupMs = performance.now() - w0;
    let last: tf.Scalar | null = null;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      last?.dispose();
      last = step();
    }
    const finalLoss = (await (last as tf.Scalar).data())[0];
    const ms = performance.now() - t0;
    last?.dispose();
    return { model: name, backend: tf.getBackend(), batchSize, steps, samplesPerSec: (steps * batchSize * 1000) / ms, msPerStep: ms / steps, warmupMs, finalLoss };
  } finally {
    optimizer.dispose();
    data.dispose();
    model.dispose();
  }
}
