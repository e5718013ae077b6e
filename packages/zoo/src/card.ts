/** One stored file of a pretrained model and its checksum. */
export interface PretrainedFile {
  /** Path relative to the model's folder (`models/<name>/`). */
  path: string;
  bytes: number;
  /** SHA-256 of the file, lowercase hex. */
  sha256: string;
}

/** How a model's metrics were measured (the zoo's tests re-measure at this size). */
export interface EvaluationSpec {
  /** Test examples (the first ones of the test split) for the test ELBO, NLL, FID's real side and the variant's metrics. */
  testImages: number;
  /** Importance samples k of the NLL estimate (0: not measured). */
  nllSamples: number;
  /** Generated samples for FID with @elbo/metrics' MNIST classifier (0: not measured). */
  fidSamples: number;
  seed: number;
}

/** Where the training data came from and how it was served. */
export interface DataSpec {
  dataset: 'mnist' | 'dsprites';
  /** Training examples used (a seeded subset of the split). */
  trainExamples: number;
  /** 'dynamic': a fresh Bernoulli draw of the pixels each time (test images binarised once, seeded). */
  binarize?: 'dynamic';
}

/** A model card: what the model is, how it was built and what it measured. */
export interface ModelCard {
  name: string;
  title: string;
  variant: string;
  description: string;
  data: DataSpec;
  /** The config given to createModel (as saved with the weights). */
  config: Record<string, unknown>;
  parameters: number;
  budget: { epochs: number; batchSize: number; learningRate: number; seed: number; trainSeconds: number; backend: string; machine: string };
  /** The recipe that rebuilds it, relative to the package root. */
  recipe: string;
  evaluation: EvaluationSpec;
  /** dtype the weights are stored in; float32 variables become float16 when the metrics hold. */
  weightsDtype: 'float16' | 'float32';
  /** Metrics of the stored weights (as loaded by loadPretrained). */
  metrics: Record<string, number>;
  /** The same metrics with the float32 weights and after the float16 round trip, measured at build time. */
  metricsByDtype: { float32: Record<string, number>; float16: Record<string, number> };
  /** Why the stored dtype was chosen. */
  dtypeDecision: string;
  files: PretrainedFile[];
  builtAt: string;
}
