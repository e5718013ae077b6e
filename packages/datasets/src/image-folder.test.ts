import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodePng, loadImageFolder } from './image-folder';
import { selectExamples } from './image-dataset';

/** Encode an RGBA image (values 0..255, row-major) as a PNG with pngjs. */
function png(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number], colorType: 0 | 2 | 6 = 6): Buffer {
  const img = new PNG({ width, height, colorType, inputColorType: 6, inputHasAlpha: true });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set(rgba(x, y), 4 * (y * width + x));
  return PNG.sync.write(img, { colorType, inputColorType: 6, inputHasAlpha: true });
}

const white = () => [255, 255, 255, 255] as [number, number, number, number];
const black = () => [0, 0, 0, 255] as [number, number, number, number];

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'elbo-pngs-'));
  // 4x4 images: a left-half-white one, an all-white one, an all-black one.
  writeFileSync(join(dir, 'a.png'), png(4, 4, (x) => (x < 2 ? white() : black())));
  writeFileSync(join(dir, 'b.png'), png(4, 4, white, 0));
  writeFileSync(join(dir, 'c.png'), png(4, 4, black, 2));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  return dir;
}

describe('decodePng', () => {
  it('uses BT.601 luma and composites alpha over the background', () => {
    const bytes = png(3, 1, (x) => [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 51]][x] as [number, number, number, number]);
    const grey = decodePng(bytes, 1);
    expect(grey.width).toBe(3);
    expect(grey.data[0]).toBeCloseTo(0.299, 6);
    expect(grey.data[1]).toBeCloseTo(0.587, 6);
    // Blue at alpha 0.2 over black: 0.2 * 0.114.
    expect(grey.data[2]).toBeCloseTo(0.2 * 0.114, 6);
    // Over white: 0.2 * 0.114 + 0.8.
    expect(decodePng(bytes, 1, 1).data[2]).toBeCloseTo(0.2 * 0.114 + 0.8, 6);
    expect(Array.from(decodePng(bytes, 3).data.subarray(0, 6))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(() => decodePng(new Uint8Array([1, 2, 3]), 1, 0, 'x.png')).toThrow(/'x.png' is not a readable PNG/);
  });
});

describe('loadImageFolder', () => {
  it('loads every PNG, sorted, at its own size', () => {
    const dir = folder();
    const d = loadImageFolder(dir);
    expect(d.files).toEqual(['a.png', 'b.png', 'c.png']);
    expect(d.count).toBe(3);
    expect(d.shape).toEqual([4, 4, 1]);
    expect(Array.from(d.images.subarray(0, 4))).toEqual([1, 1, 0, 0]);
    expect(d.labels).toBeUndefined();
  });

  it('resizes with area averaging', () => {
    const d = loadImageFolder(folder(), { size: 2 });
    expect(d.shape).toEqual([2, 2, 1]);
    expect(Array.from(d.images)).toEqual([1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    const one = loadImageFolder(folder(), { size: [1, 1], channels: 3 });
    expect(one.shape).toEqual([1, 1, 3]);
    expect(Array.from(one.images.subarray(0, 3))).toEqual([0.5, 0.5, 0.5]);
  });

  it('reads labels from a CSV (names or integers) and from subfolders', () => {
    const dir = folder();
    writeFileSync(join(dir, 'labels.csv'), '\ufefffile,label\r\nc.png,cat\r\n"a.png",dog\r\nb.png,cat\r\n');
    const named = loadImageFolder(dir, { labels: join(dir, 'labels.csv') });
    expect(named.files).toEqual(['c.png', 'a.png', 'b.png']);
    expect(named.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(named.labels!)).toEqual([0, 1, 0]);
    expect(named.numClasses).toBe(2);
    const picked = selectExamples(named, [2, 1]);
    expect(picked.files).toEqual(['b.png', 'a.png']);
    expect(Array.from(picked.labels!)).toEqual([0, 1]);
    expect(Array.from(picked.images.subarray(16, 20))).toEqual([1, 1, 0, 0]);
    writeFileSync(join(dir, 'digits.csv'), 'file,label\na.png,7\nb.png,2\n');
    const digits = loadImageFolder(dir, { labels: join(dir, 'digits.csv') });
    expect(Array.from(digits.labels!)).toEqual([7, 2]);
    expect(digits.numClasses).toBe(8);
    expect(digits.classNames).toBeUndefined();

    const tree = mkdtempSync(join(tmpdir(), 'elbo-tree-'));
    for (const [cls, n] of [['zebra', 2], ['ant', 1]] as const) {
      mkdirSync(join(tree, cls));
      for (let i = 0; i < n; i++) writeFileSync(join(tree, cls, `${i}.png`), png(2, 2, white));
    }
    const sub = loadImageFolder(tree, { labels: 'subfolders' });
    expect(sub.files).toEqual(['ant/0.png', 'zebra/0.png', 'zebra/1.png'].map((f) => f.replace('/', sep)));
    expect(sub.classNames).toEqual(['ant', 'zebra']);
    expect(Array.from(sub.labels!)).toEqual([0, 1, 1]);
  });

  it('explains bad folders, CSVs and sizes', () => {
    const dir = folder();
    writeFileSync(join(dir, 'd.png'), png(3, 3, white));
    expect(() => loadImageFolder(dir)).toThrow(/d.png' is 3x3 but the first image is 4x4; pass options.size to resize/);
    expect(loadImageFolder(dir, { size: 4 }).count).toBe(4);
    writeFileSync(join(dir, 'bad.csv'), 'name,class\na.png,1\n');
    expect(() => loadImageFolder(dir, { labels: join(dir, 'bad.csv') })).toThrow(/needs a header with columns 'file' and 'label', got \["name","class"\]/);
    writeFileSync(join(dir, 'missing.csv'), 'file,label\nz.png,1\n');
    expect(() => loadImageFolder(dir, { labels: join(dir, 'missing.csv') })).toThrow(/z.png' cannot be read/);
    const empty = mkdtempSync(join(tmpdir(), 'elbo-empty-'));
    expect(() => loadImageFolder(empty)).toThrow(/no .png files in/);
    expect(() => loadImageFolder(join(empty, 'nope'))).toThrow(/is not a readable folder/);
    expect(() => loadImageFolder(dir, { size: 0 })).toThrow(/size must be a positive integer or \[height, width\], got 0/);
    expect(() => loadImageFolder(dir, { channels: 4 as never })).toThrow(/channels must be 1 or 3, got 4/);
    writeFileSync(join(empty, 'broken.png'), 'not a png');
    expect(() => loadImageFolder(empty)).toThrow(/broken.png' is not a readable PNG/);
  });
});
