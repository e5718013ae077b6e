import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, InputError } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPretrained, loadPretrained, pretrainedNames } from './index';
import { copyModels, modelsDir, serve } from './test-support';

const names = pretrainedNames();
const first = names[0];

/** The outputs that identify a model's weights: decoded posterior means of a fixed input. */
function fingerprint(model: Awaited<ReturnType<typeof loadPretrained>>): Float32Array {
  return tf.tidy(() => {
    const shape = model.config.inputShape as number[];
    const x = tf.fill([2, ...shape], 0.5);
    const condition = model.variant === 'cvae' ? tf.cast(tf.oneHot([3, 7], 10), 'float32') : undefined;
    return model.reconstruct(x, condition).dataSync() as Float32Array;
  });
}

describe('the catalog', () => {
  it('lists every model with its card, recipe, metrics and a checksum per file', () => {
    const cards = listPretrained();
    expect(cards.map((c) => c.name).sort()).toEqual(['cvae-mnist', 'hvae-mnist', 'tcvae-dsprites', 'vae-mnist', 'vqvae-mnist']);
    for (const c of cards) {
      expect(Object.keys(c.metrics).length).toBeGreaterThan(0);
      expect(c.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin']);
      for (const f of c.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      const recipe = JSON.parse(readFileSync(join(modelsDir, '..', c.recipe), 'utf8'));
      expect(recipe.name).toBe(c.name);
      expect(JSON.parse(readFileSync(join(modelsDir, c.name, 'card.json'), 'utf8'))).toEqual(c);
    }
  });

  it('returns copies', () => {
    const a = listPretrained();
    a[0].metrics.changed = 1;
    expect(listPretrained()[0].metrics.changed).toBeUndefined();
  });
});

describe('loadPretrained errors', () => {
  let copy: ReturnType<typeof copyModels>;
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    copy = copyModels();
    server = await serve(copy.dir);
  });
  afterAll(async () => {
    await server.close();
    copy.remove();
  });

  it('an unknown name is an InputError listing the known ones', async () => {
    const e = await loadPretrained('vae-cifar').catch((err) => err);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toContain('"vae-cifar"');
    for (const n of names) expect(e.message).toContain(n);
  });

  async function expectRefused(file: string, mutate: (bytes: Buffer) => Buffer, message: RegExp): Promise<void> {
    const path = join(copy.dir, first, file);
    const original = readFileSync(path);
    writeFileSync(path, mutate(Buffer.from(original)));
    try {
      const tensors = tf.memory().numTensors;
      const e = await loadPretrained(first, { baseUrl: server.url }).catch((err) => err);
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(file);
      expect(e.file).toBe(`${server.url}/${first}/${file}`);
      // No model was created: no variable or tensor exists that did not before.
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      writeFileSync(path, original);
    }
  }

  it('a corrupted weight file (one byte changed) is a CheckpointError naming it, and no model is created', async () => {
    await expectRefused(
      'weights.bin',
      (b) => {
        b[Math.floor(b.length / 2)] ^= 0x40;
        return b;
      },
      /SHA-256 [0-9a-f]{64}, the card says [0-9a-f]{64} \(corrupted or wrong file\)/,
    );
  });

  it('a truncated weight file is refused by its size', async () => {
    await expectRefused('weights.bin', (b) => b.subarray(0, b.length - 100), /truncated or wrong file/);
  });

  it('a changed model.json is refused', async () => {
    await expectRefused('model.json', (b) => Buffer.from(b.toString('utf8').replace('"latentDim":', '"latentDim" :')), /model\.json/);
  });

  it("another model's weight file is refused", async () => {
    const other = names.find((n) => n !== first)!;
    await expectRefused('weights.bin', () => readFileSync(join(copy.dir, other, 'weights.bin')), /weights\.bin/);
  });

  it('a missing file is a CheckpointError naming its URL', async () => {
    const e = await loadPretrained(first, { baseUrl: `${server.url}/nowhere` }).catch((err) => err);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain('HTTP 404');
    expect(e.file).toBe(`${server.url}/nowhere/${first}/model.json`);
  });
});

describe('loading over HTTP (the browser path: fetch from a base URL on 127.0.0.1)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(modelsDir);
  });
  afterAll(async () => server.close());

  it.each(names)('%s: the same model as from the package files, and no tensors left after dispose', async (name) => {
    const before = tf.memory().numTensors;
    const local = await loadPretrained(name);
    const remote = await loadPretrained(name, { baseUrl: `${server.url}/` });
    expect(remote.variant).toBe(local.variant);
    expect(remote.config).toEqual(local.config);
    expect(Array.from(fingerprint(remote))).toEqual(Array.from(fingerprint(local)));
    const samples = tf.tidy(() => remote.sample(2));
    expect(samples.shape[0]).toBe(2);
    expect(Array.from(samples.dataSync()).every(Number.isFinite)).toBe(true);
    samples.dispose();
    local.dispose();
    remote.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(server.requests).toContain(`/${name}/weights.bin`);
  });
});
