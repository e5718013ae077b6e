import * as tf from '@tensorflow/tfjs-core';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, expect, it } from 'vitest';
import '../tfjs-setup';
import { createModel } from '../registry';
import { registerTinyVae } from '../testing/tiny-model';
import { loadModel, saveModel } from './checkpoint';

// The browser path through tfjs's own IndexedDB handler, with an in-memory
// IndexedDB standing in for the browser's (tfjs checks IS_BROWSER and takes
// the factory from window). This file runs in its own worker, so the flag
// does not reach other tests.
const g = globalThis as { window?: unknown };
const hadWindow = 'window' in g;
g.window = { indexedDB: new IDBFactory() };
const wasBrowser = tf.env().getBool('IS_BROWSER');
tf.env().set('IS_BROWSER', true);
afterAll(() => {
  tf.env().set('IS_BROWSER', wasBrowser);
  if (!hadWindow) delete g.window;
});

it("round-trips a model through 'indexeddb://' (tfjs's IndexedDB handler), elbo metadata included", async () => {
  const before = tf.memory().numTensors;
  const model = createModel({ variant: registerTinyVae('tiny-idb'), inputDim: 4, hiddenDim: 5, latentDim: 2, seed: 9 });
  await saveModel(model, 'indexeddb://elbo-test');
  const loaded = await loadModel('indexeddb://elbo-test');
  expect(loaded.config).toEqual(model.config);
  const w = (m: typeof model) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())]);
  expect(w(loaded)).toEqual(w(model));
  loaded.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
