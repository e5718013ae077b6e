import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { CheckpointError } from '../errors';
import type { GenerativeModel } from '../model';
import { createModel } from '../registry';
import { registerTinyVae } from '../testing/tiny-model';
import { loadCheckpoint } from './checkpoint';
import { copyCheckpoint, expectInputError, type FileMutation, fileMutation, fuzzRuns, mutateFiles, mutateJson, removeTree, saveSeedCheckpoint, withinTime } from './fuzz-support';
import { HttpCheckpointHandler } from './http';
import { NodeDirectoryHandler } from './node-directory';

// Property: loading a mutated checkpoint over http(s) from a server that may
// also misbehave (error statuses, a stalled response, a body longer than it
// says or than the manifest allows) either succeeds or throws a
// CheckpointError naming a URL of the server; it never asks the server for a
// path outside the checkpoint's folder, never hangs, and a refused load
// leaves the model untouched and no tensor behind.

const variant = registerTinyVae('tiny-http-fuzz');
const config = { variant, inputDim: 5, latentDim: 2, seed: 4 };

type ServerMutation = { kind: 'status'; file: number; code: number } | { kind: 'stall'; file: number } | { kind: 'endless'; file: number } | { kind: 'short'; file: number };
const serverMutation: fc.Arbitrary<ServerMutation> = fc.oneof(
  fc.record({ kind: fc.constant('status' as const), file: fc.nat(), code: fc.constantFrom(301, 404, 500, 204) }),
  fc.record({ kind: fc.constant('stall' as const), file: fc.nat() }),
  fc.record({ kind: fc.constant('endless' as const), file: fc.nat() }),
  fc.record({ kind: fc.constant('short' as const), file: fc.nat() }),
);

let seedFiles: Map<string, Uint8Array>;
let seedJson: unknown;
let target: GenerativeModel;
let server: Server;
let base = '';
let serving: { dir: string; names: string[]; mutations: ServerMutation[] } | undefined;
const requested: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'elbo-http-seed-'));
  await saveSeedCheckpoint(config, new NodeDirectoryHandler(dir, { shardBytes: 256 }));
  seedFiles = new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
  seedJson = JSON.parse(new TextDecoder().decode(seedFiles.get('model.json')));
  removeTree(dir);
  target = createModel(config);
  server = createServer((req, res) => {
    requested.push(req.url ?? '');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!serving || !path.startsWith('/ckpt/')) return void res.writeHead(404).end();
    const name = path.slice('/ckpt/'.length);
    const index = serving.names.indexOf(name);
    for (const m of serving.mutations) {
      if (m.file % serving.names.length !== index) continue;
      if (m.kind === 'status') return void res.writeHead(m.code, m.code === 301 ? { location: '/elsewhere' } : {}).end();
      if (m.kind === 'stall') return; // never answers
      if (m.kind === 'endless') {
        res.writeHead(200);
        // One chunk per turn until the client goes away (a loop of writes would spin on a closed socket).
        const chunk = Buffer.alloc(64 * 1024, 1);
        let closed = false;
        res.on('close', () => (closed = true));
        const pump = () => {
          if (closed || res.destroyed || res.writableEnded) return;
          if (res.write(chunk)) setImmediate(pump);
          else res.once('drain', pump);
        };
        return void pump();
      }
      if (m.kind === 'short') {
        res.writeHead(200, { 'content-length': '100000' });
        return void res.end(Buffer.alloc(10));
      }
    }
    const file = join(serving.dir, name);
    let st;
    try {
      st = statSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    if (!st.isFile()) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // Nothing a case read stays reachable (an endless body once spun the test server to 23 GB).
  expect(process.memoryUsage().arrayBuffers).toBeLessThan(512 * 2 ** 20);
  target?.dispose();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

const weights = (m: GenerativeModel) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())] as const);

