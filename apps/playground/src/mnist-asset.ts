/** One split of the playground's MNIST subset: grey levels 0..255, row-major [count, rows * cols]. */
export interface MnistSplitBytes {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface MnistSubset {
  rows: number;
  cols: number;
  train: MnistSplitBytes;
  test: MnistSplitBytes;
}

const MAGIC = 'EMN1';

/**
 * Parse the asset written by scripts/build-data.mjs: "EMN1", uint32 LE
 * trainCount, testCount, rows, cols, then train and test images (uint8), then
 * train and test labels (uint8).
 */
export function parseMnistSubset(buffer: ArrayBuffer, source = 'mnist-subset.bin'): MnistSubset {
  if (buffer.byteLength < 20) throw new Error(`${source}: ${buffer.byteLength} bytes is shorter than the 20-byte header`);
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== MAGIC) throw new Error(`${source}: magic is ${JSON.stringify(magic)}, expected "${MAGIC}" (rebuild it with \`pnpm --filter @elbo/playground run data\`)`);
  const view = new DataView(buffer);
  const [trainCount, testCount, rows, cols] = [4, 8, 12, 16].map((o) => view.getUint32(o, true));
  const d = rows * cols;
  const expected = 20 + (trainCount + testCount) * (d + 1);
  if (buffer.byteLength !== expected) {
    throw new Error(`${source}: ${buffer.byteLength} bytes, but the header (${trainCount} train, ${testCount} test, ${rows}x${cols}) implies ${expected}`);
  }
  let offset = 20;
  const next = (n: number) => {
    const part = bytes.subarray(offset, offset + n);
    offset += n;
    return part;
  };
  const trainImages = next(trainCount * d);
  const testImages = next(testCount * d);
  const trainLabels = next(trainCount);
  const testLabels = next(testCount);
  for (const [name, labels] of [['train', trainLabels], ['test', testLabels]] as const) {
    const bad = labels.findIndex((l) => l > 9);
    if (bad >= 0) throw new Error(`${source}: ${name} label ${bad} is ${labels[bad]}, expected 0..9`);
  }
  return {
    rows,
    cols,
    train: { images: trainImages, labels: trainLabels, count: trainCount },
    test: { images: testImages, labels: testLabels, count: testCount },
  };
}

/** Fetch and parse the subset from the app's own origin (cached by the service worker for offline use). */
export async function loadMnistSubset(url: string): Promise<MnistSubset> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`loadMnistSubset: GET ${url} answered ${response.status} ${response.statusText}`);
  return parseMnistSubset(await response.arrayBuffer(), url);
}

/** Images [first, first + n) of a split as float32 in [0, 1]: [n * rows * cols]. */
export function imagesAsFloat(split: MnistSplitBytes, first: number, n: number, dim: number): Float32Array {
  if (!Number.isInteger(first) || !Number.isInteger(n) || first < 0 || n < 1 || first + n > split.count) {
    throw new Error(`imagesAsFloat: range [${first}, ${first + n}) is outside the split's ${split.count} images`);
  }
  const out = new Float32Array(n * dim);
  const src = split.images.subarray(first * dim, (first + n) * dim);
  for (let i = 0; i < out.length; i++) out[i] = src[i] / 255;
  return out;
}
