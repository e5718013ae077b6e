import * as tf from '@tensorflow/tfjs-core';

type NamedTensor = { name: string; tensor: tf.Tensor };
import type { GenerativeModel } from '../model';
import { ConfigError, createModel, getVariant, listVariants } from '../registry';
import type { RngState } from '../rng';
import type { Optimizer, OptimizerConfig } from '../train/optimizers';
import { CheckpointError, InputError } from '../errors';
import { HttpCheckpointHandler } from './http';
import {
  type CheckpointSource,
  CHECKPOINT_FORMAT_VERSION,
  checkElboMetadata,
  checkpointError,
  checkWeightsManifest,
  ELBO_FORMAT,
  type ElboMetadata,
  weightBuffer,
} from './manifest';
import { checkModelSize, MAX_MODEL_PARAMETERS } from './model-size';
import { NodeDirectoryHandler } from './node-directory';

/** A directory path (Node), a tfjs URL ('indexeddb://name', 'downloads://name', 'http(s)://.../model.json', 'file://dir') or any tf.io.IOHandler. */
export type CheckpointTarget = string | tf.io.IOHandler;

const OPTIMIZER_PREFIX = 'optimizer/';

function isNodeRuntime(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

function handlerFor(target: CheckpointTarget, mode: 'save' | 'load'): tf.io.IOHandler {
  if (typeof target !== 'string') {
    if (target === null || typeof target !== 'object' || typeof (mode === 'save' ? target.save : target.load) !== 'function') {
      throw new Error(`${mode}: target must be a directory path, a tfjs URL or a tf.io.IOHandler with a ${mode}() method`);
    }
    return target;
  }
  if (target.startsWith('file://')) return new NodeDirectoryHandler(decodeURIComponent(target.slice('file://'.length)));
  if (mode === 'load' && /^https?:\/\//i.test(target)) return new HttpCheckpointHandler(target);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const handlers = mode === 'save' ? tf.io.getSaveHandlers(target) : tf.io.getLoadHandlers(target);
    if (handlers.length === 0) throw new Error(`${mode}: no tf.io handler for ${JSON.stringify(target)} (in Node use a directory path; in a browser indexeddb://, downloads:// or http(s)://)`);
    return handlers[0];
  }
  if (!isNodeRuntime()) throw new Error(`${mode}: ${JSON.stringify(target)} is a directory path, which needs Node; in a browser use indexeddb://, downloads:// or http(s)://`);
  return new NodeDirectoryHandler(target);
}

/** Dotted name of every trainable parameter, in `model.parameters()` order. */
export function parameterNames(model: GenerativeModel): string[] {
  const byVar = new Map<tf.Variable, string>();
  for (const [name, v] of model.namedVariables()) byVar.set(v, name);
  return model.parameters().map((p, i) => {
    const name = byVar.get(p);
    if (name === undefined) throw new Error(`model.parameters()[${i}] is not among model.namedVariables()`);
    return name;
  });
}

function artifactsOf(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, meta: ElboMetadata): tf.io.ModelArtifacts {
  return {
    format: ELBO_FORMAT,
    generatedBy: '@elbo/core',
    convertedBy: null,
    modelTopology: null as unknown as {},
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { elbo: meta as unknown as {} },
  };
}

async function write(target: CheckpointTarget, tensors: NamedTensor[], meta: ElboMetadata): Promise<tf.io.SaveResult> {
  const handler = handlerFor(target, 'save');
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return handler.save!(artifactsOf(specs, weightBuffer(data), meta));
}

function baseMeta(model: GenerativeModel, kind: 'model' | 'checkpoint'): ElboMetadata {
  return { formatVersion: CHECKPOINT_FORMAT_VERSION, kind, variant: model.variant, config: { ...model.config } };
}

function modelTensors(model: GenerativeModel): NamedTensor[] {
  return [...model.namedVariables()].map(([name, tensor]) => ({ name, tensor }));
}

/**
 * Save a model's config and every variable (parameters and buffers).
 * @example await saveModel(model, './runs/vae')            // Node directory
 * @example await saveModel(model, 'indexeddb://my-vae')    // browser
 */
export async function saveModel(model: GenerativeModel, target: CheckpointTarget): Promise<tf.io.SaveResult> {
  return write(target, modelTensors(model), baseMeta(model, 'model'));
}

/** Trainer state a checkpoint carries besides weights. */
export interface CheckpointState {
  /** Global step count (updates applied). */
  step: number;
  /** Epoch to continue from. */
  epoch: number;
  optimizer?: Optimizer;
  /** JSON-serialisable trainer bookkeeping (lr scale, early-stopping counters, history, ...). */
  trainer?: unknown;
}

/** Save weights, config, optimizer state, step, epoch and the model's RNG state. */
export async function saveCheckpoint(model: GenerativeModel, target: CheckpointTarget, state: CheckpointState): Promise<tf.io.SaveResult> {
  const meta: ElboMetadata = { ...baseMeta(model, 'checkpoint'), step: state.step, epoch: state.epoch, rng: model.rng.getState() };
  const tensors = modelTensors(model);
  if (state.optimizer) {
    const opt = state.optimizer;
    meta.optimizer = { config: { ...opt.config }, iterations: opt.iterations, learningRate: opt.learningRate };
    for (const [name, tensor] of opt.namedState(parameterNames(model))) tensors.push({ name: OPTIMIZER_PREFIX + name, tensor });
  }
  if (state.trainer !== undefined) meta.trainer = state.trainer;
  return write(target, tensors, meta);
}

interface ReadArtifacts {
  meta: ElboMetadata;
  weights: tf.NamedTensorMap;
}

/**
 * Check what a handler returned before decoding anything: the specs (as a
 * manifest), the weight data (an ArrayBuffer or a list of them, exactly as
 * long as the specs need) and the elbo metadata. Returns tensors the caller
 * disposes.
 */
function decode(artifacts: unknown, src: CheckpointSource): { meta: ElboMetadata; weights: tf.NamedTensorMap } {
  if (artifacts === null || typeof artifacts !== 'object') throw checkpointError(src, `the handler returned ${JSON.stringify(artifacts)}, not model artifacts`);
  const a = artifacts as tf.io.ModelArtifacts;
  const meta = checkElboMetadata(a.userDefinedMetadata, src);
  const specs = a.weightSpecs ?? [];
  const [group] = checkWeightsManifest([{ paths: [], weights: specs }], src);
  const raw = a.weightData as unknown;
  const isBuffer = (b: unknown) => b instanceof ArrayBuffer || (ArrayBuffer.isView(b) && b.buffer instanceof ArrayBuffer);
  if (raw !== undefined && !isBuffer(raw) && !(Array.isArray(raw) && raw.every((b) => b instanceof ArrayBuffer))) {
    throw checkpointError(src, 'weight data is not an ArrayBuffer', 'weightData');
  }
  const data = ArrayBuffer.isView(raw) ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice().buffer : weightBuffer(raw as tf.io.WeightData | undefined);
  if (data.byteLength < group.bytes) throw checkpointError(src, `weight data is truncated: ${data.byteLength} bytes, the manifest needs ${group.bytes}`, 'weightData');
  if (data.byteLength > group.bytes) throw checkpointError(src, `weight data is oversized: ${data.byteLength} bytes, the manifest needs ${group.bytes}`, 'weightData');
  return { meta, weights: tf.io.decodeWeights(data, group.weights) };
}

/**
 * Check that `weights` has exactly the model's variables with their shapes and
 * dtypes (and, for a checkpoint with an optimizer, every optimizer slot).
 */
function checkAgainstModel(model: GenerativeModel, meta: ElboMetadata, weights: tf.NamedTensorMap, src: CheckpointSource): void {
  const vars = model.namedVariables();
  for (const [name, v] of vars) {
    const w = weights[name];
    if (!w) throw checkpointError(src, `variable "${name}" of the model is missing from the checkpoint`);
    if (!tf.util.arraysEqual(w.shape, v.shape)) throw checkpointError(src, `variable "${name}" has shape [${w.shape}] in the checkpoint, the model has [${v.shape}]`);
    if (w.dtype !== v.dtype) throw checkpointError(src, `variable "${name}" has dtype ${w.dtype} in the checkpoint, the model has ${v.dtype}`);
  }
  const optNames = new Set<string>();
  if (meta.optimizer) {
    const names = parameterNames(model);
    const slots = slotNames(meta.optimizer.config as OptimizerConfig, src);
    names.forEach((n, i) => {
      for (const slot of slots) {
        const key = `${OPTIMIZER_PREFIX}${n}/${slot}`;
        optNames.add(key);
        const w = weights[key];
        if (!w) throw checkpointError(src, `optimizer state "${key}" is missing`);
        const p = model.parameters()[i];
        if (!tf.util.arraysEqual(w.shape, p.shape)) throw checkpointError(src, `optimizer state "${key}" has shape [${w.shape}], the parameter has [${p.shape}]`);
      }
    });
  }
  for (const name of Object.keys(weights)) {
    if (!vars.has(name) && !optNames.has(name)) throw checkpointError(src, `the checkpoint has "${name}", which the model does not have`);
  }
}

function slotNames(config: OptimizerConfig, src: CheckpointSource): string[] {
  if (config?.kind === 'adam') return ['m', 'v'];
  if (config?.kind === 'sgd') return (config.momentum ?? 0) > 0 ? ['momentum'] : [];
  throw checkpointError(src, `unknown optimizer ${JSON.stringify(config?.kind)} (allowed: adam, sgd)`, 'userDefinedMetadata.elbo.optimizer.config.kind');
}

async function read(source: CheckpointTarget): Promise<ReadArtifacts & { src: CheckpointSource }> {
  const handler = handlerFor(source, 'load');
  // Errors name the file: the directory's model.json, the URL, or the target string; a custom handler is just "checkpoint".
  const name = typeof source === 'string' ? source : handler instanceof HttpCheckpointHandler ? handler.url : handler instanceof NodeDirectoryHandler ? handler.dir : undefined;
  const src: CheckpointSource = {
    where: name === undefined ? 'checkpoint' : `checkpoint ${name}`,
    file: handler instanceof NodeDirectoryHandler ? `${handler.dir}/model.json` : (name ?? 'checkpoint'),
  };
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load!();
  } catch (e) {
    // Everything a load does is reading the source; what tfjs's handlers throw (a missing IndexedDB entry, a bad response) is bad input too.
    if (e instanceof InputError) throw e;
    throw checkpointError(src, `cannot be loaded (${(e as Error)?.message ?? String(e)})`);
  }
  const { meta, weights } = decode(artifacts, src);
  return { meta, weights, src };
}

