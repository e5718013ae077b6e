import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFormatError } from '@elbo/core';
import { type ByteMutation, byteMutation, expectInputError, fuzzRuns, mutateBytes, timed } from './fuzz-support';
import { loadImageFolder } from './image-folder';

// Property: loading a mutated PNG folder with a labels CSV either returns a
// consistent dataset (images in [0, 1], one label per image) or throws a
// DataFormatError naming a file of the folder or the CSV; never another
// error, never a hang, never a read outside the folder.

function png(width: number, height: number, seed: number, colorType: 0 | 2 | 6): Buffer {
  const img = new PNG({ width, height, colorType, inputColorType: 6, inputHasAlpha: true });
  for (let i = 0; i < width * height; i++) img.data.set([(i * 31 + seed * 70) & 255, (i * 7) & 255, seed * 50, 255], 4 * i);
  return PNG.sync.write(img, { colorType, inputColorType: 6, inputHasAlpha: true });
}

const seedPngs = [png(4, 4, 0, 6), png(4, 4, 1, 0), png(4, 4, 2, 2)];
const seedRows: [string, string][] = [
  ['a.png', '0'],
  ['b.png', '1'],
  ['sub/c.png', '2'],
];
const hostileFile = fc.constantFrom('../outside.png', '../../../../etc/passwd', '/etc/passwd', 'sub/../../outside.png', 'link/outside.png', 'a.png', 'missing.png', 'sub', 'fifo.png', '', ' ', 'a.png\u0000x', 'C:\\a.png');
const hostileLabel = fc.oneof(fc.constantFrom('', '-1', '1e9', '99999999999999999999', '65536', 'cat', '0x1', ' 3 ', '"'), fc.nat().map(String), fc.string({ maxLength: 6 }));

type CsvMutation =
  | { kind: 'file'; row: number; value: string }
  | { kind: 'label'; row: number; value: string }
  | { kind: 'header'; value: string }
  | { kind: 'dropRow'; row: number }
  | { kind: 'raw'; muts: ByteMutation[] };

const csvMutation: fc.Arbitrary<CsvMutation> = fc.oneof(
  fc.record({ kind: fc.constant('file' as const), row: fc.nat(), value: hostileFile }),
  fc.record({ kind: fc.constant('label' as const), row: fc.nat(), value: hostileLabel }),
  fc.record({ kind: fc.constant('header' as const), value: fc.constantFrom('file,label', 'label,file', 'name,label', 'file', '', 'file,label,extra') }),
  fc.record({ kind: fc.constant('dropRow' as const), row: fc.nat() }),
  fc.record({ kind: fc.constant('raw' as const), muts: fc.array(byteMutation, { minLength: 1, maxLength: 2 }) }),
);
type PngMutation = { image: number; muts: ByteMutation[] } | { image: number; ihdr: { width: number; height: number } };
const pngMutation: fc.Arbitrary<PngMutation> = fc.oneof(
  fc.record({ image: fc.nat(), muts: fc.array(byteMutation, { minLength: 1, maxLength: 3 }) }),
  fc.record({
    image: fc.nat(),
    ihdr: fc.record({ width: fc.constantFrom(0, 1, 5, 4, 65535, 2 ** 31, 0xffffffff), height: fc.constantFrom(0, 1, 3, 4, 100000, 0xffffffff) }),
  }),
);

