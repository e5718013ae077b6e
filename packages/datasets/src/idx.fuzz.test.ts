import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataFormatError } from '@elbo/core';
import { byteMutation, expectInputError, fuzzRuns, mutateBytes, timed } from './fuzz-support';
import { IdxFormatError, parseIdx, readIdxFile } from './idx';

// Property: parsing mutated IDX bytes (plain and gzip) either returns an array
// whose shape, dtype and data agree, or throws an IdxFormatError (a
// DataFormatError) naming the file and the field at fault; never another
// error, never a hang, never more memory than the file can hold.

/** A valid IDX file: header + big-endian values. */
function idx(code: number, shape: number[], bytesPer: number, fill: (view: DataView, i: number) => void): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * shape.length + n * bytesPer);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const data = new DataView(out.buffer, 4 + 4 * shape.length);
  for (let i = 0; i < n; i++) fill(data, i);
  return out;
}

const plainSeeds = [
  idx(0x08, [3, 4, 5], 1, (v, i) => v.setUint8(i, (i * 37) & 255)),
  idx(0x09, [6], 1, (v, i) => v.setInt8(i, i - 3)),
  idx(0x0b, [2, 3], 2, (v, i) => v.setInt16(2 * i, i * 1000 - 2500, false)),
  idx(0x0c, [4], 4, (v, i) => v.setInt32(4 * i, i - 2, false)),
  idx(0x0d, [2, 2], 4, (v, i) => v.setFloat32(4 * i, i / 3, false)),
  idx(0x0e, [3], 8, (v, i) => v.setFloat64(8 * i, -i / 7, false)),
];
const seeds = [...plainSeeds, ...plainSeeds.map((s) => new Uint8Array(gzipSync(s)))];
const SOURCE = 'fuzz/train-images-idx3-ubyte';
const GZIP_MAX_RATIO = 1032;

function check(bytes: Uint8Array): void {
  try {
    const out = timed(() => parseIdx(bytes, SOURCE), 'parseIdx');
    const n = out.shape.reduce((a, b) => a * b, 1);
    expect(out.data.length).toBe(n);
    expect(out.data.byteLength).toBeLessThanOrEqual(GZIP_MAX_RATIO * bytes.length);
    expect(out.shape.every((d) => Number.isInteger(d) && d >= 0)).toBe(true);
  } catch (e) {
    expectInputError(e, (f) => f === SOURCE);
    expect(e).toBeInstanceOf(IdxFormatError);
    expect(e).toBeInstanceOf(DataFormatError);
    expect(typeof e.field, `no field in: ${e.message}`).toBe('string');
  }
}

describe('IDX files under mutation (fast-check)', () => {
  it(`plain and gzip IDX: a consistent array or an IdxFormatError naming file and field (${fuzzRuns} cases)`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(byteMutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (seed, muts, regzip) => {
        // Mutate the plain bytes and gzip them (valid gzip, hostile IDX) or mutate the gzip stream itself.
        const s = seeds[seed % seeds.length];
        const bytes = regzip ? new Uint8Array(gzipSync(mutateBytes(plainSeeds[seed % plainSeeds.length], muts))) : mutateBytes(s, muts);
        check(bytes);
      }),
      { numRuns: fuzzRuns },
    );
  });
});

describe('IDX regressions', () => {
  it('a gzip bomb: a small file that inflates far beyond what its trailer says is refused before the allocation', () => {
    // 64 MiB of zeros compress to ~64 KiB; the trailer is rewritten to claim 16 bytes.
    const bomb = new Uint8Array(gzipSync(new Uint8Array(64 * 2 ** 20)));
    new DataView(bomb.buffer).setUint32(bomb.length - 4, 16, true);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => parseIdx(bomb, SOURCE)).toThrow(/inflates to more than the 16 bytes its trailer declares/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
  });

  it('a gzip trailer that claims more than deflate can expand the file to', () => {
    const gz = new Uint8Array(gzipSync(plainSeeds[0]));
    new DataView(gz.buffer).setUint32(gz.length - 4, 0xffffffff, true);
    check(gz);
    expect(() => parseIdx(gz, SOURCE)).toThrow(/gzip data/);
  });

  it('dimensions whose product overflows, and a header shorter than its dimension count', () => {
    const b = Uint8Array.from(plainSeeds[0]);
    new DataView(b.buffer).setUint32(4, 0xffffffff, false);
    new DataView(b.buffer).setUint32(8, 0xffffffff, false);
    check(b);
    check(Uint8Array.from([0, 0, 8, 200, 0, 0, 0, 1]));
  });

  it('a FIFO in place of the file is refused, not waited on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elbo-idx-fifo-'));
    try {
      execFileSync('mkfifo', [join(dir, 'x.idx')]);
      expect(() => timed(() => readIdxFile(join(dir, 'x.idx')), 'readIdxFile')).toThrow(/not a regular file/);
      writeFileSync(join(dir, 'y.idx'), plainSeeds[1]);
      expect(readIdxFile(join(dir, 'y.idx')).shape).toEqual([6]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

