import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors';

/**
 * The weights-manifest format shared by every elbo save: tfjs's model.json
 * (`format`, `modelTopology: null`, `weightsManifest: [{ paths, weights }]`,
 * `userDefinedMetadata`) plus binary shards holding the weights in manifest
 * order, as tf.io.encodeWeights writes them. elbo's own data lives under
 * `userDefinedMetadata.elbo`.
 */
export const ELBO_FORMAT = 'elbo';
export const CHECKPOINT_FORMAT_VERSION = 1;

/**
 * Where a checkpoint being loaded comes from: `where` starts every message
 * ("checkpoint ./runs/vae"), `file` is the manifest's path or URL, which
 * every CheckpointError names.
 */
export interface CheckpointSource {
  where: string;
  file: string;
}

/** A CheckpointError naming the source's file and, where it applies, the field. */
export function checkpointError(src: CheckpointSource, message: string, field?: string, file = src.file): CheckpointError {
  return new CheckpointError(`${src.where}: ${message}`, field === undefined ? { file } : { file, field });
}

const bytesPerElement: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Bytes one manifest entry occupies in the shards; refuses entries that are
 * not objects, names that are not strings, and what elbo never writes
 * (strings, quantisation). Shapes are plain non-negative integers; a byte
 * count beyond 2^53 is refused rather than rounded.
 */
export function specByteLength(spec: unknown, src: CheckpointSource, field = 'weights'): number {
  if (!isObject(spec)) throw checkpointError(src, `${field} must be an object with "name", "shape" and "dtype", got ${JSON.stringify(spec)}`, field);
  if (typeof spec.name !== 'string' || spec.name.length === 0) throw checkpointError(src, `${field}.name must be a non-empty string, got ${JSON.stringify(spec.name)}`, `${field}.name`);
  if (spec.quantization !== undefined) throw checkpointError(src, `weight "${spec.name}" is quantised, which elbo checkpoints never are`, `${field}.quantization`);
  const bpe = typeof spec.dtype === 'string' && Object.hasOwn(bytesPerElement, spec.dtype) ? bytesPerElement[spec.dtype] : undefined;
  if (bpe === undefined) throw checkpointError(src, `weight "${spec.name}" has dtype ${JSON.stringify(spec.dtype)} (allowed: float32, int32, bool)`, `${field}.dtype`);
  const shape = spec.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw checkpointError(src, `weight "${spec.name}" has an invalid shape ${JSON.stringify(shape)}`, `${field}.shape`);
  }
  const bytes = bpe * shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(bytes)) throw checkpointError(src, `weight "${spec.name}" has shape [${shape}], which would need ${bytes} bytes`, `${field}.shape`);
  return bytes;
}

/**
 * Check that a manifest path names a file inside the checkpoint directory:
 * relative, no `..` segment, no absolute or drive path, no URL, no
 * backslash, no query or fragment.
 */
export function checkManifestPath(path: unknown, src: CheckpointSource, field = 'paths'): string {
  if (typeof path !== 'string' || path.length === 0) throw checkpointError(src, `weight path ${JSON.stringify(path)} must be a non-empty string`, field);
  const bad =
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    path.includes('?') ||
    path.includes('#') ||
    path.includes('%') ||
    /^[A-Za-z]:/.test(path) ||
    /^[a-z][a-z0-9+.-]*:/i.test(path) ||
    path.split('/').some((seg) => seg === '..' || seg === '');
  if (bad) throw checkpointError(src, `weight path ${JSON.stringify(path)} leaves the checkpoint directory (only plain relative file names are allowed)`, field);
  return path;
}

/** A checked manifest group: its paths and specs, and the bytes its shards must hold together. */
export interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
  bytes: number;
}

/**
 * Check a weights manifest: an array of `{ paths, weights }` groups whose
 * paths stay in the directory, whose specs are valid, and whose weight names
 * are unique across the whole manifest.
 */
export function checkWeightsManifest(manifest: unknown, src: CheckpointSource): ManifestGroup[] {
  if (!Array.isArray(manifest)) throw checkpointError(src, 'model.json has no "weightsManifest" array', 'weightsManifest');
  const names = new Set<string>();
  return manifest.map((group: unknown, i) => {
    const field = `weightsManifest[${i}]`;
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw checkpointError(src, `${field} must have "paths" and "weights" arrays`, field);
    }
    const paths = group.paths.map((p, j) => checkManifestPath(p, src, `${field}.paths[${j}]`));
    if (new Set(paths).size !== paths.length) throw checkpointError(src, `${field}.paths names a file twice`, `${field}.paths`);
    let bytes = 0;
    group.weights.forEach((w, j) => {
      bytes += specByteLength(w, src, `${field}.weights[${j}]`);
      const name = (w as { name: string }).name;
      if (names.has(name)) throw checkpointError(src, `weight "${name}" appears twice in the manifest`, `${field}.weights[${j}].name`);
      names.add(name);
    });
    if (!Number.isSafeInteger(bytes)) throw checkpointError(src, `${field} would need ${bytes} bytes`, `${field}.weights`);
    return { paths, weights: group.weights as tf.io.WeightsManifestEntry[], bytes };
  });
}

