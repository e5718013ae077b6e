import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdxFormatError, loadIdx, parseIdx, readIdxFile } from './idx';
import { idxToDataset, loadIdxDataset } from './mnist';

// Hand-written IDX bytes: magic 00 00 <dtype> <ndim>, big-endian uint32 dims, big-endian data.
const u8Images = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 1]);
const u8Labels = Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 3]);

const dir = mkdtempSync(join(tmpdir(), 'elbo-idx-'));
const file = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

function expectIdxError(fn: () => unknown, source: string, problem: RegExp) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IdxFormatError);
  expect((err as IdxFormatError).message).toContain(`'${source}'`);
  expect((err as IdxFormatError).message).toMatch(problem);
}

describe('parseIdx', () => {
  it('reads uint8 images with their shape', () => {
    const a = parseIdx(u8Images);
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 1]);
  });

  it('decodes every dtype big-endian', () => {
    const cases: [number[], string, number[]][] = [
      [[0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x80], 'int8', [-1, -128]],
      [[0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe], 'int16', [258, -2]],
      [[0, 0, 0x0c, 1, 0, 0, 0, 1, 0x00, 0x01, 0x00, 0x00], 'int32', [65536]],
      [[0, 0, 0x0d, 1, 0, 0, 0, 2, 63, 192, 0, 0, 190, 128, 0, 0], 'float32', [1.5, -0.25]],
      [[0, 0, 0x0e, 1, 0, 0, 0, 1, 64, 8, 0, 0, 0, 0, 0, 0], 'float64', [3]],
    ];
    for (const [bytes, dtype, values] of cases) {
      const a = parseIdx(Uint8Array.from(bytes));
      expect(a.dtype).toBe(dtype);
      expect(Array.from(a.data)).toEqual(values);
    }
  });

  it('reads gzip files the same as plain ones', () => {
    const p = file('images.gz', gzipSync(u8Images));
    expect(readIdxFile(p)).toEqual(parseIdx(u8Images));
  });

  it('rejects a truncated file, naming it and the sizes', () => {
    const p = file('truncated-idx3-ubyte', u8Images.subarray(0, u8Images.length - 5));
    expectIdxError(() => readIdxFile(p), p, /truncated: header says uint8 \[2, 2, 3\] = 12 data bytes .* file has 23 bytes/);
  });

  it('rejects a truncated header', () => {
    const p = file('short-header', u8Images.subarray(0, 9));
    expectIdxError(() => readIdxFile(p), p, /truncated header: 3 dimensions need 16 header bytes, file has 9/);
  });

  it('rejects an oversized file', () => {
    const p = file('oversized-idx3-ubyte', Uint8Array.from([...u8Images, 9, 9]));
    expectIdxError(() => readIdxFile(p), p, /oversized: .* file has 30 bytes \(2 extra\)/);
  });

  it('rejects a wrong magic number', () => {
    const bad = u8Images.slice();
    bad[0] = 0x50;
    bad[1] = 0x4b; // a zip file's "PK"
    const p = file('wrong-magic', bad);
    expectIdxError(() => readIdxFile(p), p, /wrong magic number: .* got 0x50 0x4b/);
  });

  it('rejects an unknown dtype and zero dimensions', () => {
    const bad = u8Images.slice();
    bad[2] = 0x0a;
    expectIdxError(() => parseIdx(bad, 'dtype-file'), 'dtype-file', /unknown dtype code 0x0a/);
    expectIdxError(() => parseIdx(Uint8Array.from([0, 0, 8, 0]), 'zero-dims'), 'zero-dims', /0 dimensions/);
  });

  it('rejects corrupt gzip and a missing file', () => {
    const gz = gzipSync(u8Images);
    const p = file('cut.gz', gz.subarray(0, gz.length - 10));
    expectIdxError(() => readIdxFile(p), p, /gzip data is corrupt or truncated/);
    const missing = join(dir, 'no-such-file');
    expectIdxError(() => readIdxFile(missing), missing, /cannot be read/);
  });
});

describe('idxToDataset', () => {
  it('scales uint8 to [0, 1] and pairs labels', () => {
    const d = idxToDataset(parseIdx(u8Images), parseIdx(u8Labels));
    expect(d.count).toBe(2);
    expect(d.shape).toEqual([2, 3, 1]);
    expect(d.images[1]).toBeCloseTo(0.2, 6);
    expect(d.images[5]).toBe(1);
    expect(Array.from(d.labels!)).toEqual([7, 3]);
    expect(d.numClasses).toBe(8);
  });

  it('rejects wrong dimensions, naming the file', () => {
    const threeLabels = parseIdx(Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 3]));
    expectIdxError(
      () => idxToDataset(parseIdx(u8Images), threeLabels, { images: 'imgs', labels: 'labs' }),
      'labs',
      /wrong dimensions: 3 labels for 2 images in 'imgs'/,
    );
    expectIdxError(() => idxToDataset(parseIdx(u8Labels), undefined, { images: 'flat' }), 'flat', /wrong dimensions for images: .* got \[2\]/);
    expectIdxError(() => idxToDataset(parseIdx(u8Images), parseIdx(u8Images), { labels: 'l3' }), 'l3', /expected \[count\], got \[2, 2, 3\]/);
  });
});

describe('loadIdx', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/images') res.end(Buffer.from(u8Images));
      else if (req.url === '/labels.gz') res.end(gzipSync(u8Labels));
      else {
        res.statusCode = 404;
        res.end('missing');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads paths, file URLs and local http URLs', async () => {
    const p = file('plain', u8Images);
    expect(await loadIdx(p)).toEqual(parseIdx(u8Images));
    expect(await loadIdx(pathToFileURL(p))).toEqual(parseIdx(u8Images));
    expect(await loadIdx(`${base}/images`)).toEqual(parseIdx(u8Images));
    const d = await loadIdxDataset({ images: `${base}/images`, labels: `${base}/labels.gz` });
    expect(d.count).toBe(2);
    expect(Array.from(d.labels!)).toEqual([7, 3]);
  });

  it('reports an HTTP error with the URL', async () => {
    await expect(loadIdx(`${base}/nothing`)).rejects.toThrow(`IDX file '${base}/nothing': HTTP 404`);
  });
});
