import * as tf from '@tensorflow/tfjs-core';
import { type FitResult, type GenerativeModel, fit, loadModel, saveModel } from '@elbo/core';
import { createVae } from '@elbo/vae';
import { switchBackend, type PlaygroundBackend } from './backends';
import { ByteBatchSource } from './byte-batch-source';
import { imagesAsFloat, type MnistSubset } from './mnist-asset';

/** The model the playground trains: an MLP VAE with a Bernoulli likelihood on 28x28 MNIST. */
export interface PlaygroundModelConfig {
  /** 2 gives the latent explorer a faithful map; more dims are explored in their first two. */
  latentDim: number;
  hiddenDim: number;
  mlpLayers: number;
  seed: number;
}

export const DEFAULT_MODEL: PlaygroundModelConfig = { latentDim: 2, hiddenDim: 256, mlpLayers: 1, seed: 0 };

export interface TrainOptions {
  steps: number;
  batchSize?: number;
  learningRate?: number;
  /** Called after each step with its loss (negative ELBO, nats per image) and the steps done since the model was created (1-based). */
  onStep?: (loss: number, step: number) => void | Promise<void>;
}

/** Pictures of the current model, as float32 pixels in [0, 1] ready for drawImageGrid. */
export interface Views {
  samples: Float32Array;
  /** Originals and reconstructions interleaved in pairs of rows. */
  reconstructions: Float32Array;
  interpolation: Float32Array;
  /** The decoded latent grid of the explorer: span x span images over z in [-range, range]^2. */
  manifold: Float32Array;
}

/** Key of the saved model in IndexedDB. */
export const STORAGE_URL = 'indexeddb://elbo-playground';

/**
 * The playground's state and actions without any DOM: data, backend, model,
 * training with a live per-step loss, pictures, IndexedDB save/load. main.ts
 * wires it to the page; the end-to-end test drives the page.
 */
export class Playground {
  model: GenerativeModel;
  modelConfig: PlaygroundModelConfig;
  /** Loss of every step since the model was created or loaded. */
  readonly losses: number[] = [];
  /** Wall-clock milliseconds of every step (batch, forward, backward, update, loss read-back). */
  readonly stepMs: number[] = [];
  backend = 'cpu';
  training = false;
  private abort: AbortController | null = null;
  readonly dim: number;

  constructor(readonly data: MnistSubset, config: PlaygroundModelConfig = DEFAULT_MODEL) {
    this.dim = data.rows * data.cols;
    this.modelConfig = config;
    this.model = this.build(config);
  }

