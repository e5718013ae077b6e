import { Rng } from '@elbo/core';

/**
 * An in-memory image dataset: plain typed arrays, not tensors, so a 60,000
 * image set costs no tensor memory; batch sources slice it per batch.
 */
export interface ImageDataset {
  /** Pixels in [0, 1], row-major: [count, ...shape] flattened. */
  images: Float32Array;
  /** Class index per example: [count] (absent for unlabelled sets). */
  labels?: Uint8Array | Int32Array;
  /** Number of examples. */
  count: number;
  /** Shape of one example, [height, width, channels] (e.g. [28, 28, 1]). */
  shape: number[];
  /** Number of classes when labelled (labels are 0..numClasses-1). */
  numClasses?: number;
  /** Class names by index, where the source had names. */
  classNames?: string[];
}

/** Values per example: the product of `shape`. */
export function exampleSize(data: Pick<ImageDataset, 'shape'>): number {
  return data.shape.reduce((a, b) => a * b, 1);
}

/** Throw a clear error unless `data` is internally consistent. */
export function checkDataset(data: ImageDataset, name = 'dataset'): void {
  if (!Number.isInteger(data.count) || data.count < 0) throw new Error(`${name}: count must be a non-negative integer, got ${data.count}`);
  if (!Array.isArray(data.shape) || data.shape.length === 0 || data.shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${name}: shape must be a non-empty array of positive integers, got ${JSON.stringify(data.shape)}`);
  }
  const d = exampleSize(data);
  if (data.images.length !== data.count * d) {
    throw new Error(`${name}: images has ${data.images.length} values, expected count ${data.count} x ${d} (shape [${data.shape.join(', ')}])`);
  }
  if (data.labels && data.labels.length !== data.count) {
    throw new Error(`${name}: labels has ${data.labels.length} entries, expected count ${data.count}`);
  }
}

// Per-example side arrays that some datasets carry (dSprites factors, image-folder file names):
// selecting examples selects their rows too, so they never go out of step with the images.
const ROW_FIELDS = ['factors', 'factorValues', 'indices', 'files'] as const;

type Rows = ArrayLike<unknown> & { slice(): unknown; length: number };

function selectRows(values: Rows, count: number, indices: ArrayLike<number>): unknown {
  const stride = values.length / count;
  if (Array.isArray(values)) return Array.from({ length: indices.length }, (_, i) => values[indices[i]]);
  const typed = values as unknown as Int32Array;
  const out = new (typed.constructor as Int32ArrayConstructor)(indices.length * stride);
  for (let i = 0; i < indices.length; i++) out.set(typed.subarray(indices[i] * stride, (indices[i] + 1) * stride), i * stride);
  return out;
}

/** The examples at `indices`, in that order (with their labels and per-example side arrays). */
export function selectExamples<T extends ImageDataset>(data: T, indices: ArrayLike<number>): T {
  const d = exampleSize(data);
  const n = indices.length;
  const images = new Float32Array(n * d);
  const labels = data.labels ? new (data.labels.constructor as Uint8ArrayConstructor | Int32ArrayConstructor)(n) : undefined;
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= data.count) throw new Error(`selectExamples: index ${j} is outside 0..${data.count - 1}`);
    images.set(data.images.subarray(j * d, (j + 1) * d), i * d);
    if (labels) labels[i] = data.labels![j];
  }
  const out = { ...data, images, labels, count: n } as unknown as Record<string, unknown>;
  for (const field of ROW_FIELDS) {
    const values = (data as unknown as Record<string, unknown>)[field] as Rows | undefined;
    if (values !== undefined && data.count > 0 && values.length % data.count === 0) out[field] = selectRows(values, data.count, indices);
  }
  return out as T;
}

/**
 * A subset of `count` examples: the first ones, or with `seed` a uniformly
 * random draw without replacement (deterministic in the seed).
 */
export function takeSubset<T extends ImageDataset>(data: T, count: number, seed?: number): T {
  if (!Number.isInteger(count) || count < 0 || count > data.count) {
    throw new Error(`takeSubset: count must be an integer in 0..${data.count}, got ${count}`);
  }
  if (seed === undefined) {
    const idx = new Int32Array(count);
    for (let i = 0; i < count; i++) idx[i] = i;
    return selectExamples(data, idx);
  }
  return selectExamples(data, new Rng(seed).fork('subset').permutation(data.count).subarray(0, count));
}

/**
 * Carve a validation set of `size` examples out of `data` with a seeded
 * permutation; the rest (in their original order) is the train part.
 */
export function splitValidation<T extends ImageDataset>(data: T, size: number, seed: number): { train: T; validation: T } {
  if (!Number.isInteger(size) || size < 0 || size >= data.count) {
    throw new Error(`validation.size must be an integer in 0..${data.count - 1}, got ${size}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`validation.seed must be a finite number, got ${seed}`);
  const perm = new Rng(seed).fork('validation').permutation(data.count);
  const isVal = new Uint8Array(data.count);
  const valIdx = perm.subarray(0, size).slice().sort();
  for (const i of valIdx) isVal[i] = 1;
  const trainIdx = new Int32Array(data.count - size);
  for (let i = 0, k = 0; i < data.count; i++) if (!isVal[i]) trainIdx[k++] = i;
  return { train: selectExamples(data, trainIdx), validation: selectExamples(data, valIdx) };
}
