import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { CheckpointError } from '../errors';
import type { GenerativeModel } from '../model';
import { createModel } from '../registry';
import { registerTinyVae } from '../testing/tiny-model';
import { Adam } from '../train/optimizers';
import { loadCheckpoint, loadModel, saveCheckpoint } from './checkpoint';
import {
  copyCheckpoint,
  expectInputError,
  type FileMutation,
  fileMutation,
  fuzzRuns,
  mutateFiles,
  mutateJson,
  removeTree,
  withinTime,
} from './fuzz-support';
import { NodeDirectoryHandler } from './node-directory';

// Property: loading a mutated checkpoint directory either succeeds with a
// valid result or throws a CheckpointError naming a file in the directory;
// it never throws anything else, never hangs, never opens a file outside the
// directory, never changes the directory, and a refused load leaves the
// model's weights and RNG as they were and no tensor behind.

const variant = registerTinyVae('tiny-fuzz');
const config = { variant, inputDim: 5, latentDim: 2, seed: 4 };

// Every path the loaders open or read, to check none is outside the checkpoint directory.
const opened: string[] = [];
const fspMutable = createRequire(import.meta.url)('node:fs/promises') as Record<string, unknown>;
const originals = { readFile: fspMutable.readFile, open: fspMutable.open } as Record<string, (...a: unknown[]) => unknown>;

let seedFiles: Map<string, Uint8Array>;
let seedJson: unknown;
let outsideBytes: Uint8Array;
let target: GenerativeModel;

const weights = (m: GenerativeModel) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())] as const);

