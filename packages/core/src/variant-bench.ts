/**
 * What a variant tells a bench (elbo-bench, or any harness that trains, evaluates and pictures
 * models on a labelled image dataset) beyond `schema` and `create`: registered as
 * `registerVariant(name, { schema, create, bench })`.
 *
 * Every hook is optional. A variant without any still gets the bench's generic path: it is
 * trained with one `fit` run, evaluated (test ELBO terms, reconstruction error, active units,
 * optional NLL and FID), pictured (samples, reconstructions, interpolations, traversals), and
 * has a row in `suite variants` built from its schema (`{ variant, inputShape, latentDim }`
 * with every other field at its default).
 *
 * Types only, and no Node or bench imports: a variant package's `bench.ts` imports these types
 * and @elbo/core, so it stays browser-safe and adds no dependency. What a hook needs from
 * outside the variant (the data, the PNG writer, the MNIST classifier, the NLL estimator) comes
 * in through {@link BenchContext}.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, GenerativeModel } from './model';

/** The dataset as the bench loaded it (MNIST in elbo-bench): train and test splits with class labels. */
export interface BenchData {
  /** Shape of one example as the model takes it ([784] or [28, 28, 1]). */
  readonly inputShape: number[];
  /** Shape of one image ([height, width, channels]) for pictures. */
  readonly imageShape: [number, number, number];
  /** Classes of the labels (10 for MNIST). */
  readonly numClasses: number;
  readonly trainCount: number;
  readonly testCount: number;
  /**
   * Seeded, shuffled training batches. `x` in the model's input shape, `y` int32 labels, and with
   * the variant's `conditions: 'labels'` the one-hot labels as `condition` [b, numClasses].
   */
  train(options?: { batchSize?: number; binarize?: 'dynamic' }): BatchSource;
  /** Test batches in a fixed order (the first `limit` test examples), labelled as `train`'s. */
  test(options?: { batchSize?: number; limit?: number }): BatchSource;
  /** The first `limit` test examples as one tensor [n, ...inputShape]; the caller disposes it. */
  testImages(limit?: number): tf.Tensor;
  /** Their labels. */
  testLabels(limit?: number): Int32Array;
}

/** An image classifier for the dataset's classes (the MNIST classifier in elbo-bench). */
export interface BenchClassifier {
  /** Predicted class per image: images [n, ...inputShape] in [0, 1] -> int32 [n]. */
  classify(images: tf.Tensor): tf.Tensor1D;
}

/** Metric estimators the bench passes in (elbo-bench passes @elbo/metrics'). */
export interface BenchMetrics {
  /** Importance-sampled -log p(x) (or -log p(x | c) with conditions in the batches), nats per example. */
  importanceSampledNll(
    model: GenerativeModel,
    data: tf.Tensor | BatchSource,
    options: { samples: number; chunk?: number; batchSize?: number; seed?: number },
  ): { nll: number; logLikelihood: ArrayLike<number> };
  /** Latent units whose posterior mean varies over the data by more than 0.01 (Burda et al. 2016). */
  activeUnits(model: GenerativeModel, data: tf.Tensor | BatchSource): number;
  /** The dataset's classifier, loaded once per process. */
  classifier(): Promise<BenchClassifier>;
}

/** What the bench hands each hook. */
export interface BenchContext {
  data: BenchData;
  seed: number;
  /** Epochs of each training phase. */
  epochs: number;
  log(line: string): void;
  /**
   * Write images (a tensor [n, ...inputShape] or [n, h, w, c], values in [0, 1]) as one PNG grid
   * with `cols` columns into the run's folder; returns the file name as written.
   */
  writeGrid(file: string, images: tf.Tensor, cols: number): string;
  metrics: BenchMetrics;
  /**
   * Train another model with the bench's trainer, data and epochs (e.g. a baseline to compare
   * with); the hook owns and disposes that model. Present while the bench trains (train, suites),
   * absent when it only evaluates a saved model.
   */
  train?(model: GenerativeModel, options?: { learningRate?: number; batchSize?: number; binarize?: 'dynamic' }): Promise<{ seconds: number }>;
}

/** One training phase: `fit` runs once per phase, in order, on the same model. */
export interface BenchPhase<M extends GenerativeModel = GenerativeModel> {
  /** Short name for logs and the checkpoint folder ('autoencoder', 'prior'). */
  name: string;
  /** Prepare the model before this phase's `fit` (e.g. switch what it trains). */
  enter?(model: M): void;
  /** This phase's learning rate (default: the bench's). */
  learningRate?: number;
}

/** What the bench knows about the run before the model is built. */
export interface BenchPlan {
  seed: number;
  epochs: number;
  /** Training examples per epoch (after any limit). */
  trainCount: number;
  batchSize: number;
}

/**
 * A variant's bench hooks. `M` is the variant's model class: hooks may use its own methods
 * (a conditional model's `sample(n, label)`, a VQ-VAE's `setPhase`).
 */
export interface VariantBench<M extends GenerativeModel = GenerativeModel> {
  /**
   * The variant's MNIST config for `suite variants` (without `seed`; the bench adds it). Without
   * this hook the bench builds one from the schema's defaults.
   */
  config?(plan: BenchPlan): Record<string, unknown>;
  /**
   * Fill in fields that depend on the training data (e.g. a dataset size an estimator needs) in any
   * config the bench builds for this variant, including `train --config` files that leave them out.
   */
  completeConfig?(config: Record<string, unknown>, plan: BenchPlan): Record<string, unknown>;
  /** 'labels': the model is conditioned on the class; batches carry one-hot labels as `condition`. */
  conditions?: 'labels';
  /** Training batch size and binarisation the variant is benchmarked with (default: the bench's). */
  batchSize?: number;
  binarize?: 'dynamic';
  /** Training phases in order (default: one phase). */
  phases?: Array<BenchPhase<M>>;
  /** Extra text for the bench's per-epoch log line (e.g. codebook usage). */
  epochLog?(model: M, ctx: BenchContext): string;
  /** Extra metrics after the generic evaluation, by name (numbers only; nats per example where a likelihood). */
  metrics?(model: M, ctx: BenchContext): Record<string, number> | Promise<Record<string, number>>;
  /** Extra pictures, written with `ctx.writeGrid`; returns the file names. */
  pictures?(model: M, ctx: BenchContext): string[] | Promise<string[]>;
}
