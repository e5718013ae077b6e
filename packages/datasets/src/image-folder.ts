import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataFormatError } from '@elbo/core';
import { parse } from 'csv-parse/sync';
import { PNG } from 'pngjs';
import type { ImageDataset } from './image-dataset';
import { type ResizeMethod, resizeImage } from './resize';

export interface ImageFolderOptions {
  /** Output size: a side (square) or [height, width]. Default: the first image's size (then all must match). */
  size?: number | [number, number];
  /** 1 (grey, ITU-R BT.601 luma, default) or 3 (RGB). */
  channels?: 1 | 3;
  /**
   * Labels: the path of a CSV with a header `file,label` (files relative to the
   * folder; the CSV then decides which files, in its order), or 'subfolders'
   * (class = name of the subfolder holding the PNG, torchvision ImageFolder
   * layout). Default: no labels, every .png directly in the folder, sorted by name.
   * Integer labels are kept; other labels become indices of the sorted names.
   */
  labels?: string;
  /** Resampling when the size changes; default 'area'. */
  resize?: ResizeMethod;
  /** Grey level in [0, 1] that transparent pixels are composited over; default 0 (black). */
  background?: number;
}

/** An image folder as a dataset; `files` are the paths relative to the folder, in dataset order. */
export interface ImageFolderData extends ImageDataset {
  files: string[];
}

const isPng = (name: string) => name.toLowerCase().endsWith('.png');

/** Deflate's largest expansion: compressed image data never inflates to more than this times its size. */
const DEFLATE_MAX_RATIO = 1032;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Check a PNG's header before decoding: the signature, an IHDR chunk first,
 * and a width and height whose filtered pixel data fits in what the file's
 * compressed bytes can inflate to (so a 100-byte file cannot make the decoder
 * allocate gigabytes).
 */
function checkPngHeader(bytes: Uint8Array, name: string): void {
  const fail = (problem: string, field: string) => new DataFormatError(`'${name}' is not a readable PNG (${problem})`, { file: name, field });
  if (bytes.length < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw fail('no PNG signature', 'signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw fail('the first chunk is not IHDR', 'IHDR');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const channels = PNG_CHANNELS[bytes[25]];
  if (width === 0 || height === 0) throw fail(`size ${width}x${height}`, 'IHDR.size');
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth)) throw fail(`colour type ${bytes[25]} with bit depth ${depth}`, 'IHDR.colorType');
  const raw = height * (1 + Math.ceil((width * channels * depth) / 8));
  if (raw > DEFLATE_MAX_RATIO * bytes.length) {
    throw fail(`the header declares ${width}x${height} pixels, more than its ${bytes.length} bytes can hold`, 'IHDR.size');
  }
}

/** Decode a PNG to [height, width, channels] floats in [0, 1]. */
export function decodePng(bytes: Uint8Array, channels: 1 | 3 = 1, background = 0, name = '<buffer>'): { data: Float32Array; height: number; width: number } {
  let png: { width: number; height: number; data: Uint8Array };
  checkPngHeader(bytes, name);
  try {
    // pngjs normalises every colour type and bit depth to 8-bit RGBA.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new DataFormatError(`'${name}' is not a readable PNG (${(e as Error).message})`, { file: name });
  }
  const { width, height } = png;
  const data = new Float32Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    const r = png.data[4 * p] / 255;
    const g = png.data[4 * p + 1] / 255;
    const b = png.data[4 * p + 2] / 255;
    const a = png.data[4 * p + 3] / 255;
    const bg = (1 - a) * background;
    if (channels === 1) data[p] = a * (0.299 * r + 0.587 * g + 0.114 * b) + bg;
    else {
      data[3 * p] = a * r + bg;
      data[3 * p + 1] = a * g + bg;
      data[3 * p + 2] = a * b + bg;
    }
  }
  return { data, height, width };
}

function listPngs(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory() && recursive) walk(p);
      else if (entry.isFile() && isPng(entry.name)) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Read a file that must be a regular file (a FIFO or device would block or never end). */
function readRegularFile(path: string): Buffer {
  if (!statSync(path).isFile()) throw new Error('not a regular file');
  return readFileSync(path);
}

/** A CSV's file names must name files inside the folder: relative, no `..`, and no link out of it. */
function checkInside(dir: string, file: string, csv: string, row: number): void {
  const fail = (why: string) => new DataFormatError(`loadImageFolder: labels CSV '${csv}' row ${row}: file '${file}' ${why}`, { file: csv, field: `row ${row} file` });
  if (isAbsolute(file) || file.includes('\0') || file.split(/[\\/]/).includes('..')) throw fail('leaves the folder (only paths inside it are allowed)');
  const path = resolve(dir, file);
  let real: string;
  try {
    lstatSync(path);
    real = realpathSync(path);
  } catch {
    return; // missing: reported when it is read
  }
  const rel = relative(realpathSync(dir), real);
  if (rel.startsWith('..') || isAbsolute(rel)) throw fail('is a link that leaves the folder');
}

