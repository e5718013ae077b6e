import { Module, type Rng } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';

/** A kernel tap: output (i, j) reads input (i + dy, j + dx); taps outside the grid read zero padding. */
export type Tap = readonly [dy: number, dx: number];

/**
 * The taps of the two masked convolutions of a gated PixelCNN layer
 * (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
 * Decoders"), for a k x k kernel:
 * - vertical: rows above and (mask 'B') the current row, all k columns: a
 *   (k/2 + 1) x k kernel with the last row masked for 'A';
 * - horizontal: the current row, columns to the left and (mask 'B') the
 *   current column: a 1 x (k/2 + 1) kernel with the last column masked for 'A'.
 */
export function gatedTaps(kernelSize: number, mask: 'A' | 'B'): { vertical: Tap[]; horizontal: Tap[] } {
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new Error(`gatedTaps: kernelSize must be an odd positive integer, got ${kernelSize}`);
  }
  const r = (kernelSize - 1) / 2;
  const vertical: Tap[] = [];
  for (let dy = -r; dy <= (mask === 'A' ? -1 : 0); dy++) for (let dx = -r; dx <= r; dx++) vertical.push([dy, dx]);
  const horizontal: Tap[] = [];
  for (let dx = -r; dx <= (mask === 'A' ? -1 : 0); dx++) horizontal.push([0, dx]);
  return { vertical, horizontal };
}

/**
 * A masked 2-D convolution over a fixed H x W grid, stride 1, zero padding:
 * y[i, j] = b + sum over taps t of W_t x[i + dy_t, j + dx_t]. The mask is the
 * tap list itself: a masked-out kernel position is simply not a tap, so it has
 * no weight and can never pass information.
 *
 * Layout: channel-major [C, P, batch] with P = H * W in raster order. Both the
 * channel mixing and the spatial shift are then matrix products with no
 * transposes: Y = W [outC * T, inC] . X [inC, P * batch], viewed as
 * [outC, T * P, batch], then the constant 0/1 shift matrix
 * S [P, T * P] (S[p, t * P + q] = 1 when q is p moved by tap t) sums the taps:
 * out = S . Y, broadcast over outC. Splitting channels (the gates) is a
 * contiguous slice. tfjs-backend-cpu's conv2d filter gradient, strided slices
 * and transposes are orders of magnitude slower than this on the cpu backend.
 *
 * Variables: `kernel` [outChannels, T, inChannels], `bias` [outChannels].
 */
export class MaskedConv2d extends Module {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly taps: Tap[];
  private readonly shift: tf.Tensor2D;

  /**
   * @param grid [H, W]
   * @param taps kernel positions (dy, dx) that exist
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly grid: readonly [number, number],
    taps: readonly Tap[],
    rng: Rng,
  ) {
    super();
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['grid[0]', grid[0]], ['grid[1]', grid[1]]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`MaskedConv2d: ${k} must be a positive integer, got ${v}`);
    }
    if (taps.length === 0) throw new Error('MaskedConv2d: at least one tap is required');
    this.taps = taps.map(([dy, dx]) => [dy, dx] as Tap);
    const [h, w] = grid;
    const p = h * w;
    const t = this.taps.length;
    const s = new Float32Array(p * t * p);
    this.taps.forEach(([dy, dx], k) => {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const si = i + dy;
          const sj = j + dx;
          if (si >= 0 && si < h && sj >= 0 && sj < w) s[(i * w + j) * t * p + k * p + si * w + sj] = 1;
        }
      }
    });
    this.shift = tf.keep(tf.tensor2d(s, [p, t * p]));
    // PyTorch's default: U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = taps * inChannels.
    const bound = 1 / Math.sqrt(t * inChannels);
    this.kernel = this.addParameter('kernel', tf.randomUniform([outChannels, t, inChannels], -bound, bound, 'float32', rng.nextSeed()));
    this.bias = this.addParameter('bias', tf.randomUniform([outChannels], -bound, bound, 'float32', rng.nextSeed()));
  }

  /**
   * @param x [inChannels, P, batch] (channel-major, P = H * W)
   * @returns [outChannels, P, batch]
   */
  apply(x: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const [h, w] = this.grid;
      const p = h * w;
      if (x.rank !== 3 || x.shape[0] !== this.inChannels || x.shape[1] !== p) {
        throw new Error(`MaskedConv2d: expected input [${this.inChannels}, ${p}, batch], got [${x.shape.join(', ')}]`);
      }
      const b = x.shape[2] as number;
      const t = this.taps.length;
      const mixed = tf.matMul(tf.reshape(this.kernel, [this.outChannels * t, this.inChannels]), tf.reshape(x, [this.inChannels, p * b]));
      const y = tf.matMul(this.shift, tf.reshape(mixed, [this.outChannels, t * p, b]) as unknown as tf.Tensor2D);
      return tf.add(y, tf.reshape(this.bias, [this.outChannels, 1, 1])) as tf.Tensor3D;
    });
  }

  override dispose(): void {
    if (!this.isDisposed) this.shift.dispose();
    super.dispose();
  }
}
