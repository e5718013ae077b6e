import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import type { GenerativeModel } from '../model';
import { createModel } from '../registry';
import { registerTinyVae } from '../testing/tiny-model';
import { Adam } from '../train/optimizers';
import { loadCheckpoint, loadModel, parameterNames, saveCheckpoint, saveModel } from './checkpoint';
import { checkModelSize, estimateParameters } from './model-size';
import { NodeDirectoryHandler } from './node-directory';

const variant = registerTinyVae('tiny-io');
const config = { variant, inputDim: 5, hiddenDim: 6, latentDim: 2, seed: 4 };

let before = 0;
let model: GenerativeModel;
beforeEach(() => {
  before = tf.memory().numTensors;
  model = createModel(config);
});
afterEach(() => {
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

const tmp = () => mkdtempSync(join(tmpdir(), 'elbo-io-'));
const weights = (m: GenerativeModel) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())] as const);
const x = () => tf.tensor2d([[0.1, -0.2, 0.3, 0.5, -1], [1, 0, -1, 0.5, 0.25]]);
function reconstruction(m: GenerativeModel): number[] {
  const input = x();
  const y = m.reconstruct(input);
  const out = Array.from(y.dataSync());
  tf.dispose([input, y]);
  return out;
}
const modelJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const editModelJson = (dir: string, edit: (j: any) => void) => {
  const j = modelJson(dir);
  edit(j);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
};