const opened: string[] = [];
const fsMutable = createRequire(import.meta.url)('node:fs') as Record<string, unknown>;
const original = fsMutable.readFileSync as (...a: unknown[]) => unknown;
const syncBuiltins = () => (createRequire(import.meta.url)('node:module') as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
beforeAll(() => {
  fsMutable.readFileSync = (p: unknown, ...rest: unknown[]) => {
    opened.push(String(p));
    return original(p, ...rest);
  };
  syncBuiltins();
});
afterAll(() => {
  fsMutable.readFileSync = original;
  syncBuiltins();
});

function build(csvMuts: CsvMutation[], pngMuts: PngMutation[]): { root: string; dir: string; csv: string } {
  const root = mkdtempSync(join(tmpdir(), 'elbo-fuzz-png-'));
  const dir = join(root, 'images');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  mkdirSync(join(root, 'elsewhere'));
  writeFileSync(join(root, 'outside.png'), seedPngs[0]);
  writeFileSync(join(root, 'elsewhere', 'outside.png'), seedPngs[0]);
  symlinkSync(join(root, 'elsewhere'), join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'fifo.png')]);
  const images = seedPngs.map((b) => Buffer.from(b));
  for (const m of pngMuts) {
    const i = m.image % images.length;
    if ('muts' in m) images[i] = Buffer.from(mutateBytes(images[i], m.muts));
    else if (images[i].length >= 24) {
      images[i].writeUInt32BE(m.ihdr.width, 16);
      images[i].writeUInt32BE(m.ihdr.height, 20);
    }
  }
  seedRows.forEach(([f], i) => writeFileSync(join(dir, f), images[i]));
  let header = 'file,label';
  let rows = seedRows.map((r) => [...r]);
  let raw: ByteMutation[] = [];
  for (const m of csvMuts) {
    if (m.kind === 'header') header = m.value;
    else if (m.kind === 'dropRow') rows = rows.filter((_, i) => rows.length === 0 || i !== m.row % rows.length);
    else if (m.kind === 'raw') raw = raw.concat(m.muts);
    else if (rows.length > 0) rows[m.row % rows.length][m.kind === 'file' ? 0 : 1] = m.value;
  }
  const quote = (s: string) => (/[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s);
  const text = [header, ...rows.map((r) => r.map(quote).join(','))].join('\n');
  const csv = join(root, 'labels.csv');
  writeFileSync(csv, mutateBytes(new TextEncoder().encode(text), raw));
  return { root, dir, csv };
}

function check(csvMuts: CsvMutation[], pngMuts: PngMutation[], channels: 1 | 3): void {
  const { root, dir, csv } = build(csvMuts, pngMuts);
  const from = opened.length;
  try {
    const data = timed(() => loadImageFolder(dir, { labels: csv, channels }), 'loadImageFolder');
    const [h, w, c] = data.shape;
    expect(c).toBe(channels);
    expect(data.images.length).toBe(data.count * h * w * c);
    expect(data.labels!.length).toBe(data.count);
    expect(data.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(data.labels!).every((l) => l >= 0 && l < data.numClasses!)).toBe(true);
  } catch (e) {
    expectInputError(e, (f) => f === csv || f.startsWith(dir));
    expect(e).toBeInstanceOf(DataFormatError);
  } finally {
    const real = realpathSync(dir);
    for (const p of opened.slice(from)) {
      if (p === csv) continue;
      let r = p;
      try {
        r = realpathSync(p);
      } catch {
        /* not there, so not read */
      }
      const rel = relative(real, r);
      expect(rel.startsWith('..') || rel.startsWith('/'), `read outside the folder: ${p}`).toBe(false);
    }
    rmSync(root, { recursive: true, force: true });
  }
}

describe('PNG folders with a labels CSV under mutation (fast-check)', () => {
  it(`a consistent dataset or a DataFormatError naming the file (${fuzzRuns} cases)`, () => {
    fc.assert(
      fc.property(fc.array(csvMutation, { maxLength: 3 }), fc.array(pngMutation, { maxLength: 2 }), fc.constantFrom(1 as const, 3 as const), check),
      { numRuns: fuzzRuns },
    );
  });
});

describe('PNG folder regressions', () => {
  it('CSV rows that leave the folder (.., absolute, a linked directory) are refused before any read', () => {
    for (const f of ['../outside.png', '/etc/passwd', 'link/outside.png', 'sub/../../outside.png']) check([{ kind: 'file', row: 0, value: f }], [], 1);
  });

  it('a CSV row naming a FIFO is refused, not waited on', () => {
    check([{ kind: 'file', row: 0, value: 'fifo.png' }], [], 1);
  });

  it('a PNG header declaring 4,294,967,295 x 100,000 pixels is refused before decoding', () => {
    check([], [{ image: 0, ihdr: { width: 0xffffffff, height: 100000 } }], 1);
  });

  it('integer labels far beyond any class count (one-hot would need terabytes)', () => {
    check([{ kind: 'label', row: 0, value: '99999999999999999999' }], [], 1);
    check([{ kind: 'label', row: 1, value: '65536' }], [], 1);
    const { root, dir, csv } = build([{ kind: 'label', row: 1, value: '65536' }], []);
    try {
      expect(() => loadImageFolder(dir, { labels: csv })).toThrow(/row 3: label 65536 is above 65535/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