async function check(muts: FileMutation[], serverMuts: ServerMutation[]): Promise<void> {
  const files = new Map(seedFiles);
  files.set('model.json', new TextEncoder().encode(JSON.stringify(mutateJson(seedJson, muts)) ?? ''));
  const { root, dir } = copyCheckpoint(files, seedFiles.values().next().value!);
  mutateFiles(dir, root, muts);
  serving = { dir, names: ['model.json', ...[...seedFiles.keys()].filter((f) => f !== 'model.json').sort()], mutations: serverMuts };
  const url = `${base}/ckpt/model.json`;
  const from = requested.length;
  const w = weights(target);
  const rng = target.rng.getState();
  const tensors = tf.memory().numTensors;
  try {
    const ck = await withinTime(() => loadCheckpoint(new HttpCheckpointHandler(url, { timeoutMs: 300, maxManifestBytes: 1 << 20, maxWeightBytes: 1 << 20 }), target), 'loadCheckpoint over http');
    ck.optimizer?.dispose();
  } catch (e) {
    expectInputError(e, (f) => f.startsWith(`${base}/`));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(weights(target)).toEqual(w);
    expect(target.rng.getState()).toEqual(rng);
  } finally {
    serving = undefined;
    removeTree(root);
  }
  expect(tf.memory().numTensors).toBe(tensors);
  for (const r of requested.slice(from)) expect(r.startsWith('/ckpt/') && !r.includes('..'), `request outside the checkpoint folder: ${r}`).toBe(true);
}

describe('the http checkpoint target under mutation (fast-check, a local server)', () => {
  it(`a valid result or a CheckpointError naming the URL (${fuzzRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fileMutation, { maxLength: 3 }), fc.array(serverMutation, { maxLength: 1 }), fc.nat({ max: 4 }), (muts, serverMuts, misbehave) =>
        check(muts, misbehave === 0 ? serverMuts : []),
      ),
      { numRuns: fuzzRuns },
    );
  });

  it('a string http URL goes through the checking handler (a ../ path is refused before any request for it)', async () => {
    const paths = (seedJson as { weightsManifest: { paths: string[] }[] }).weightsManifest[0].paths;
    const json = structuredClone(seedJson) as { weightsManifest: { paths: string[] }[] };
    json.weightsManifest[0].paths = ['../outside.bin', ...paths.slice(1)];
    const files = new Map(seedFiles);
    files.set('model.json', new TextEncoder().encode(JSON.stringify(json)));
    const { root, dir } = copyCheckpoint(files, files.get(paths[0])!);
    serving = { dir, names: [...files.keys()], mutations: [] };
    const from = requested.length;
    try {
      await expect(loadCheckpoint(`${base}/ckpt/model.json`, target)).rejects.toThrow(/"\.\.\/outside\.bin" leaves the checkpoint directory/);
      expect(requested.slice(from)).toEqual(['/ckpt/model.json']);
    } finally {
      serving = undefined;
      removeTree(root);
    }
  });

  it('an error from a handler object names its URL (it said only "checkpoint")', async () => {
    await check([{ kind: 'set', path: 50962951, value: null }], []);
  });

  it('an endless body is cut off at what the manifest allows', async () => {
    await check([], [{ kind: 'endless', file: 1 }]);
    await check([], [{ kind: 'endless', file: 0 }]);
  });

  it('a manifest declaring 16 GiB of weights is refused before any shard is fetched (an endless shard body was buffered up to it)', async () => {
    const json = structuredClone(seedJson) as { weightsManifest: { weights: { shape: number[] }[] }[] };
    json.weightsManifest[0].weights[0].shape = [2 ** 32];
    const files = new Map(seedFiles);
    files.set('model.json', new TextEncoder().encode(JSON.stringify(json)));
    const { root, dir } = copyCheckpoint(files, new Uint8Array(4));
    serving = { dir, names: ['model.json', ...[...seedFiles.keys()].filter((f) => f !== 'model.json').sort()], mutations: [{ kind: 'endless', file: 1 }] };
    const from = requested.length;
    try {
      await expect(loadCheckpoint(`${base}/ckpt/model.json`, target)).rejects.toMatchObject({ name: 'CheckpointError', field: 'weightsManifest' });
      expect(requested.slice(from)).toEqual(['/ckpt/model.json']);
    } finally {
      serving = undefined;
      removeTree(root);
    }
  });

  it('a server that never answers times out', async () => {
    await check([], [{ kind: 'stall', file: 0 }]);
  });
});
