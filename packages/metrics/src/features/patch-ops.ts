import * as tf from '@tensorflow/tfjs-core';

/**
 * im2col and 2x2 max pooling as custom-gradient ops whose forward and backward
 * passes are plain loops over typed arrays.
 *
 * Why: on tfjs-backend-cpu, Conv2DBackpropFilter is pathologically slow, and
 * so are the generic strided Slice / SplitV / MaxPoolGrad kernels an
 * im2col-by-slicing conv needs (measured: ~4 s of Slice per step of 128
 * MNIST images). Direct loops are ~100x faster and work on any backend that
 * can read tensors synchronously (cpu, wasm).
 */

/**
 * Patches of a stride-1, zero-padded 'same' k x k window, rows in (b, i, j)
 * order and columns in (dy, dx, channel) order, so that
 * `matMul(im2col(x, k), w.reshape([k*k*cin, cout]))` is `conv2d(x, w, 1, 'same')`.
 * @param x [batch, height, width, channels]
 * @returns [batch*height*width, k*k*channels]
 */
export function im2col(x: tf.Tensor4D, k: number): tf.Tensor2D {
  if (!Number.isInteger(k) || k < 1 || k % 2 !== 1) throw new Error(`im2col: k must be an odd positive integer, got ${k}`);
  if (x.rank !== 4) throw new Error(`im2col: x must be [batch, height, width, channels], got [${x.shape.join(', ')}]`);
  const [b, h, w, c] = x.shape;
  const p = (k - 1) / 2;
  const cols = k * k * c;
  const op = tf.customGrad(((xt: tf.Tensor) => {
    const src = xt.dataSync() as Float32Array;
    const out = new Float32Array(b * h * w * cols);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const row = ((n * h + i) * w + j) * cols;
          for (let dy = 0; dy < k; dy++) {
            const ii = i + dy - p;
            if (ii < 0 || ii >= h) continue;
            for (let dx = 0; dx < k; dx++) {
              const jj = j + dx - p;
              if (jj < 0 || jj >= w) continue;
              const s = ((n * h + ii) * w + jj) * c;
              const d = row + (dy * k + dx) * c;
              for (let ch = 0; ch < c; ch++) out[d + ch] = src[s + ch];
            }
          }
        }
      }
    }
    return {
      value: tf.tensor2d(out, [b * h * w, cols]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(b * h * w * c);
        for (let n = 0; n < b; n++) {
          for (let i = 0; i < h; i++) {
            for (let j = 0; j < w; j++) {
              const row = ((n * h + i) * w + j) * cols;
              for (let ky = 0; ky < k; ky++) {
                const ii = i + ky - p;
                if (ii < 0 || ii >= h) continue;
                for (let kx = 0; kx < k; kx++) {
                  const jj = j + kx - p;
                  if (jj < 0 || jj >= w) continue;
                  const s = ((n * h + ii) * w + jj) * c;
                  const d = row + (ky * k + kx) * c;
                  for (let ch = 0; ch < c; ch++) dx[s + ch] += g[d + ch];
                }
              }
            }
          }
        }
        return tf.tensor4d(dx, [b, h, w, c]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

/**
 * 2x2 max pooling with stride 2 ('valid'; height and width must be even).
 * The gradient flows to the first maximal element of each window, as in tfjs.
 * @param x [batch, height, width, channels]
 * @returns [batch, height/2, width/2, channels]
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`maxPool2x2: x must be [batch, height, width, channels], got [${x.shape.join(', ')}]`);
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`maxPool2x2: height and width must be even, got ${h}x${w}`);
  const ho = h / 2;
  const wo = w / 2;
  const op = tf.customGrad(((xt: tf.Tensor) => {
    const src = xt.dataSync() as Float32Array;
    const out = new Float32Array(b * ho * wo * c);
    const arg = new Int32Array(out.length);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const o = ((n * ho + i) * wo + j) * c;
          const s00 = ((n * h + 2 * i) * w + 2 * j) * c;
          const s01 = s00 + c;
          const s10 = s00 + w * c;
          const s11 = s10 + c;
          for (let ch = 0; ch < c; ch++) {
            let best = s00 + ch;
            if (src[s01 + ch] > src[best]) best = s01 + ch;
            if (src[s10 + ch] > src[best]) best = s10 + ch;
            if (src[s11 + ch] > src[best]) best = s11 + ch;
            out[o + ch] = src[best];
            arg[o + ch] = best;
          }
        }
      }
    }
    return {
      value: tf.tensor4d(out, [b, ho, wo, c]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(b * h * w * c);
        for (let o = 0; o < g.length; o++) dx[arg[o]] += g[o];
        return tf.tensor4d(dx, [b, h, w, c]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
