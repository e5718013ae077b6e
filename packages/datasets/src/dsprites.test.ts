import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch, Rng } from '@elbo/core';
import { describe, expect, it } from 'vitest';
import { DSPRITES_FACTOR_SIZES, DSPRITES_SIZE, DSprites } from './dsprites';
import { DSpritesSource } from './dsprites-source';
import { splitValidation, takeSubset } from './image-dataset';

const ds = new DSprites();
const count = (img: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < img.length; i++) s += img[i];
  return s;
};
const differences = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
};
/** Pixel-count-weighted centre and extents of the on pixels, in pixel-centre coordinates. */
function geometry(img: Uint8Array) {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let minX = 64;
  let maxX = -1;
  let minY = 64;
  let maxY = -1;
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++)
      if (img[y * 64 + x]) {
        n++;
        sx += x + 0.5;
        sy += y + 0.5;
        minX = Math.min(minX, x + 0.5);
        maxX = Math.max(maxX, x + 0.5);
        minY = Math.min(minY, y + 0.5);
        maxY = Math.max(maxY, y + 0.5);
      }
  return { cx: sx / n, cy: sy / n, minX, maxX, minY, maxY };
}

describe('dSprites factor grid', () => {
  it('has the original factor sizes and 737,280 combinations', () => {
    expect(ds.factorSizes).toEqual([1, 3, 6, 40, 32, 32]);
    expect(DSPRITES_FACTOR_SIZES.reduce((a, b) => a * b, 1)).toBe(737280);
    expect(ds.size).toBe(DSPRITES_SIZE);
    expect(ds.factorNames).toEqual(['color', 'shape', 'scale', 'orientation', 'posX', 'posY']);
    expect(ds.values.map((v) => v.length)).toEqual([1, 3, 6, 40, 32, 32]);
  });

  it('uses the original factor values (orientation on a half-open grid)', () => {
    expect(ds.values[1]).toEqual([1, 2, 3]);
    expect(ds.values[2].map((v) => +v.toFixed(6))).toEqual([0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(ds.values[3][1]).toBeCloseTo((2 * Math.PI) / 40, 12);
    expect(ds.values[3][39]).toBeCloseTo(2 * Math.PI - (2 * Math.PI) / 40, 12);
    expect(ds.values[4][31]).toBe(1);
    expect(ds.values[5][1]).toBeCloseTo(1 / 31, 12);
    // The original file's linspace(0, 2pi, 40): its first and last angles give one image.
    const original = new DSprites({ orientationGrid: 'original' });
    expect(original.values[3][39]).toBeCloseTo(2 * Math.PI, 12);
    expect(original.values[3][1]).toBeCloseTo((2 * Math.PI) / 39, 12);
    expect(differences(original.render([0, 2, 3, 0, 5, 9]), original.render([0, 2, 3, 39, 5, 9]))).toBe(0);
    expect(() => new DSprites({ orientationGrid: 'closed' as never })).toThrow(/orientationGrid must be 'half-open' or 'original'/);
  });

  it('converts indices and factors row-major, as the original latents_bases', () => {
    // latents_bases = [737280, 245760, 40960, 1024, 32, 1] in the original.
    expect(ds.factorsToIndex([0, 1, 0, 0, 0, 0])).toBe(245760);
    expect(ds.factorsToIndex([0, 0, 1, 0, 0, 0])).toBe(40960);
    expect(ds.factorsToIndex([0, 0, 0, 1, 0, 0])).toBe(1024);
    expect(ds.factorsToIndex([0, 0, 0, 0, 1, 0])).toBe(32);
    expect(ds.factorsToIndex([0, 2, 5, 39, 31, 31])).toBe(737279);
    const rng = new Rng(5);
    for (let t = 0; t < 1000; t++) {
      const i = rng.int(DSPRITES_SIZE);
      expect(ds.factorsToIndex(ds.indexToFactors(i))).toBe(i);
    }
    expect(Array.from(ds.indexToFactors(737279))).toEqual([0, 2, 5, 39, 31, 31]);
    expect(ds.factorValues([0, 2, 5, 20, 0, 31])).toEqual([1, 3, 1, Math.PI, 0, 1]);
    expect(() => ds.factorsToIndex([0, 3, 0, 0, 0, 0])).toThrow('dSprites: factor shape must be an integer in 0..2, got 3');
    expect(() => ds.factorsToIndex([0, 0, 0])).toThrow(/factors must have 6 entries/);
    expect(() => ds.indexToFactors(737280)).toThrow(/index must be an integer in 0..737279/);
  });

  it('counts the combinations of any subset', () => {
    expect(ds.subsetIndices().length).toBe(737280);
    expect(ds.subsetIndices({ shape: 2, scale: [5] }).length).toBe(40960);
    const sub = ds.subsetIndices({ shape: [0, 2], orientation: [0, 10, 20], posX: 3 });
    expect(sub.length).toBe(2 * 6 * 3 * 32);
    for (const i of sub) {
      const f = ds.indexToFactors(i);
      expect([0, 2]).toContain(f[1]);
      expect([0, 10, 20]).toContain(f[3]);
      expect(f[4]).toBe(3);
    }
    expect(new Set(sub).size).toBe(sub.length);
    expect(() => ds.subsetIndices({ scale: [6] })).toThrow(/scale must hold integers in 0..5/);
    expect(() => ds.subsetIndices({ size: 1 } as never)).toThrow(/unknown factor 'size'/);
  });

  it('samples factors uniformly and deterministically by seed', () => {
    const a = ds.sampleFactors(6000, new Rng(1));
    expect(differences(a, ds.sampleFactors(6000, new Rng(1)))).toBe(0);
    expect(differences(a, ds.sampleFactors(6000, new Rng(2)))).toBeGreaterThan(1000);
    const shapes = [0, 0, 0];
    let outOfRange = 0;
    for (let i = 0; i < 6000; i++) {
      shapes[a[i * 6 + 1]]++;
      for (let k = 0; k < 6; k++) if (a[i * 6 + k] < 0 || a[i * 6 + k] >= DSPRITES_FACTOR_SIZES[k]) outOfRange++;
    }
    expect(outOfRange).toBe(0);
    // Each shape: Binomial(6000, 1/3), sd 36.5; allow 5 sd.
    for (const c of shapes) expect(Math.abs(c - 2000)).toBeLessThan(183);
  });
});

describe('dSprites renderer', () => {
  it('gives the same image for the same factors, binary 64x64', () => {
    const f = [0, 2, 3, 17, 9, 25];
    const a = ds.render(f);
    expect(a.length).toBe(4096);
    expect(Array.from(a).every((v) => v === 0 || v === 1)).toBe(true);
    expect(differences(a, ds.render(f))).toBe(0);
    expect(differences(a, new DSprites().render(f))).toBe(0);
    // Any change of a factor other than color changes the image (orientation of the heart included).
    for (let k = 1; k < 6; k++) {
      const g = f.slice();
      g[k] = (g[k] + 1) % DSPRITES_FACTOR_SIZES[k];
      expect(differences(a, ds.render(g))).toBeGreaterThan(0);
    }
    const s1 = ds.sample(20, new Rng(4));
    const s2 = ds.sample(20, new Rng(4));
    expect(differences(s1.images, s2.images)).toBe(0);
    expect(s1.factors).toEqual(s2.factors);
  });

  it('draws areas that match the closed forms (scale squared)', () => {
    const areas = [18 * 18, Math.PI * 12.5 * 6.25, 324];
    for (let shape = 0; shape < 3; shape++) {
      for (const scale of [0, 5]) {
        let mean = 0;
        for (let o = 0; o < 40; o++) mean += count(ds.render([0, shape, scale, o, (o * 7) % 32, (o * 3) % 32])) / 40;
        const s = ds.values[2][scale];
        expect(Math.abs(mean - areas[shape] * s * s) / (areas[shape] * s * s)).toBeLessThan(0.03);
      }
    }
  });

  it('puts the centre at 13 + 38 * pos and never clips a sprite', () => {
    for (const [px, py] of [[0, 0], [31, 31], [0, 31], [16, 5]]) {
      for (let shape = 0; shape < 3; shape++) {
        const g = geometry(ds.render([0, shape, 5, 7, px, py]));
        expect(Math.abs(g.cx - (13 + (38 * px) / 31))).toBeLessThan(0.5);
        expect(Math.abs(g.cy - (13 + (38 * py) / 31))).toBeLessThan(0.5);
        expect(g.minX).toBeGreaterThan(0.5);
        expect(g.minY).toBeGreaterThan(0.5);
        expect(g.maxX).toBeLessThan(63.5);
        expect(g.maxY).toBeLessThan(63.5);
      }
    }
  });

  it('rotates counter-clockwise as displayed, with the symmetries of square and ellipse', () => {
    // Upright heart: lobes up, tip down; the tip is 1.29 * 9.41 = 12.2 px from the centroid, the lobes 8.9 px.
    const up = geometry(ds.render([0, 2, 5, 0, 16, 16]));
    const c = 13 + (38 * 16) / 31;
    expect(up.maxY - c).toBeGreaterThan(11);
    expect(c - up.minY).toBeLessThan(10);
    // A quarter turn counter-clockwise moves the tip to the right.
    const turned = geometry(ds.render([0, 2, 5, 10, 16, 16]));
    expect(turned.maxX - c).toBeGreaterThan(11);
    expect(c - turned.minX).toBeLessThan(10);
    // Ellipse: long axis horizontal at orientation 0.
    const e = geometry(ds.render([0, 1, 5, 0, 16, 16]));
    expect(e.maxX - e.minX).toBeGreaterThan(2 * (e.maxY - e.minY) - 2);
    for (let o = 0; o < 30; o++) {
      expect(differences(ds.render([0, 0, 4, o, 7, 9]), ds.render([0, 0, 4, o + 10, 7, 9]))).toBe(0);
      expect(differences(ds.render([0, 1, 4, o, 7, 9]), ds.render([0, 1, 4, (o + 20) % 40, 7, 9]))).toBe(0);
    }
  });

  it('has a mean pixel value close to the original dataset (0.042)', () => {
    const s = ds.sample(3000, new Rng(11));
    expect(s.count).toBe(3000);
    expect(s.shape).toEqual([64, 64, 1]);
    expect(s.factorValues.length).toBe(3000 * 6);
    const mean = count(s.images) / s.images.length;
    expect(mean).toBeGreaterThan(0.038);
    expect(mean).toBeLessThan(0.046);
    // Each image in the sample is the render of its own factors.
    for (let i = 0; i < 3000; i += 499) {
      expect(differences(s.images.subarray(i * 4096, (i + 1) * 4096), ds.render(s.factors.subarray(i * 6, (i + 1) * 6)))).toBe(0);
      expect(s.indices[i]).toBe(ds.factorsToIndex(s.factors.subarray(i * 6, (i + 1) * 6)));
    }
  });
});

describe('dSprites subsets', () => {
  it('keep factors, values and grid indices aligned with the images', () => {
    const data = ds.dataset(ds.subsetIndices({ shape: 0, scale: 1, orientation: 3 })); // 1,024 images
    for (const part of [takeSubset(data, 50, 1), splitValidation(data, 100, 2).validation, splitValidation(data, 100, 2).train]) {
      expect(part.factors.length).toBe(part.count * 6);
      expect(part.factorValues.length).toBe(part.count * 6);
      expect(part.indices.length).toBe(part.count);
      for (let i = 0; i < part.count; i += 37) {
        const f = part.factors.subarray(i * 6, (i + 1) * 6);
        expect(ds.factorsToIndex(f)).toBe(part.indices[i]);
        expect(Array.from(part.factorValues.subarray(i * 6, (i + 1) * 6))).toEqual(ds.factorValues(f).map(Math.fround));
        expect(differences(part.images.subarray(i * 4096, (i + 1) * 4096), ds.render(f))).toBe(0);
      }
    }
  });
});

describe('DSpritesSource', () => {
  it('serves rendered images with their factors, deterministically, without leaks', () => {
    const indices = ds.subsetIndices({ shape: 1, scale: 2, orientation: [0, 5] }); // 2,048 combinations
    const source = new DSpritesSource({ batchSize: 500, seed: 3, indices, shape: 'image' });
    expect(source.size).toBe(2048);
    expect(source.numBatches).toBe(5);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    let firstY: number[] = [];
    for (const batch of source.batches(0)) {
      expect(batch.x.shape.slice(1)).toEqual([64, 64, 1]);
      const x = batch.x.dataSync();
      const y = batch.y!.dataSync();
      if (seen.length === 0) firstY = Array.from(y.subarray(0, 60));
      for (let i = 0; i < batch.x.shape[0]; i++) {
        const f = y.subarray(i * 6, (i + 1) * 6);
        seen.push(ds.factorsToIndex(f));
        if (i % 97 === 0) expect(differences(x.subarray(i * 4096, (i + 1) * 4096), ds.render(f))).toBe(0);
      }
      disposeBatch(batch);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from(indices).sort((a, b) => a - b));
    const [again] = source.batches(0);
    expect(Array.from(again.y!.dataSync().subarray(0, 60))).toEqual(firstY);
    disposeBatch(again);
    const [next] = source.batches(1);
    expect(Array.from(next.y!.dataSync().subarray(0, 60))).not.toEqual(firstY);
    disposeBatch(next);
  });

  it('draws a fixed random sample from the seed', () => {
    const a = new DSpritesSource({ batchSize: 64, seed: 8, sample: 1000, dropLast: true });
    const b = new DSpritesSource({ batchSize: 64, seed: 8, sample: 1000 });
    expect(a.indices).toEqual(b.indices);
    expect(a.size).toBe(960);
    const [batch] = a.batches(0);
    expect(batch.x.shape).toEqual([64, 4096]);
    expect(batch.y!.shape).toEqual([64, 6]);
    disposeBatch(batch);
    expect(() => new DSpritesSource({ batchSize: 8, sample: 10, indices: [1] })).toThrow('give indices or sample, not both');
    expect(() => new DSpritesSource({ batchSize: 8, indices: [DSPRITES_SIZE] })).toThrow(/index 737280 is outside/);
  });
});