describe('saveModel / loadModel', () => {
  it('round-trips config and weights through a directory in the tfjs weights-manifest format', async () => {
    const dir = tmp();
    await saveModel(model, dir);
    const j = modelJson(dir);
    expect(j.format).toBe('elbo');
    expect(j.modelTopology).toBeNull();
    expect(j.weightsManifest).toHaveLength(1);
    expect(j.weightsManifest[0].paths).toHaveLength(1);
    expect(j.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual([...model.namedVariables().keys()]);
    expect(j.userDefinedMetadata.elbo.config).toMatchObject(config);
    const bytes = j.weightsManifest[0].weights.reduce((s: number, w: { shape: number[] }) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    expect(statSync(join(dir, j.weightsManifest[0].paths[0])).size).toBe(bytes);
    const loaded = await loadModel(dir);
    expect(loaded.variant).toBe(variant);
    expect(weights(loaded)).toEqual(weights(model));
    expect(reconstruction(loaded)).toEqual(reconstruction(model));
    loaded.dispose();
  });

  it('splits into shards and reads them back', async () => {
    const dir = tmp();
    await new NodeDirectoryHandler(dir, { shardBytes: 64 }).save(await artifactsOf(model));
    expect(modelJson(dir).weightsManifest[0].paths.length).toBeGreaterThan(3);
    const loaded = await loadModel(`file://${dir}`);
    expect(weights(loaded)).toEqual(weights(model));
    loaded.dispose();
  });

  it('saves through any tf.io.IOHandler and loads from memory', async () => {
    let saved: tf.io.ModelArtifacts | undefined;
    await saveModel(model, tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(saved!.weightSpecs!.length).toBe(model.namedVariables().size);
    const loaded = await loadModel(tf.io.fromMemory(saved!));
    expect(weights(loaded)).toEqual(weights(model));
    loaded.dispose();
  });

  it('routes tfjs URLs to tf.io handlers and explains the ones this platform lacks', async () => {
    await expect(saveModel(model, 'indexeddb://my-vae')).rejects.toThrow(/no tf.io handler for "indexeddb:\/\/my-vae"/);
    await expect(loadModel({} as never)).rejects.toThrow(/tf.io.IOHandler with a load\(\) method/);
  });

  it('saves over HTTP (tf.io.http POSTs multipart form data) to a local server', async () => {
    const dir = tmp();
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type']! } }).formData();
      for (const name of ['model.json', 'model.weights.bin']) writeFileSync(join(dir, name), Buffer.from(await (form.get(name) as Blob).arrayBuffer()));
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      await saveModel(model, `http://127.0.0.1:${port}/upload`);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'model.weights.bin']);
    const loaded = await loadModel(dir);
    expect(weights(loaded)).toEqual(weights(model));
    loaded.dispose();
  });

  it('loads over HTTP from a local server (tf.io.http)', async () => {
    const dir = tmp();
    await saveModel(model, dir);
    const server = createServer((req, res) => {
      const file = join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/ckpt\//, ''));
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const loaded = await loadModel(`http://127.0.0.1:${port}/ckpt/model.json`);
      expect(weights(loaded)).toEqual(weights(model));
      expect(reconstruction(loaded)).toEqual(reconstruction(model));
      loaded.dispose();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

async function artifactsOf(m: GenerativeModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await saveModel(m, tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

describe('checkpoints', () => {
  async function trainedOptimizer(m: GenerativeModel): Promise<Adam> {
    const opt = new Adam(0.01);
    for (let i = 0; i < 2; i++) {
      const input = x();
      const { value, grads } = tf.variableGrads(() => m.loss({ x: input }).loss, m.parameters());
      opt.apply(m.parameters(), m.parameters().map((p) => grads[p.name]));
      tf.dispose([input, value, ...Object.values(grads)]);
    }
    return opt;
  }

  it('hold optimizer state, step, epoch, RNG state and trainer state', async () => {
    const dir = tmp();
    const opt = await trainedOptimizer(model);
    model.rng.nextUint32();
    await saveCheckpoint(model, dir, { step: 2, epoch: 1, optimizer: opt, trainer: { note: 'kept' } });
    const other = createModel(config);
    const ck = await loadCheckpoint(dir, other);
    expect(ck.step).toBe(2);
    expect(ck.epoch).toBe(1);
    expect(ck.trainer).toEqual({ note: 'kept' });
    expect(other.rng.getState()).toEqual(model.rng.getState());
    expect(weights(other)).toEqual(weights(model));
    expect(ck.optimizer!.iterations).toBe(2);
    const names = parameterNames(model);
    for (const [k, v] of opt.namedState(names)) expect(Array.from(ck.optimizer!.state.get(k)!.dataSync())).toEqual(Array.from(v.dataSync()));
    ck.optimizer!.dispose();
    opt.dispose();
    other.dispose();
  });

  it('writes atomically: a save that dies before the commit leaves the previous checkpoint as the latest', async () => {
    const dir = tmp();
    await saveCheckpoint(model, dir, { step: 1, epoch: 0 });
    const good = weights(model);
    const firstShards = modelJson(dir).weightsManifest[0].paths;
    tf.tidy(() => model.parameters()[0].assign(tf.zerosLike(model.parameters()[0])));
    const crashing = new NodeDirectoryHandler(dir, {
      beforeCommit: () => {
        throw new Error('simulated crash');
      },
    });
    await expect(saveCheckpoint(model, crashing, { step: 2, epoch: 0 })).rejects.toThrow('simulated crash');
    // A half-written file of a crashed write, as a kill during writeFile would leave.
    writeFileSync(join(dir, 'model.json.123.abc.elbo-tmp'), '{"weightsMan');
    expect(modelJson(dir).weightsManifest[0].paths).toEqual(firstShards);
    const other = createModel(config);
    const ck = await loadCheckpoint(dir, other);
    expect(ck.step).toBe(1);
    expect(weights(other)).toEqual(good);
    // The next good save commits and removes the orphaned shards and temporaries.
    await saveCheckpoint(model, dir, { step: 3, epoch: 0 });
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['model.json', ...modelJson(dir).weightsManifest[0].paths].sort());
    other.dispose();
  });

  describe('refuses bad checkpoints and leaves the model untouched', () => {
    async function expectRefused(dir: string, pattern: RegExp, target: GenerativeModel = model): Promise<void> {
      const w = weights(target);
      const rng = target.rng.getState();
      await expect(loadCheckpoint(dir, target)).rejects.toThrow(pattern);
      expect(weights(target)).toEqual(w);
      expect(target.rng.getState()).toEqual(rng);
    }

    async function savedFrom(config2 = config): Promise<string> {
      const dir = tmp();
      const m = createModel(config2);
      await trainedOptimizer(m).then(async (opt) => {
        m.rng.nextUint32();
        await saveCheckpoint(m, dir, { step: 5, epoch: 2, optimizer: opt });
        opt.dispose();
      });
      m.dispose();
      return dir;
    }

    it('manifest paths with ../', async () => {
      const dir = await savedFrom();
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = ['../escape.bin']));
      await expectRefused(dir, /"\.\.\/escape\.bin" leaves the checkpoint directory/);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = ['sub/../../escape.bin']));
      await expectRefused(dir, /leaves the checkpoint directory/);
    });

    it('absolute manifest paths', async () => {
      const dir = await savedFrom();
      const shard = join(dir, modelJson(dir).weightsManifest[0].paths[0]);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = [shard]));
      await expectRefused(dir, /leaves the checkpoint directory/);
      editModelJson(dir, (j) => (j.weightsManifest[0].paths = ['C:\\weights.bin']));
      await expectRefused(dir, /leaves the checkpoint directory/);
    });

    it('shapes that do not match the model', async () => {
      const dir = await savedFrom({ ...config, hiddenDim: 7 });
      await expectRefused(dir, /variable "encoder\.body\.0\.kernel" has shape \[5,7\] in the checkpoint, the model has \[5,6\]/);
    });

    it('dtypes that do not match the model', async () => {
      const dir = await savedFrom();
      editModelJson(dir, (j) => (j.weightsManifest[0].weights[0].dtype = 'int32'));
      await expectRefused(dir, /has dtype int32 in the checkpoint, the model has float32/);
    });

    it('truncated weight files', async () => {
      const dir = await savedFrom();
      const shard = join(dir, modelJson(dir).weightsManifest[0].paths[0]);
      truncateSync(shard, statSync(shard).size - 4);
      await expectRefused(dir, /truncated: \d+ bytes, the manifest needs \d+/);
    });

    it('oversized weight files', async () => {
      const dir = await savedFrom();
      appendFileSync(join(dir, modelJson(dir).weightsManifest[0].paths[0]), Buffer.alloc(8));
      await expectRefused(dir, /oversized: \d+ bytes, the manifest needs \d+/);
    });

    it('unknown variants', async () => {
      const dir = await savedFrom();
      editModelJson(dir, (j) => {
        j.userDefinedMetadata.elbo.config.variant = 'no-such-vae';
        j.userDefinedMetadata.elbo.variant = 'no-such-vae';
      });
      await expectRefused(dir, /variant "no-such-vae", the model is "tiny-io"/);
      await expect(loadModel(dir)).rejects.toThrow(/variant "no-such-vae" is not registered \(registered: .*tiny-io.*\); import its package/);
    });

    it('missing optimizer state, missing or foreign weights, bad JSON, no checkpoint', async () => {
      const dir = await savedFrom();
      editModelJson(dir, (j) => (j.weightsManifest[0].weights[0].name = 'something.else'));
      await expectRefused(dir, /variable "encoder\.body\.0\.kernel" of the model is missing/);
      writeFileSync(join(dir, 'model.json'), '{"weightsManifest": [');
      await expectRefused(dir, /model\.json is not valid JSON/);
      await expectRefused(join(dir, 'nope'), /cannot read model\.json \(ENOENT\)/);
    });
  });
});

describe('model size estimate', () => {
  it('counts the networks, not data counts: a 4096-512-512-10 model with datasetSize 737,280 is about 4.7 M parameters', () => {
    const config = { variant: 'probe', inputShape: [4096], hiddenDims: [512, 512], latentDim: 10, datasetSize: 737_280, iwaeSamples: 5000 };
    // Encoder 4096-512-512-20 and decoder 10-512-512-4096, weights and biases.
    const exact = 4096 * 512 + 512 + 512 * 512 + 512 + 512 * 20 + 20 + (10 * 512 + 512 + 512 * 512 + 512 + 512 * 4096 + 4096);
    expect(estimateParameters(config)).toBe(exact);
    // The bound a checkpoint of that model is loaded under (4 x its weights + 1 M) lets it through.
    expect(() => checkModelSize(config, 4 * exact + 1_000_000)).not.toThrow();
    expect(() => checkModelSize({ ...config, latentDim: 3e8 }, 4 * exact + 1_000_000)).toThrow(/field "latentDim"/);
    // Without inputShape (left to a schema default) the other sizes still count: 10 million dense blocks are refused.
    expect(() => checkModelSize({ variant: 'probe', latentDims: [32, 16, 8], hiddenDims: [256, 128, 64], blockDepth: 1e7 }, 2 ** 18)).toThrow(/field "blockDepth"/);
  });
});
