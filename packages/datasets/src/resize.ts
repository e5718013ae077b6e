/** Resampling method for `resizeImage`. */
export type ResizeMethod = 'area' | 'bilinear';

/**
 * Resize one image held as [height, width, channels] row-major floats.
 *
 * - 'area': each output pixel is the mean of the input area it covers, with
 *   fractional overlaps weighted by their length (box filter, like
 *   OpenCV's INTER_AREA / PIL's BOX); the right choice for shrinking, as it
 *   does not alias.
 * - 'bilinear': half-pixel centres, edges clamped (the convention of
 *   `tf.image.resizeBilinear(x, size, false, true)` and PIL/OpenCV without
 *   anti-aliasing).
 *
 * @param src [h, w, c] values
 * @returns [outH, outW, c] values
 */
export function resizeImage(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number, method: ResizeMethod = 'area'): Float32Array {
  for (const [name, v] of Object.entries({ h, w, c, outH, outW })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resizeImage: ${name} must be a positive integer, got ${v}`);
  }
  if (src.length !== h * w * c) throw new Error(`resizeImage: src has ${src.length} values, expected ${h}x${w}x${c} = ${h * w * c}`);
  if (method !== 'area' && method !== 'bilinear') throw new Error(`resize method must be 'area' or 'bilinear', got ${JSON.stringify(method)}`);
  if (h === outH && w === outW) return src.slice();
  const rows = method === 'area' ? areaWeights(h, outH) : bilinearWeights(h, outH);
  const cols = method === 'area' ? areaWeights(w, outW) : bilinearWeights(w, outW);
  // Separable: columns first into [h, outW, c], then rows.
  const tmp = new Float32Array(h * outW * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const { index, weight } = cols[x];
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < index.length; t++) acc += weight[t] * src[(y * w + index[t]) * c + ch];
        tmp[(y * outW + x) * c + ch] = acc;
      }
    }
  }
  const out = new Float32Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    const { index, weight } = rows[y];
    for (let x = 0; x < outW; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < index.length; t++) acc += weight[t] * tmp[(index[t] * outW + x) * c + ch];
        out[(y * outW + x) * c + ch] = acc;
      }
    }
  }
  return out;
}

interface Taps {
  index: number[];
  weight: number[];
}

/** Output pixel i covers input [i * n / m, (i + 1) * n / m); weights are the overlaps, normalised. */
function areaWeights(n: number, m: number): Taps[] {
  const scale = n / m;
  return Array.from({ length: m }, (_, i) => {
    const a = i * scale;
    const b = (i + 1) * scale;
    const index: number[] = [];
    const weight: number[] = [];
    for (let j = Math.floor(a); j < Math.min(n, Math.ceil(b)); j++) {
      const overlap = Math.min(b, j + 1) - Math.max(a, j);
      if (overlap > 1e-12) {
        index.push(j);
        weight.push(overlap / scale);
      }
    }
    return { index, weight };
  });
}

function bilinearWeights(n: number, m: number): Taps[] {
  const scale = n / m;
  return Array.from({ length: m }, (_, i) => {
    const s = Math.min(n - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const j0 = Math.floor(s);
    const j1 = Math.min(n - 1, j0 + 1);
    const f = s - j0;
    return j0 === j1 || f === 0 ? { index: [j0], weight: [1] } : { index: [j0, j1], weight: [1 - f, f] };
  });
}
