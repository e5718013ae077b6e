import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '@elbo/datasets';
import { describe, expect, it } from 'vitest';
import { imagesAsFloat, parseMnistSubset } from './mnist-asset';

/** A hand-made asset: 2 train + 1 test images of 2x2. */
function tiny(): ArrayBuffer {
  const bytes = new Uint8Array(20 + 3 * 4 + 3);
  bytes.set([0x45, 0x4d, 0x4e, 0x31]);
  const view = new DataView(bytes.buffer);
  [2, 1, 2, 2].forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  bytes.set([0, 255, 51, 102, 1, 2, 3, 4, 9, 9, 9, 9], 20);
  bytes.set([7, 3, 5], 32);
  return bytes.buffer;
}

describe('parseMnistSubset', () => {
  it('splits a hand-made asset into images and labels', () => {
    const s = parseMnistSubset(tiny());
    expect([s.rows, s.cols, s.train.count, s.test.count]).toEqual([2, 2, 2, 1]);
    expect([...s.train.images]).toEqual([0, 255, 51, 102, 1, 2, 3, 4]);
    expect([...s.test.images]).toEqual([9, 9, 9, 9]);
    expect([...s.train.labels]).toEqual([7, 3]);
    expect([...s.test.labels]).toEqual([5]);
    expect([...imagesAsFloat(s.train, 0, 1, 4)]).toEqual([0, 1, Math.fround(0.2), Math.fround(0.4)]);
  });

  it('names what is wrong with a bad asset', () => {
    expect(() => parseMnistSubset(new ArrayBuffer(8))).toThrow(/shorter than the 20-byte header/);
    const wrongMagic = new Uint8Array(tiny());
    wrongMagic[0] = 0;
    expect(() => parseMnistSubset(wrongMagic.buffer)).toThrow(/magic .* expected "EMN1"/);
    expect(() => parseMnistSubset(tiny().slice(0, 30))).toThrow(/30 bytes, but the header .* implies 35/);
    const badLabel = new Uint8Array(tiny());
    badLabel[33] = 12;
    expect(() => parseMnistSubset(badLabel.buffer)).toThrow(/train label 1 is 12, expected 0..9/);
    expect(() => imagesAsFloat(parseMnistSubset(tiny()).test, 0, 2, 4)).toThrow(/outside the split's 1 images/);
  });

  const built = join(import.meta.dirname, '..', 'public', 'data', 'mnist-subset.bin');
  it('the built asset holds the first MNIST train and test images as @elbo/datasets reads them', () => {
    // nx builds the app (and so the asset) before its tests; a bare `vitest run` builds the asset here.
    if (!existsSync(built)) execFileSync('node', [join(import.meta.dirname, '..', 'scripts', 'build-data.mjs')]);
    const bytes = readFileSync(built);
    const s = parseMnistSubset(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect([s.rows, s.cols, s.train.count, s.test.count]).toEqual([28, 28, 6000, 500]);
    const train = loadMnist({ split: 'train' });
    const test = loadMnist({ split: 'test' });
    for (const [split, ref] of [[s.train, train], [s.test, test]] as const) {
      for (const k of [0, 1, split.count - 1]) {
        expect(split.labels[k]).toBe(ref.labels[k]);
        const ours = imagesAsFloat(split, k, 1, 784);
        let maxDiff = 0;
        for (let j = 0; j < 784; j++) maxDiff = Math.max(maxDiff, Math.abs(ours[j] - ref.images[k * 784 + j]));
        expect(maxDiff).toBeLessThan(1e-6);
      }
    }
    // The first 6,000 train labels cover every digit roughly evenly (each 8-12%).
    const counts = new Array(10).fill(0);
    for (const l of s.train.labels) counts[l]++;
    for (const c of counts) expect(c / 6000).toBeGreaterThan(0.08);
  });
});