  private build(c: PlaygroundModelConfig): GenerativeModel {
    for (const key of ['latentDim', 'hiddenDim', 'mlpLayers'] as const) {
      if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`model config: ${key} must be a positive integer, got ${c[key]}`);
    }
    const hiddenDims = Array.from({ length: c.mlpLayers }, () => c.hiddenDim);
    return createVae({ architecture: 'mlp', inputShape: [this.dim], hiddenDims, latentDim: c.latentDim, likelihood: 'bernoulli', seed: c.seed });
  }

  /** Replace the model with a fresh one (the loss history restarts). */
  reset(config: PlaygroundModelConfig = this.modelConfig): void {
    if (this.training) throw new Error('reset: stop training first');
    const next = this.build(config);
    this.model.dispose();
    this.model = next;
    this.modelConfig = config;
    this.losses.length = 0;
    this.stepMs.length = 0;
  }

  /** Activate a backend; the model's weights move to it on their next use. */
  async useBackend(name: PlaygroundBackend): Promise<string> {
    if (this.training) throw new Error('useBackend: stop training first');
    const choice = await switchBackend(name);
    this.backend = choice.name;
    return choice.name;
  }

  /**
   * Train for `steps` steps with core's trainer (Adam). Each call starts a
   * fresh optimizer: the playground trains in short bursts the user starts and stops.
   */
  async train(options: TrainOptions): Promise<FitResult> {
    if (this.training) throw new Error('train: already training');
    const { steps, batchSize = 64, learningRate = 1e-3 } = options;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`train: steps must be a positive integer, got ${steps}`);
    const source = new ByteBatchSource(this.data.train, this.dim, batchSize, this.modelConfig.seed + this.losses.length);
    const perEpoch = Math.ceil(source.size / batchSize);
    this.training = true;
    this.abort = new AbortController();
    const first = this.losses.length;
    let last = performance.now();
    try {
      return await fit(this.model, source, {
        epochs: Math.ceil(steps / perEpoch),
        maxSteps: steps,
        learningRate,
        progress: false,
        // The page plots every step's loss and yields to the browser between steps anyway,
        // so it reads each step back (the trainer's default reads every 50 steps).
        logEvery: 1,
        signal: this.abort.signal,
        callbacks: [
          {
            onStepEnd: async (info) => {
              const now = performance.now();
              const loss = info.values?.loss ?? Number.NaN;
              this.losses.push(loss);
              this.stepMs.push(now - last);
              await options.onStep?.(loss, first + info.step);
              // Give the page a turn to paint the curve and handle clicks between steps.
              await new Promise((resolve) => setTimeout(resolve, 0));
              last = performance.now();
            },
          },
        ],
      });
    } finally {
      this.training = false;
      this.abort = null;
    }
  }

  /** Ask a running train() to end after its current step. */
  stop(): void {
    this.abort?.abort();
  }

  /**
   * Samples (n from the prior), reconstructions of the first test images,
   * a 10-step interpolation between two test images and the latent manifold.
   */
  async views(options: { samples?: number; reconstructions?: number; span?: number; range?: number } = {}): Promise<Views> {
    const { samples = 32, reconstructions = 16, span = 12, range = 2.5 } = options;
    this.model.eval();
    const originals = imagesAsFloat(this.data.test, 0, reconstructions, this.dim);
    const pair = imagesAsFloat(this.data.test, 0, 2, this.dim);
    const tensors = tf.tidy(() => {
      const x = tf.tensor2d(originals, [reconstructions, this.dim]);
      const rec = this.model.reconstruct(x) as tf.Tensor2D;
      // Rows of 8: originals above their reconstructions.
      const half = Math.ceil(reconstructions / 8);
      const interleaved: tf.Tensor[] = [];
      for (let r = 0; r < half; r++) {
        const n = Math.min(8, reconstructions - r * 8);
        interleaved.push(tf.slice(x, r * 8, n), tf.slice(rec, r * 8, n));
      }
      const a = tf.tensor2d(pair.subarray(0, this.dim), [1, this.dim]);
      const b = tf.tensor2d(pair.subarray(this.dim), [1, this.dim]);
      return [
        this.model.sample(samples),
        tf.concat(interleaved, 0),
        this.model.interpolate(a, b, 10),
        this.decodeGrid(span, range),
      ];
    });
    try {
      const [s, r, i, m] = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
      return { samples: s, reconstructions: r, interpolation: i, manifold: m };
    } finally {
      tf.dispose(tensors);
      this.model.train();
    }
  }

  /** Decoded means over a span x span grid of z1, z2 in [-range, range] (top row is z2 = +range); other dims 0. [span*span, dim]. */
  private decodeGrid(span: number, range: number): tf.Tensor {
    return tf.tidy(() => {
      const z = new Float32Array(span * span * this.modelConfig.latentDim);
      for (let r = 0; r < span; r++) {
        for (let c = 0; c < span; c++) {
          const o = (r * span + c) * this.modelConfig.latentDim;
          z[o] = -range + (2 * range * c) / (span - 1);
          z[o + 1] = range - (2 * range * r) / (span - 1);
        }
      }
      return this.model.decode(tf.tensor2d(z, [span * span, this.modelConfig.latentDim])).mean();
    });
  }

  /** The decoded digit at latent point (z1, z2) (other dims 0): [dim] in [0, 1]. */
  async decodeAt(z1: number, z2: number): Promise<Float32Array> {
    const z = new Float32Array(this.modelConfig.latentDim);
    z[0] = z1;
    if (z.length > 1) z[1] = z2;
    const out = tf.tidy(() => this.model.decode(tf.tensor2d(z, [1, z.length])).mean());
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /** Save config, weights and elbo metadata to IndexedDB. */
  async save(url = STORAGE_URL): Promise<void> {
    await saveModel(this.model, url);
  }

  /** Replace the model with the one saved in IndexedDB. */
  async load(url = STORAGE_URL): Promise<void> {
    if (this.training) throw new Error('load: stop training first');
    this.adopt(await loadModel(url));
  }

  /**
   * Replace the model with `model` (an MLP VAE over this data, e.g. a pretrained
   * one to fine-tune); the playground owns it from here. The loss history restarts.
   */
  adopt(model: GenerativeModel): void {
    if (this.training) throw new Error('adopt: stop training first');
    const c = model.config as unknown as { inputShape?: number[]; hiddenDims?: number[]; seed?: number };
    const inputDim = c.inputShape?.reduce((a, b) => a * b, 1);
    if (inputDim !== this.dim) {
      model.dispose();
      throw new Error(`the model takes inputs of ${inputDim}, the playground's data has ${this.dim}`);
    }
    this.model.dispose();
    this.model = model;
    const widths = c.hiddenDims ?? [];
    this.modelConfig = { latentDim: model.config.latentDim, hiddenDim: Number(widths[0]), mlpLayers: widths.length, seed: Number(c.seed ?? 0) };
    this.losses.length = 0;
    this.stepMs.length = 0;
  }
}
