import type * as tf from '@tensorflow/tfjs-core';

export interface SsimOptions {
  /** Range of the pixel values (max - min possible), e.g. 1 or 255. Required, as in scikit-image. */
  dataRange: number;
  /** Gaussian window sigma (default 1.5, Wang et al. 2004). */
  sigma?: number;
  /** K1 (default 0.01). */
  k1?: number;
  /** K2 (default 0.03). */
  k2?: number;
}

/**
 * 1-D Gaussian weights as scipy.ndimage.gaussian_filter makes them with
 * truncate 3.5 (skimage's default): radius int(3.5 sigma + 0.5), so 11 taps for sigma 1.5.
 */
function gaussianTaps(sigma: number): Float64Array {
  const r = Math.floor(3.5 * sigma + 0.5);
  const taps = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    taps[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    s += taps[i + r];
  }
  for (let i = 0; i < taps.length; i++) taps[i] /= s;
  return taps;
}

/** Separable 'valid' filtering of an h x w plane: [(h-2r) x (w-2r)]. */
function filterValid(src: Float64Array, h: number, w: number, taps: Float64Array, tmp: Float64Array, out: Float64Array): void {
  const t = taps.length;
  const wo = w - t + 1;
  const ho = h - t + 1;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < wo; j++) {
      let s = 0;
      for (let k = 0; k < t; k++) s += taps[k] * src[i * w + j + k];
      tmp[i * wo + j] = s;
    }
  }
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      let s = 0;
      for (let k = 0; k < t; k++) s += taps[k] * tmp[(i + k) * wo + j];
      out[i * wo + j] = s;
    }
  }
}

/**
 * Structural similarity (Wang et al. 2004) of each image pair, computed as
 * scikit-image's `structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=R, channel_axis=-1)`: Gaussian
 * window (11 taps for sigma 1.5), C1 = (K1 R)^2, C2 = (K2 R)^2, and the mean of
 * the SSIM map after cropping (win-1)/2 pixels from every border (skimage's
 * convention). Those interior pixels never see the filter's border padding, so
 * a 'valid' filter gives exactly skimage's numbers. Arithmetic in float64.
 *
 * @param a [h, w], [n, h, w] or [n, h, w, channels] (channels last; the mean over channels is taken)
 * @param b same shape as a
 * @returns per-image SSIM, length n (1 for [h, w])
 */
export function ssimPerImage(a: tf.Tensor, b: tf.Tensor, options: SsimOptions): Float64Array {
  const { dataRange, sigma = 1.5, k1 = 0.01, k2 = 0.03 } = options ?? ({} as SsimOptions);
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) throw new Error(`ssim: dataRange must be a positive number, got ${dataRange}`);
  if (!(sigma > 0)) throw new Error(`ssim: sigma must be positive, got ${sigma}`);
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new Error(`ssim: a and b must have the same shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  if (a.rank < 2 || a.rank > 4) throw new Error(`ssim: images must be [h, w], [n, h, w] or [n, h, w, channels], got [${a.shape.join(', ')}]`);
  const s = a.shape;
  const [n, h, w, c] = (a.rank === 2 ? [1, s[0], s[1], 1] : a.rank === 3 ? [s[0], s[1], s[2], 1] : s) as [number, number, number, number];
  const taps = gaussianTaps(sigma);
  const t = taps.length;
  if (h < t || w < t) throw new Error(`ssim: images must be at least ${t}x${t} for sigma ${sigma}, got ${h}x${w}`);
  const c1 = (k1 * dataRange) ** 2;
  const c2 = (k2 * dataRange) ** 2;
  const da = a.dataSync();
  const db = b.dataSync();
  const plane = h * w;
  const ho = h - t + 1;
  const wo = w - t + 1;
  const x = new Float64Array(plane);
  const y = new Float64Array(plane);
  const prod = new Float64Array(plane);
  const tmp = new Float64Array(h * wo);
  const maps = Array.from({ length: 5 }, () => new Float64Array(ho * wo));
  const [ux, uy, uxx, uyy, uxy] = maps;
  const out = new Float64Array(n);
  for (let img = 0; img < n; img++) {
    let total = 0;
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) {
        x[p] = da[(img * plane + p) * c + ch];
        y[p] = db[(img * plane + p) * c + ch];
      }
      filterValid(x, h, w, taps, tmp, ux);
      filterValid(y, h, w, taps, tmp, uy);
      for (let p = 0; p < plane; p++) prod[p] = x[p] * x[p];
      filterValid(prod, h, w, taps, tmp, uxx);
      for (let p = 0; p < plane; p++) prod[p] = y[p] * y[p];
      filterValid(prod, h, w, taps, tmp, uyy);
      for (let p = 0; p < plane; p++) prod[p] = x[p] * y[p];
      filterValid(prod, h, w, taps, tmp, uxy);
      let s = 0;
      for (let p = 0; p < ho * wo; p++) {
        const vx = uxx[p] - ux[p] * ux[p];
        const vy = uyy[p] - uy[p] * uy[p];
        const vxy = uxy[p] - ux[p] * uy[p];
        s += ((2 * ux[p] * uy[p] + c1) * (2 * vxy + c2)) / ((ux[p] * ux[p] + uy[p] * uy[p] + c1) * (vx + vy + c2));
      }
      total += s / (ho * wo);
    }
    out[img] = total / c;
  }
  return out;
}

/**
 * Mean SSIM over a batch of image pairs (see `ssimPerImage` for the definition).
 * @example ssim(reconstructions, images, { dataRange: 1 }) // 1 for identical images
 */
export function ssim(a: tf.Tensor, b: tf.Tensor, options: SsimOptions): number {
  const per = ssimPerImage(a, b, options);
  return per.reduce((s, v) => s + v, 0) / per.length;
}
