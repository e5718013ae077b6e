import * as tf from '@tensorflow/tfjs-core';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { CheckpointError } from '../errors';
import type { GenerativeModel } from '../model';
import { createModel } from '../registry';
import { registerTinyVae } from '../testing/tiny-model';
import { loadCheckpoint, loadModel } from './checkpoint';
import { expectInputError, fuzzRuns, hostileValue, mutateJson, saveSeedCheckpoint, withinTime } from './fuzz-support';

// Property: a mutated record in IndexedDB (what tfjs's handler stores: specs,
// weight data, metadata) loads as a valid checkpoint or is refused with a
// CheckpointError naming the indexeddb:// URL; never another error, never a
// hang, and a refused load leaves the model untouched and no tensor behind.
// tfjs's handler takes IndexedDB from `window` when IS_BROWSER is set; this
// file runs in its own worker, so the flag does not reach other tests.

const g = globalThis as { window?: unknown };
const hadWindow = 'window' in g;
const idb = new IDBFactory();
g.window = { indexedDB: idb };
const wasBrowser = tf.env().getBool('IS_BROWSER');
tf.env().set('IS_BROWSER', true);

const variant = registerTinyVae('tiny-idb-fuzz');
const config = { variant, inputDim: 5, latentDim: 2, seed: 4 };
let target: GenerativeModel;
let seed: { modelPath: string; modelArtifacts: Record<string, unknown> };

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
  const db = await request(idb.open('tensorflowjs', 1));
  return db.transaction('models_store', mode).objectStore('models_store');
}

beforeAll(async () => {
  await saveSeedCheckpoint(config, 'indexeddb://seed');
  seed = await request((await store('readonly')).get('seed'));
  target = createModel(config);
});

afterAll(() => {
  target?.dispose();
  tf.env().set('IS_BROWSER', wasBrowser);
  if (!hadWindow) delete g.window;
});

type DataMutation = { kind: 'truncate'; at: number } | { kind: 'flip'; at: number; xor: number } | { kind: 'append'; bytes: number } | { kind: 'replace'; value: unknown };
const dataMutation: fc.Arbitrary<DataMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('replace' as const), value: fc.oneof(hostileValue, fc.constant(new Uint8Array(3)), fc.constant([new ArrayBuffer(4)])) }),
);
type JsonMutation = { kind: 'set'; path: number; value: unknown } | { kind: 'delete'; path: number } | { kind: 'duplicate'; path: number };
const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), path: fc.nat(), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), path: fc.nat() }) },
);

const weights = (m: GenerativeModel) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())] as const);
let n = 0;

async function check(jsonMuts: JsonMutation[], dataMuts: DataMutation[], asModel: boolean): Promise<void> {
  const { weightData, ...rest } = seed.modelArtifacts;
  const artifacts = mutateJson(rest, jsonMuts) as Record<string, unknown>;
  let data: unknown = (weightData as ArrayBuffer).slice(0);
  for (const m of dataMuts) {
    if (!(data instanceof ArrayBuffer)) break;
    const b = new Uint8Array(data);
    if (m.kind === 'truncate') data = b.slice(0, Math.floor(m.at * b.length)).buffer;
    else if (m.kind === 'flip' && b.length > 0) {
      b[Math.min(b.length - 1, Math.floor(m.at * b.length))] ^= m.xor;
    } else if (m.kind === 'append') {
      const out = new Uint8Array(b.length + m.bytes);
      out.set(b);
      data = out.buffer;
    } else if (m.kind === 'replace') data = m.value;
  }
  const key = `case-${n++}`;
  const record = { modelPath: key, modelArtifacts: artifacts !== null && typeof artifacts === 'object' ? { ...artifacts, weightData: data } : artifacts };
  await request((await store('readwrite')).put(record));
  const url = `indexeddb://${key}`;
  const w = weights(target);
  const rng = target.rng.getState();
  const tensors = tf.memory().numTensors;
  try {
    if (asModel) (await withinTime(() => loadModel(url), 'loadModel from IndexedDB')).dispose();
    else (await withinTime(() => loadCheckpoint(url, target), 'loadCheckpoint from IndexedDB')).optimizer?.dispose();
  } catch (e) {
    expectInputError(e, (f) => f === url);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(weights(target)).toEqual(w);
    expect(target.rng.getState()).toEqual(rng);
  } finally {
    await request((await store('readwrite')).delete(key));
  }
  expect(tf.memory().numTensors).toBe(tensors);
}

describe('the IndexedDB checkpoint target under mutation (fast-check, fake-indexeddb)', () => {
  it(`a valid result or a CheckpointError naming the indexeddb:// URL (${fuzzRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(jsonMutation, { maxLength: 3 }), fc.array(dataMutation, { maxLength: 2 }), fc.boolean(), check),
      { numRuns: fuzzRuns },
    );
  });

  it('a URL with nothing stored is a CheckpointError, not tfjs\'s plain Error', async () => {
    await expect(loadModel('indexeddb://nothing-here')).rejects.toMatchObject({ name: 'CheckpointError', file: 'indexeddb://nothing-here' });
  });

  it('weight data that is not an ArrayBuffer, and a record that is not an object', async () => {
    await check([], [{ kind: 'replace', value: 'not bytes' }], false);
    await check([], [{ kind: 'replace', value: null }], true);
    await check([{ kind: 'set', path: 0, value: 42 }], [], false);
  });
});
