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

const bytesPerElement: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes one manifest entry occupies in the shards; refuses what elbo never writes (strings, quantisation). */
export function specByteLength(spec: tf.io.WeightsManifestEntry, where: string): number {
  const bpe = bytesPerElement[spec.dtype];
  if (spec.quantization) throw new CheckpointError(`${where}: weight "${spec.name}" is quantised, which elbo checkpoints never are`);
  if (bpe === undefined) throw new CheckpointError(`${where}: weight "${spec.name}" has dtype ${JSON.stringify(spec.dtype)} (allowed: float32, int32, bool)`);
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new CheckpointError(`${where}: weight "${spec.name}" has an invalid shape ${JSON.stringify(spec.shape)}`);
  }
  return bpe * spec.shape.reduce((a, b) => a * b, 1);
}

/**
 * Check that a manifest path names a file inside the checkpoint directory:
 * relative, no `..` segment, no absolute or drive path, no backslash.
 */
export function checkManifestPath(path: unknown, where: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new CheckpointError(`${where}: weight path ${JSON.stringify(path)} must be a non-empty string`);
  const bad =
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    /^[A-Za-z]:/.test(path) ||
    /^[a-z][a-z0-9+.-]*:/i.test(path) ||
    path.split('/').some((seg) => seg === '..' || seg === '');
  if (bad) throw new CheckpointError(`${where}: weight path ${JSON.stringify(path)} leaves the checkpoint directory (only plain relative file names are allowed)`);
  return path;
}

/** Parse and check the structure of a model.json. */
export function parseModelJson(text: string, where: string): tf.io.ModelJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${where}: model.json is not valid JSON (${(e as Error).message})`);
  }
  const j = json as Partial<tf.io.ModelJSON>;
  if (json === null || typeof json !== 'object' || !Array.isArray(j.weightsManifest)) {
    throw new CheckpointError(`${where}: model.json has no "weightsManifest" array`);
  }
  j.weightsManifest.forEach((group, i) => {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new CheckpointError(`${where}: weightsManifest[${i}] must have "paths" and "weights" arrays`);
    }
    for (const p of group.paths) checkManifestPath(p, where);
    for (const w of group.weights) specByteLength(w, where);
  });
  return j as tf.io.ModelJSON;
}

/** Model artifacts' weight data as one ArrayBuffer. */
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