function readLabelsCsv(path: string): { files: string[]; raw: string[] } {
  const fail = (why: string, field?: string) => new DataFormatError(`loadImageFolder: labels CSV '${path}' ${why}`, field === undefined ? { file: path } : { file: path, field });
  let text: string;
  try {
    text = readRegularFile(path).toString('utf8');
  } catch (e) {
    throw fail(`cannot be read (${(e as Error).message})`);
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (e) {
    throw fail(`is malformed (${(e as Error).message})`);
  }
  if (rows.length === 0) throw fail('has no rows');
  for (const col of ['file', 'label']) {
    if (!(col in rows[0])) throw fail(`needs a header with columns 'file' and 'label', got ${JSON.stringify(Object.keys(rows[0]))}`, 'header');
  }
  rows.forEach((r, i) => {
    if (typeof r.file !== 'string' || r.file === '') throw fail(`row ${i + 2} has an empty file`, `row ${i + 2} file`);
    if (typeof r.label !== 'string' || r.label === '') throw fail(`row ${i + 2} has an empty label`, `row ${i + 2} label`);
  });
  return { files: rows.map((r) => r.file), raw: rows.map((r) => r.label) };
}

/** Integer labels above this are refused: one-hot encodings of them would need memory no label file justifies. */
const MAX_INTEGER_LABEL = 65535;

function toClassIndices(raw: string[], csv?: string): { labels: Int32Array; numClasses: number; classNames?: string[] } {
  if (raw.every((s) => /^\d+$/.test(s))) {
    let max = 0;
    raw.forEach((s, i) => {
      const v = Number(s);
      if (v > MAX_INTEGER_LABEL) {
        throw new DataFormatError(`loadImageFolder: labels CSV '${csv}' row ${i + 2}: label ${s} is above ${MAX_INTEGER_LABEL} (use class names for more classes)`, { file: csv, field: `row ${i + 2} label` });
      }
      max = Math.max(max, v);
    });
    return { labels: Int32Array.from(raw, Number), numClasses: max + 1 };
  }
  const classNames = [...new Set(raw)].sort();
  const index = new Map(classNames.map((n, i) => [n, i]));
  return { labels: Int32Array.from(raw, (s) => index.get(s)!), numClasses: classNames.length, classNames };
}

/**
 * Load a folder of PNG files as a dataset, resized to one size, with optional labels.
 *
 * @example
 * const data = loadImageFolder('my-digits', { size: 28, labels: 'my-digits/labels.csv' });
 * const source = new ArrayBatchSource(data, { batchSize: 32, seed: 0 });
 */
export function loadImageFolder(dir: string, options: ImageFolderOptions = {}): ImageFolderData {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new DataFormatError(`loadImageFolder: '${dir}' is not a readable folder (${(e as Error).message})`, { file: dir });
  }
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new Error(`loadImageFolder: channels must be 1 or 3, got ${JSON.stringify(channels)}`);
  const background = options.background ?? 0;
  if (!(background >= 0 && background <= 1)) throw new Error(`loadImageFolder: background must be a grey level in [0, 1], got ${background}`);
  const method = options.resize ?? 'area';
  let size: [number, number] | undefined;
  if (options.size !== undefined) {
    size = typeof options.size === 'number' ? [options.size, options.size] : options.size;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
      throw new Error(`loadImageFolder: size must be a positive integer or [height, width], got ${JSON.stringify(options.size)}`);
    }
  }

  let files: string[];
  let labelInfo: ReturnType<typeof toClassIndices> | undefined;
  if (options.labels === 'subfolders') {
    files = listPngs(dir, true).filter((f) => f.includes(sep));
    labelInfo = toClassIndices(files.map((f) => f.split(sep)[0]));
  } else if (options.labels !== undefined) {
    const csv = readLabelsCsv(options.labels);
    csv.files.forEach((f, i) => checkInside(dir, f, options.labels!, i + 2));
    files = csv.files;
    labelInfo = toClassIndices(csv.raw, options.labels);
  } else {
    files = listPngs(dir, false);
  }
  if (files.length === 0) throw new DataFormatError(`loadImageFolder: no .png files in '${dir}'`, { file: dir });

  let images: Float32Array | undefined;
  files.forEach((file, i) => {
    const path = join(dir, file);
    let bytes: Uint8Array;
    try {
      bytes = readRegularFile(path);
    } catch (e) {
      throw new DataFormatError(`loadImageFolder: '${path}' cannot be read (${(e as Error).message})`, { file: path });
    }
    const img = decodePng(bytes, channels, background, path);
    if (!size) size = [img.height, img.width];
    else if (options.size === undefined && (img.height !== size[0] || img.width !== size[1])) {
      throw new DataFormatError(`loadImageFolder: '${path}' is ${img.height}x${img.width} but the first image is ${size[0]}x${size[1]}; pass options.size to resize`, { file: path, field: 'IHDR.size' });
    }
    const [h, w] = size;
    images ??= new Float32Array(files.length * h * w * channels);
    images.set(resizeImage(img.data, img.height, img.width, channels, h, w, method), i * h * w * channels);
  });
  return {
    images: images!,
    count: files.length,
    shape: [size![0], size![1], channels],
    files,
    ...(labelInfo ?? {}),
  };
}
