import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from '@elbo/core';

/**
 * The IDX format (LeCun et al., the container of MNIST and Fashion-MNIST):
 * two zero bytes, a dtype code, the number of dimensions, then each dimension
 * as a big-endian uint32, then the values, big-endian, row-major.
 */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file: its values in native byte order and its shape. */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

/**
 * A malformed IDX file; `source` (also `file`) names the file or URL, `field`
 * the part of the file at fault ('magic', 'dtype', 'ndim', 'dims[i]', 'data',
 * 'gzip'), the message says what is wrong.
 */
export class IdxFormatError extends DataFormatError {
  constructor(
    readonly source: string,
    readonly problem: string,
    field?: string,
  ) {
    super(`IDX file '${source}': ${problem}`, field === undefined ? { file: source } : { file: source, field });
    this.name = 'IdxFormatError';
  }
}

/** Deflate's largest expansion: a gzip file never inflates to more than this times its size. */
const GZIP_MAX_RATIO = 1032;

/**
 * Inflate gzip bytes, allocating no more than the file can hold: the size in
 * the gzip trailer (ISIZE), capped at the most deflate can expand this many
 * bytes to. A trailer that understates the data is refused, not trusted.
 */
function gunzipBounded(bytes: Uint8Array, source: string): Uint8Array {
  if (bytes.length < 18) throw new IdxFormatError(source, `gzip data is truncated: ${bytes.length} bytes, shorter than a gzip header and trailer`, 'gzip');
  const isize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  const limit = Math.min(isize, GZIP_MAX_RATIO * bytes.length);
  let out: Uint8Array;
  try {
    out = gunzipSync(bytes, { maxOutputLength: Math.max(1, limit) });
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
    throw new IdxFormatError(
      source,
      tooLarge
        ? `gzip data inflates to more than the ${limit} bytes its trailer declares`
        : `gzip data is corrupt or truncated (${(e as Error).message})`,
      'gzip',
    );
  }
  if (out.length !== isize) throw new IdxFormatError(source, `gzip data inflates to ${out.length} bytes, its trailer declares ${isize}`, 'gzip');
  return out;
}

const DTYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

const hex = (b: number) => '0x' + b.toString(16).padStart(2, '0');

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parse IDX bytes (plain or gzip-compressed). The header's dtype and
 * dimensions must account for every byte: a truncated or oversized file, a
 * wrong magic number or an unknown dtype throws an `IdxFormatError` naming
 * `source`, never a silent short read.
 *
 * @param bytes the whole file
 * @param source the file name or URL, for error messages
 */
export function parseIdx(bytes: Uint8Array, source = '<buffer>'): IdxArray {
  if (isGzip(bytes)) bytes = gunzipBounded(bytes, source);
  if (bytes.length < 4) {
    throw new IdxFormatError(source, `truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`, 'magic');
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(
      source,
      `wrong magic number: the first two bytes must be 0x00 0x00, got ${hex(bytes[0])} ${hex(bytes[1])} (not an IDX file?)`,
      'magic',
    );
  }
  const type = DTYPES[bytes[2]];
  if (!type) {
    throw new IdxFormatError(
      source,
      `unknown dtype code ${hex(bytes[2])} in the magic number (allowed: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)`,
      'dtype',
    );
  }
  const ndim = bytes[3];
  if (ndim === 0) throw new IdxFormatError(source, 'the magic number declares 0 dimensions (at least 1 is needed)', 'ndim');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(source, `truncated header: ${ndim} dimensions need ${headerBytes} header bytes, file has ${bytes.length}`, 'dims');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  const described = `header says ${type.dtype} [${shape.join(', ')}] = ${count * type.bytes} data bytes after the ${headerBytes}-byte header (${expected} in all)`;
  if (bytes.length < expected) {
    throw new IdxFormatError(source, `truncated: ${described}, file has ${bytes.length} bytes`, 'data');
  }
  if (bytes.length > expected) {
    throw new IdxFormatError(source, `oversized: ${described}, file has ${bytes.length} bytes (${bytes.length - expected} extra)`, 'data');
  }
  return { dtype: type.dtype, shape, data: decode(view, headerBytes, count, type.dtype) };
}

function decode(view: DataView, offset: number, n: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case 'uint8':
      // A copy, so the result does not pin a (possibly much larger) file buffer.
      return new Uint8Array(view.buffer, view.byteOffset + offset, n).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + offset, n).slice();
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Read and parse an IDX file (plain or .gz) from disk. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    // A FIFO or device would block or never end: only regular files are read.
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    bytes = readFileSync(path);
  } catch (e) {
    throw new IdxFormatError(path, `cannot be read (${(e as Error).message})`);
  }
  return parseIdx(bytes, path);
}

const isHttp = (s: string) => /^https?:\/\//i.test(s);

/**
 * Load an IDX file from a path, a `file:` URL or an `http(s):` URL (fetched;
 * elbo never downloads anything on its own, the caller names the URL).
 */
export async function loadIdx(source: string | URL): Promise<IdxArray> {
  const href = source instanceof URL ? source.href : source;
  if (href.startsWith('file:')) return readIdxFile(fileURLToPath(href));
  if (!isHttp(href)) return readIdxFile(href);
  let response: Response;
  try {
    response = await fetch(href);
  } catch (e) {
    throw new IdxFormatError(href, `fetch failed (${(e as Error).message})`);
  }
  if (!response.ok) throw new IdxFormatError(href, `HTTP ${response.status} ${response.statusText}`.trim());
  return parseIdx(new Uint8Array(await response.arrayBuffer()), href);
}
