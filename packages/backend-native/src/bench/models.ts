import * as tf from '@tensorflow/tfjs-core';
import { ConvDecoder, ConvEncoder, type Decoder, type DiagonalGaussian, type Encoder, MlpDecoder, MlpEncoder, Rng, StandardNormal } from '@elbo/core';

/** The two throughput models of issue 10 (the same ones scripts/torch_bench.py builds in PyTorch). */
export type BenchModelName = 'mlp' | 'conv';

export interface BenchModel {
  name: BenchModelName;
  encoder: Encoder;
  decoder: Decoder;
  /** Shape of one batch of inputs, [batch, ...]. */
  inputShape: number[];
  batchSize: number;
  variables(): tf.Variable[];
  dispose(): void;
}

/** Default batch sizes of the issue: 128 for the MLP VAE, 64 for the conv VAE. */
export const DEFAULT_BATCH: Record<BenchModelName, number> = { mlp: 128, conv: 64 };

/**
 * MLP VAE 784-400-400-20 (ReLU, Bernoulli likelihood) or conv VAE on 28x28x1
 * (3x3 stride-2 convs with 32 and 64 channels, latent 16, mirrored transposed
 * convs, ReLU, no BatchNorm, Bernoulli likelihood), built from @elbo/core modules.
 */
export function buildBenchModel(name: BenchModelName, seed = 0, batchSize = DEFAULT_BATCH[name]): BenchModel {
  if (name !== 'mlp' && name !== 'conv') throw new Error(`buildBenchModel: name must be 'mlp' or 'conv', got ${String(name)}`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`buildBenchModel: batchSize must be a positive integer, got ${batchSize}`);
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
  return {
    name,
    encoder,
    decoder,
    inputShape,
    batchSize,
    variables: () => [...encoder.namedParameters().values(), ...decoder.namedParameters().values()],
    dispose: () => {
      encoder.dispose();
      decoder.dispose();
    },
  };
}

/**
 * Negative ELBO averaged over the batch: -log p(x|z) + KL(q(z|x) || N(0, I)).
 * @param x [batch, ...inputShape] in [0, 1]
 * @returns scalar
 */
export function negativeElbo(model: BenchModel, x: tf.Tensor, rng: Rng): tf.Scalar {
  return tf.tidy(() => {
    // Both bench encoders (MlpEncoder, ConvEncoder) return a DiagonalGaussian.
    const q = model.encoder.forward(x) as DiagonalGaussian;
    const z = q.rsample(rng);
    const px = model.decoder.forward(z);
    const rec = px.logProb(x);
    const kl = q.kl(new StandardNormal(z.shape));
    return tf.mean(tf.sub(kl, rec)) as tf.Scalar;
  });
}