function assignAll(model: GenerativeModel, weights: tf.NamedTensorMap): void {
  for (const [name, v] of model.namedVariables()) v.assign(weights[name]);
}

/**
 * Build a model from a save: its config goes through `createModel` (the
 * variant's package must be imported so it is registered), then every
 * variable is loaded. Refuses unknown variants, mismatched shapes or dtypes
 * and bad weight files with a CheckpointError.
 */
export async function loadModel(source: CheckpointTarget): Promise<GenerativeModel> {
  const { meta, weights, src } = await read(source);
  try {
    if (!getVariant(meta.config.variant as string)) {
      throw checkpointError(
        src,
        `variant "${String(meta.config.variant)}" is not registered (registered: ${listVariants().join(', ') || 'none'}); import its package (e.g. @elbo/vae) before loading`,
      );
    }
    let model: GenerativeModel;
    try {
      // The weights bound the model: a config describing far more parameters than the file holds is refused before createModel allocates them.
      const elements = Object.values(weights).reduce((s, t) => s + t.size, 0);
      checkModelSize(meta.config, Math.min(MAX_MODEL_PARAMETERS, 4 * elements + 1_000_000));
      model = createModel(meta.config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const field = e.field === undefined ? 'userDefinedMetadata.elbo.config' : `userDefinedMetadata.elbo.config.${e.field}`;
      throw checkpointError(src, `the saved config is invalid: ${e.message}`, field);
    }
    try {
      checkAgainstModel(model, { ...meta, optimizer: undefined }, filterModelWeights(weights), src);
      assignAll(model, weights);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  } finally {
    tf.dispose(Object.values(weights));
  }
}

function filterModelWeights(weights: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(weights).filter(([k]) => !k.startsWith(OPTIMIZER_PREFIX)));
}

/** What `loadCheckpoint` restored besides the weights and the model's RNG. */
export interface LoadedCheckpoint {
  step: number;
  epoch: number;
  /** Optimizer config and state (tensors owned by the caller: pass to `Optimizer.setState`, then `dispose()`). */
  optimizer?: {
    config: OptimizerConfig;
    iterations: number;
    learningRate: number;
    state: Map<string, tf.Tensor>;
    dispose(): void;
  };
  trainer?: unknown;
}

/**
 * Restore a checkpoint into an existing model: weights, buffers and RNG
 * state; returns step, epoch, optimizer state and trainer state. Everything
 * is checked before anything is assigned: on any error the model is untouched.
 */
export async function loadCheckpoint(source: CheckpointTarget, model: GenerativeModel): Promise<LoadedCheckpoint> {
  const { meta, weights, src } = await read(source);
  let handedOver = false;
  try {
    if (meta.variant !== model.variant || meta.config.variant !== model.variant) {
      throw checkpointError(src, `the checkpoint is of variant "${String(meta.config.variant)}", the model is "${model.variant}"`);
    }
    checkAgainstModel(model, meta, weights, src);
    if (meta.rng) model.rng.setState(meta.rng as RngState);
    assignAll(model, weights);
    const out: LoadedCheckpoint = { step: meta.step ?? 0, epoch: meta.epoch ?? 0, trainer: meta.trainer };
    if (meta.optimizer) {
      const state = new Map<string, tf.Tensor>();
      for (const [k, t] of Object.entries(weights)) if (k.startsWith(OPTIMIZER_PREFIX)) state.set(k.slice(OPTIMIZER_PREFIX.length), t);
      out.optimizer = {
        config: meta.optimizer.config as OptimizerConfig,
        iterations: meta.optimizer.iterations,
        learningRate: meta.optimizer.learningRate,
        state,
        dispose: () => tf.dispose([...state.values()]),
      };
      handedOver = true;
      tf.dispose(Object.entries(weights).filter(([k]) => !k.startsWith(OPTIMIZER_PREFIX)).map(([, t]) => t));
    }
    return out;
  } finally {
    if (!handedOver) tf.dispose(Object.values(weights));
  }
}
