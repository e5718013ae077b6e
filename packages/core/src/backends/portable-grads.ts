import * as tf from '@tensorflow/tfjs-core';

/**
 * Matmul and convolutions whose backward passes use only kernels every tfjs
 * backend has, for backends that lack one (tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter) or run one slowly (its BatchMatMul with transposeA/B
 * is ~3x slower than an explicit transpose followed by a plain matMul).
 *
 * The layers (Dense, Conv2d, ConvTranspose2d) call `usePortableMatMulGrad()` /
 * `usePortableConvGrad()` and switch to these ops only where it helps (the
 * conv filter gradient also on cpu, whose own kernel is 7-20x slower).
 */

/** Backends whose transposed matMul is slower than transpose + plain matMul (measured: wasm 4.22). */
const explicitTransposeBackends = new Set<string>(['wasm']);

/**
 * Declare whether a backend prefers explicit transposes in the Dense backward
 * pass (a backend package that knows it is faster either way can say so).
 */
export function setPrefersExplicitTranspose(backendName: string, prefers: boolean): void {
  if (prefers) explicitTransposeBackends.add(backendName);
  else explicitTransposeBackends.delete(backendName);
}

/** Name of the active backend, initialising the default one if none is yet (tf.getBackend() is undefined until then). */
export function activeBackendName(): string {
  tf.backend();
  return tf.getBackend();
}

/** True when Dense should use `portableMatMul` on the active backend. */
export function usePortableMatMulGrad(): boolean {
  return explicitTransposeBackends.has(activeBackendName());
}

/**
 * Backends whose Conv2DBackpropFilter is much slower than `conv2dFilterGrad`.
 * Measured on tfjs-backend-cpu 4.22 (2-core VM): batch 32, 28x28x1 -> 8 ch,
 * stride 2: 614 ms vs 87 ms; 14x14x8 -> 16: 1,564 ms vs 78 ms; batch 64,
 * 28x28x1 -> 32: 5,194 ms vs 232 ms (same gradients to 1e-3 absolute).
 */
const slowConvFilterBackends = new Set<string>(['cpu']);

/** Declare whether a backend's own Conv2DBackpropFilter is slower than the portable filter gradient. */
export function setPrefersPortableConvGrad(backendName: string, prefers: boolean): void {
  if (prefers) slowConvFilterBackends.add(backendName);
  else slowConvFilterBackends.delete(backendName);
}

/**
 * True when conv layers should use `portableConv2d`: the active backend has no
 * Conv2DBackpropFilter kernel (wasm) or a pathologically slow one (cpu).
 */
export function usePortableConvGrad(): boolean {
  const name = activeBackendName();
  return slowConvFilterBackends.has(name) || tf.getKernel('Conv2DBackpropFilter', name) === undefined;
}

type Pad4 = [[0, 0], [number, number], [number, number], [0, 0]];
export type ConvPadding = 'same' | 'valid' | number;

