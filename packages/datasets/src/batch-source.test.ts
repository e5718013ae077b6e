import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch } from '@elbo/core';
import { describe, expect, it } from 'vitest';
import { ArrayBatchSource, createBatchSource } from './batch-source';
import type { ImageDataset } from './image-dataset';
import { loadMnist } from './mnist';

/** n examples of shape [2, 2, 1]; every pixel of example i holds i / n, its label is i % 3. */
function indexed(n: number): ImageDataset {
  const images = new Float32Array(n * 4);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images.fill(i / n, i * 4, (i + 1) * 4);
    labels[i] = i % 3;
  }
  return { images, labels, count: n, shape: [2, 2, 1], numClasses: 3 };
}

/** The example indices an epoch serves, batch by batch, disposing each batch. */
function served(source: ArrayBatchSource, epoch: number, n: number): number[][] {
  const out: number[][] = [];
  for (const batch of source.batches(epoch)) {
    const x = batch.x.dataSync();
    const ids: number[] = [];
    for (let i = 0; i < batch.x.shape[0]; i++) ids.push(Math.round(x[i * 4] * n));
    out.push(ids);
    disposeBatch(batch);
  }
  return out;
}

describe('ArrayBatchSource', () => {
  it('serves each example once per epoch, deterministically in (seed, epoch)', () => {
    const n = 103;
    const source = new ArrayBatchSource(indexed(n), { batchSize: 10, seed: 42 });
    expect(source.size).toBe(103);
    expect(source.numBatches).toBe(11);
    const e0 = served(source, 0, n);
    expect(e0.map((b) => b.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    expect(e0.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(served(source, 0, n)).toEqual(e0);
    expect(served(new ArrayBatchSource(indexed(n), { batchSize: 10, seed: 42 }), 0, n)).toEqual(e0);
    const e1 = served(source, 1, n);
    expect(e1.flat()).not.toEqual(e0.flat());
    expect(served(new ArrayBatchSource(indexed(n), { batchSize: 10, seed: 43 }), 0, n).flat()).not.toEqual(e0.flat());
    // Resuming at epoch 1 without running epoch 0 gives the same batches.
    expect(served(new ArrayBatchSource(indexed(n), { batchSize: 10, seed: 42 }), 1, n)).toEqual(e1);
  });

  it('keeps the order without shuffling and drops the last partial batch on request', () => {
    const n = 25;
    const plain = new ArrayBatchSource(indexed(n), { batchSize: 10, shuffle: false });
    expect(served(plain, 3, n).flat()).toEqual(Array.from({ length: n }, (_, i) => i));
    const dropped = new ArrayBatchSource(indexed(n), { batchSize: 10, seed: 1, dropLast: true });
    expect(dropped.size).toBe(20);
    expect(dropped.numBatches).toBe(2);
    const ids = served(dropped, 0, n);
    expect(ids.map((b) => b.length)).toEqual([10, 10]);
    expect(new Set(ids.flat()).size).toBe(20);
  });

  it('gives flat or image x, int32 labels and optional one-hot conditions', () => {
    const n = 7;
    const data = indexed(n);
    const before = tf.memory().numTensors;
    const [flat] = new ArrayBatchSource(data, { batchSize: 4, shuffle: false }).batches(0);
    expect(flat.x.shape).toEqual([4, 4]);
    expect(flat.x.dtype).toBe('float32');
    expect(flat.y!.dtype).toBe('int32');
    expect(Array.from(flat.y!.dataSync())).toEqual([0, 1, 2, 0]);
    expect(flat.condition).toBeUndefined();
    disposeBatch(flat);
    const [img] = createBatchSource(data, { batchSize: 4, shuffle: false, shape: 'image', oneHot: true }).batches(0);
    expect(img.x.shape).toEqual([4, 2, 2, 1]);
    expect(img.condition!.shape).toEqual([4, 3]);
    expect(Array.from(img.condition!.dataSync())).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
    disposeBatch(img);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('creates tensors lazily, one batch at a time', () => {
    const source = new ArrayBatchSource(indexed(50), { batchSize: 10, seed: 0 });
    const before = tf.memory().numTensors;
    const it = source.batches(0)[Symbol.iterator]();
    expect(tf.memory().numTensors).toBe(before);
    const first = it.next().value!;
    expect(tf.memory().numTensors).toBe(before + 2);
    disposeBatch(first);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('binarises dynamically: {0, 1}, fresh each epoch, deterministic in (seed, epoch), mean = grey level', () => {
    // 2,000 examples whose 4 pixels all have grey level 0.3.
    const n = 2000;
    const data: ImageDataset = { images: new Float32Array(n * 4).fill(0.3), count: n, shape: [2, 2, 1] };
    const source = new ArrayBatchSource(data, { batchSize: n, shuffle: false, binarize: 'dynamic', seed: 9 });
    const draw = (epoch: number) => {
      const [b] = source.batches(epoch);
      const x = Array.from(b.x.dataSync());
      disposeBatch(b);
      return x;
    };
    const e0 = draw(0);
    expect(e0.every((v) => v === 0 || v === 1)).toBe(true);
    // 8,000 Bernoulli(0.3) draws: sd of the mean is 0.0051; allow 5 sd.
    expect(Math.abs(e0.reduce((a, v) => a + v, 0) / e0.length - 0.3)).toBeLessThan(0.026);
    expect(draw(0)).toEqual(e0);
    const e1 = draw(1);
    const agree = e0.filter((v, i) => v === e1[i]).length / e0.length;
    // Independent draws agree with probability 0.3^2 + 0.7^2 = 0.58.
    expect(agree).toBeGreaterThan(0.55);
    expect(agree).toBeLessThan(0.61);
    // The stored data is untouched.
    expect(data.images.every((v) => v === 0.3 || Math.abs(v - 0.3) < 1e-7)).toBe(true);
  });

  it('explains bad options', () => {
    const data = indexed(5);
    expect(() => new ArrayBatchSource(data, { batchSize: 0 })).toThrow('batchSize must be a positive integer, got 0');
    expect(() => new ArrayBatchSource(data, { batchSize: 2.5 })).toThrow('batchSize must be a positive integer, got 2.5');
    expect(() => new ArrayBatchSource(data, { batchSize: 2, shape: 'nchw' as never })).toThrow(`shape must be 'flat' or 'image', got "nchw"`);
    expect(() => new ArrayBatchSource(data, { batchSize: 2, binarize: 'static' as never })).toThrow(/binarize must be 'dynamic' or absent/);
    expect(() => new ArrayBatchSource(data, { batchSize: 6, dropLast: true })).toThrow(/leaves no batch of a dataset of 5 examples/);
    expect(() => new ArrayBatchSource({ ...data, labels: undefined }, { batchSize: 2, oneHot: true })).toThrow(/oneHot needs a labelled dataset/);
    expect(() => new ArrayBatchSource({ ...data, count: 6 }, { batchSize: 2 })).toThrow(/images has 20 values, expected count 6 x 4/);
    const source = new ArrayBatchSource(data, { batchSize: 2 });
    expect(() => [...source.batches(-1)]).toThrow('epoch must be a non-negative integer, got -1');
  });

  it('leaves no tensors behind over a 10-epoch pass of MNIST', () => {
    const train = loadMnist({ split: 'train' });
    const source = new ArrayBatchSource(train, { batchSize: 6000, seed: 1 });
    const before = tf.memory().numTensors;
    let examples = 0;
    let labelSum = 0;
    for (let epoch = 0; epoch < 10; epoch++) {
      for (const batch of source.batches(epoch)) {
        examples += batch.x.shape[0];
        expect(batch.x.shape).toEqual([6000, 784]);
        if (epoch === 0) for (const v of batch.y!.dataSync()) labelSum += v;
        disposeBatch(batch);
      }
    }
    expect(examples).toBe(600000);
    // Sum of all train labels from the label histogram: sum_k k * count_k.
    const hist = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    expect(labelSum).toBe(hist.reduce((a, c, k) => a + k * c, 0));
    expect(tf.memory().numTensors).toBe(before);
  });
});