beforeAll(async () => {
  for (const name of ['readFile', 'open']) {
    fspMutable[name] = (p: unknown, ...rest: unknown[]) => {
      opened.push(String(p));
      return originals[name](p, ...rest);
    };
  }
  // Makes the patched functions visible to `import('node:fs/promises')`.
  (createRequire(import.meta.url)('node:module') as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
  const model = createModel(config);
  const opt = new Adam(0.01);
  const x = tf.tensor2d([[0.1, -0.2, 0.3, 0.5, -1]]);
  for (let i = 0; i < 2; i++) {
    const { value, grads } = tf.variableGrads(() => model.loss({ x }).loss, model.parameters());
    opt.apply(model.parameters(), model.parameters().map((p) => grads[p.name]));
    tf.dispose([value, ...Object.values(grads)]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'elbo-fuzz-seed-'));
  await saveCheckpoint(model, new NodeDirectoryHandler(dir, { shardBytes: 256 }), { step: 7, epoch: 1, optimizer: opt, trainer: { note: 'seed' } });
  tf.dispose(x);
  opt.dispose();
  model.dispose();
  seedFiles = new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
  seedJson = JSON.parse(new TextDecoder().decode(seedFiles.get('model.json')));
  const firstShard = (seedJson as { weightsManifest: { paths: string[] }[] }).weightsManifest[0].paths[0];
  // Bait: a file outside the directory exactly as long as a shard, so a path that escapes would pass the size check.
  outsideBytes = seedFiles.get(firstShard)!;
  target = createModel(config);
  removeTree(dir);
});

afterAll(() => {
  Object.assign(fspMutable, originals);
  (createRequire(import.meta.url)('node:module') as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
  target?.dispose();
});

function materialise(mutations: FileMutation[]): { root: string; dir: string } {
  const files = new Map(seedFiles);
  const text = JSON.stringify(mutateJson(seedJson, mutations));
  files.set('model.json', new TextEncoder().encode(text ?? ''));
  const out = copyCheckpoint(files, outsideBytes);
  mutateFiles(out.dir, out.root, mutations);
  return out;
}

function snapshot(dir: string): string {
  return JSON.stringify(readdirSync(dir).sort().map((f) => {
    const st = statSync(join(dir, f), { throwIfNoEntry: false });
    return [f, st?.isFile() ? Buffer.from(readFileSync(join(dir, f))).toString('base64') : String(st?.isDirectory())];
  }));
}

function expectReadsInside(dir: string, from: number): void {
  const real = realpathSync(dir);
  for (const p of opened.slice(from)) {
    let resolved = p;
    try {
      resolved = realpathSync(p);
    } catch {
      /* a path that does not exist was not read */
    }
    const rel = relative(real, resolved);
    expect(rel.startsWith('..') || rel.startsWith('/'), `read outside the checkpoint directory: ${p}`).toBe(false);
  }
}

const mutations = fc.array(fileMutation, { minLength: 1, maxLength: 3 });

async function checkLoadCheckpoint(muts: FileMutation[]): Promise<void> {
  const { root, dir } = materialise(muts);
  try {
    const before = snapshot(dir);
    const w = weights(target);
    const rng = target.rng.getState();
    const tensors = tf.memory().numTensors;
    const from = opened.length;
    try {
      const ck = await withinTime(() => loadCheckpoint(dir, target), 'loadCheckpoint');
      expect(Number.isSafeInteger(ck.step) && ck.step >= 0).toBe(true);
      expect(Number.isSafeInteger(ck.epoch) && ck.epoch >= 0).toBe(true);
      ck.optimizer?.dispose();
    } catch (e) {
      expectInputError(e, (f) => f.startsWith(dir));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(weights(target)).toEqual(w);
      expect(target.rng.getState()).toEqual(rng);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expectReadsInside(dir, from);
    expect(snapshot(dir)).toBe(before);
  } finally {
    removeTree(root);
  }
}

async function checkLoadModel(muts: FileMutation[]): Promise<void> {
  const { root, dir } = materialise(muts);
  try {
    const tensors = tf.memory().numTensors;
    const from = opened.length;
    try {
      const m = await withinTime(() => loadModel(dir), 'loadModel');
      expect(m.variant).toBe(variant);
      m.dispose();
    } catch (e) {
      expectInputError(e, (f) => f.startsWith(dir));
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expectReadsInside(dir, from);
  } finally {
    removeTree(root);
  }
}

describe('checkpoint directories under mutation (fast-check)', () => {
  it(`loadCheckpoint: a valid result or a CheckpointError naming the file, model untouched (${fuzzRuns} cases)`, async () => {
    await fc.assert(fc.asyncProperty(mutations, checkLoadCheckpoint), { numRuns: fuzzRuns });
  });

  it(`loadModel: a model or a CheckpointError naming the file (${fuzzRuns} cases)`, async () => {
    await fc.assert(fc.asyncProperty(mutations, checkLoadModel), { numRuns: fuzzRuns });
  });
});

describe('checkpoint regressions (cases the fuzzer or a reading of the loader found)', () => {
  const set = (path: (string | number)[], value: unknown): FileMutation[] => {
    // Index of `path` among jsonPaths(seedJson), computed on the seed.
    const all: string[] = [];
    const walk = (v: unknown, p: (string | number)[]) => {
      all.push(JSON.stringify(p));
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(seedJson, []);
    const i = all.indexOf(JSON.stringify(path));
    if (i < 0) throw new Error(`no ${JSON.stringify(path)} in the seed`);
    return [{ kind: 'set', path: i, value }];
  };

  it('a manifest entry that is null (was a TypeError reading .dtype)', async () => {
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'weights', 0], null));
    await checkLoadModel(set(['weightsManifest', 0, 'weights', 0], null));
  });

  it('a weight name that is not a string, or a dtype "constructor" (was read from the prototype)', async () => {
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'weights', 0, 'name'], 42));
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'weights', 0, 'dtype'], 'constructor'));
  });

  it('an RNG state that is not an object, or out of range (was a TypeError, after nothing was checked)', async () => {
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'rng'], null));
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'rng', 'a'], -4));
  });

  it('step, epoch and optimizer fields of the wrong type (were returned as they were)', async () => {
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'step'], '7'));
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'optimizer', 'iterations'], -1));
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'optimizer', 'config', 'beta1'], 'x'));
    await checkLoadCheckpoint(set(['userDefinedMetadata', 'elbo', 'optimizer', 'learningRate'], null));
  });

  it('a saved config the variant refuses (was a ConfigError without the file)', async () => {
    await checkLoadModel(set(['userDefinedMetadata', 'elbo', 'config', 'latentDim'], -3));
  });

  it('a saved config describing far more parameters than the weights hold (createModel allocated 3e8-wide layers first)', async () => {
    const muts = set(['userDefinedMetadata', 'elbo', 'config', 'latentDim'], 309365798);
    await checkLoadModel(muts);
    const { root, dir } = materialise(muts);
    try {
      await expect(loadModel(dir)).rejects.toMatchObject({ name: 'CheckpointError', field: 'userDefinedMetadata.elbo.config.latentDim' });
    } finally {
      removeTree(root);
    }
  });

  it('a shape whose byte count is not a safe integer (6 TB and beyond)', async () => {
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'weights', 0, 'shape'], [2 ** 32, 2 ** 32]));
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'weights', 0, 'shape'], [1e6, 1e6, 1e6]));
  });

  it('a path through a linked directory that points outside (passed the lexical check)', async () => {
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'paths', 0], 'link/outside.bin'));
  });

  it('a model.json that is a FIFO (readFile would wait forever for a writer)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'elbo-fuzz-fifo-'));
    try {
      execFileSync('mkfifo', [join(root, 'model.json')]);
      await expect(withinTime(() => loadCheckpoint(root, target), 'loadCheckpoint')).rejects.toThrow(/model\.json is not a regular file/);
    } finally {
      removeTree(root);
    }
  });

  it('a shard that is a symlink to a file outside', async () => {
    await checkLoadCheckpoint([{ kind: 'replace', file: 1, with: 'symlink-outside' }]);
  });

  it('the same path twice in one group', async () => {
    const paths = (seedJson as { weightsManifest: { paths: string[] }[] }).weightsManifest[0].paths;
    await checkLoadCheckpoint(set(['weightsManifest', 0, 'paths'], [paths[0], paths[0], ...paths.slice(2)]));
  });
});