/** Explicit [before, after] padding along one axis, as TensorFlow computes 'same'. */
function padAmounts(inSize: number, outSize: number, kernel: number, stride: number, padding: ConvPadding): [number, number] {
  if (typeof padding === 'number') return [padding, padding];
  if (padding === 'valid') return [0, 0];
  const total = Math.max((outSize - 1) * stride + kernel - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * Gradient of a stride-s convolution with respect to its filter, as a plain
 * convolution. The forward conv is
 *   y[b,i,j,o] = sum_{p,q,c} xp[b, s*i+p, s*j+q, c] * f[p,q,c,o]
 * (xp = x padded), so
 *   df[p,q,c,o] = sum_{b,i,j} xp[b, s*i+p, s*j+q, c] * dy[b,i,j,o],
 * which is a stride-1, dilation-s 'valid' conv2d of xp transposed to
 * [c, h, w, b] with dy transposed to [i, j, b, o], giving [c, p, q, o]; rows
 * and columns past the kernel size (input pixels the forward conv never read)
 * are cut off.
 *
 * @param x  [batch, h, w, inC] forward input
 * @param dy [batch, outH, outW, outC] gradient of the forward output
 * @returns  [k, k, inC, outC]
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kernelSize: number, stride: number, padding: ConvPadding): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [, outH, outW] = dy.shape;
    const ph = padAmounts(h, outH, kernelSize, stride, padding);
    const pw = padAmounts(w, outW, kernelSize, stride, padding);
    const xp = ph[0] + ph[1] + pw[0] + pw[1] > 0 ? tf.pad(x, [[0, 0], ph, pw, [0, 0]]) : x;
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    // A dilation of 1 with stride 1 is a plain conv (tfjs refuses dilation > 1 only with stride > 1).
    const g = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', stride);
    const cut = tf.slice(g, [0, 0, 0, 0], [-1, kernelSize, kernelSize, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

function tfPadding(p: ConvPadding): 'same' | 'valid' | Pad4 {
  return typeof p === 'number' ? [[0, 0], [p, p], [p, p], [0, 0]] : p;
}

/**
 * tf.conv2d with a backward pass that needs no Conv2DBackpropFilter kernel:
 * the input gradient is a transposed conv (Conv2DBackpropInput), the filter
 * gradient `conv2dFilterGrad`.
 *
 * @param x      [batch, h, w, inC]
 * @param filter [k, k, inC, outC] (square kernels, as the layers use)
 * @returns      [batch, outH, outW, outC]
 */
export function portableConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, padding: ConvPadding): tf.Tensor4D {
  const k = filter.shape[0];
  if (filter.shape[1] !== k) throw new Error(`portableConv2d: filter must be square, got [${filter.shape.join(', ')}]`);
  const op = tf.customGrad(((xi: tf.Tensor4D, fi: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([xi, fi]);
    return {
      value: tf.conv2d(xi, fi, stride, tfPadding(padding)),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.conv2dTranspose(dy, fs, xs.shape, stride, tfPadding(padding) as 'same' | 'valid');
        return [dx, conv2dFilterGrad(xs, dy, k, stride, padding)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter) as tf.Tensor4D;
}

/**
 * tf.conv2dTranspose with a backward pass that needs no Conv2DBackpropFilter
 * kernel. A transposed conv is the input-gradient of the conv that maps its
 * output shape to its input shape, so its input gradient is that conv and its
 * filter gradient is that conv's filter gradient with the roles of input and
 * output gradient swapped.
 *
 * @param x           [batch, h, w, inC]
 * @param filter      [k, k, outC, inC]
 * @param outputShape [batch, outH, outW, outC]
 */
export function portableConv2dTranspose(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  outputShape: [number, number, number, number],
  stride: number,
  padding: 'same' | 'valid',
): tf.Tensor4D {
  const k = filter.shape[0];
  if (filter.shape[1] !== k) throw new Error(`portableConv2dTranspose: filter must be square, got [${filter.shape.join(', ')}]`);
  const op = tf.customGrad(((xi: tf.Tensor4D, fi: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([xi, fi]);
    return {
      value: tf.conv2dTranspose(xi, fi, outputShape, stride, padding),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [tf.conv2d(dy, fs, stride, padding), conv2dFilterGrad(dy, xs, k, stride, padding)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter) as tf.Tensor4D;
}

/**
 * a @ b whose backward pass uses explicit transposes and plain matMuls
 * (dA = dY B^T, dB = A^T dY).
 * @param a [m, k]
 * @param b [k, n]
 * @returns [m, n]
 */
export function portableMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((ai: tf.Tensor2D, bi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([ai, bi]);
    return {
      value: tf.matMul(ai, bi),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [as, bs] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy, tf.transpose(bs)), tf.matMul(tf.transpose(as), dy)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(a, b) as tf.Tensor2D;
}