/** Parse and check the structure of a model.json. */
export function parseModelJson(text: string, src: CheckpointSource): tf.io.ModelJSON & { groups: ManifestGroup[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw checkpointError(src, `model.json is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw checkpointError(src, 'model.json must be a JSON object');
  const groups = checkWeightsManifest(json.weightsManifest, src);
  return { ...(json as unknown as tf.io.ModelJSON), groups };
}

/** Model artifacts' weight data as one ArrayBuffer. */
/** The artifacts a loader hands tfjs: a checked model.json's fields and its weight data, concatenated in manifest order. */
export function modelArtifacts(json: tf.io.ModelJSON & { groups: ManifestGroup[] }, weightData: ArrayBuffer): tf.io.ModelArtifacts {
  return {
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    modelTopology: json.modelTopology,
    weightSpecs: json.groups.flatMap((g) => g.weights),
    weightData,
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

export function weightBuffer(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/** What `userDefinedMetadata.elbo` holds. */
export interface ElboMetadata {
  formatVersion: number;
  kind: 'model' | 'checkpoint';
  variant: string;
  config: Record<string, unknown>;
  /** Checkpoints only. */
  step?: number;
  epoch?: number;
  rng?: { a: number; b: number; c: number; d: number };
  optimizer?: { config: { kind: 'adam' | 'sgd'; [k: string]: unknown }; iterations: number; learningRate: number };
  trainer?: unknown;
}

const META = 'userDefinedMetadata.elbo';

/**
 * Check `userDefinedMetadata.elbo` field by field (types and ranges), so that
 * nothing later trusts a value the file made up.
 */
export function checkElboMetadata(udm: unknown, src: CheckpointSource): ElboMetadata {
  const meta = isObject(udm) ? udm.elbo : undefined;
  if (!isObject(meta)) throw checkpointError(src, `not an elbo save (${META} is missing)`, META);
  if (meta.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw checkpointError(src, `format version ${JSON.stringify(meta.formatVersion)} is not supported (this @elbo/core reads ${CHECKPOINT_FORMAT_VERSION})`, `${META}.formatVersion`);
  }
  if (meta.kind !== 'model' && meta.kind !== 'checkpoint') throw checkpointError(src, `kind ${JSON.stringify(meta.kind)} must be "model" or "checkpoint"`, `${META}.kind`);
  if (!isObject(meta.config) || typeof meta.config.variant !== 'string') throw checkpointError(src, 'the saved config has no "variant"', `${META}.config.variant`);
  if (typeof meta.variant !== 'string' || meta.variant !== meta.config.variant) {
    throw checkpointError(src, `variant ${JSON.stringify(meta.variant)} does not match the config's variant ${JSON.stringify(meta.config.variant)}`, `${META}.variant`);
  }
  const count = (k: 'step' | 'epoch' | 'iterations', v: unknown, field: string) => {
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0)) throw checkpointError(src, `${k} must be a non-negative integer, got ${JSON.stringify(v)}`, field);
  };
  count('step', meta.step, `${META}.step`);
  count('epoch', meta.epoch, `${META}.epoch`);
  if (meta.rng !== undefined) {
    const rng = meta.rng;
    if (!isObject(rng)) throw checkpointError(src, `rng must be an object {a, b, c, d}, got ${JSON.stringify(rng)}`, `${META}.rng`);
    for (const k of ['a', 'b', 'c', 'd']) {
      const v = rng[k];
      if (!(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff)) {
        throw checkpointError(src, `rng.${k} must be an unsigned 32-bit integer, got ${JSON.stringify(v)}`, `${META}.rng.${k}`);
      }
    }
  }
  if (meta.optimizer !== undefined) {
    const opt = meta.optimizer;
    if (!isObject(opt) || !isObject(opt.config)) throw checkpointError(src, 'optimizer must be an object with a "config" object', `${META}.optimizer`);
    if (opt.config.kind !== 'adam' && opt.config.kind !== 'sgd') {
      throw checkpointError(src, `unknown optimizer ${JSON.stringify(opt.config.kind)} (allowed: adam, sgd)`, `${META}.optimizer.config.kind`);
    }
    for (const [k, v] of Object.entries(opt.config)) {
      if (k !== 'kind' && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
        throw checkpointError(src, `optimizer setting ${k} must be a non-negative number, got ${JSON.stringify(v)}`, `${META}.optimizer.config.${k}`);
      }
    }
    count('iterations', opt.iterations, `${META}.optimizer.iterations`);
    if (opt.iterations === undefined) throw checkpointError(src, 'optimizer.iterations is missing', `${META}.optimizer.iterations`);
    if (!(typeof opt.learningRate === 'number' && Number.isFinite(opt.learningRate) && opt.learningRate >= 0)) {
      throw checkpointError(src, `optimizer.learningRate must be a non-negative number, got ${JSON.stringify(opt.learningRate)}`, `${META}.optimizer.learningRate`);
    }
  }
  return meta as unknown as ElboMetadata;
}
