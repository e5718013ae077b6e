import type { Rng } from '@elbo/core';
import type { ImageDataset } from './image-dataset';

/**
 * A generator for the dSprites factor grid (Matthey et al. 2017,
 * "dSprites: Disentanglement testing Sprites dataset"): 64x64 binary images
 * of one white sprite, with every combination of
 *
 * | factor      | size | values                                   |
 * |-------------|------|------------------------------------------|
 * | color       | 1    | 1 (white; constant, kept so factor indices match the original) |
 * | shape       | 3    | 1 square, 2 ellipse, 3 heart (the original's values) |
 * | scale       | 6    | linspace(0.5, 1, 6)                      |
 * | orientation | 40   | k * 2pi / 40, k = 0..39 (radians)        |
 * | posX        | 32   | linspace(0, 1, 32)                       |
 * | posY        | 32   | linspace(0, 1, 32)                       |
 *
 * = 737,280 images, indexed row-major in that factor order as in the original
 * file (index = ((((color*3 + shape)*6 + scale)*40 + orientation)*32 + posX)*32 + posY).
 *
 * Where it differs from the original `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`
 * (which elbo does not download):
 * - The sprites are drawn from closed forms, not the original's bitmaps: a
 *   square of side 18 px at scale 1, an ellipse with semi-axes 12.5 x 6.25 px,
 *   and the heart curve (x^2 + y^2 - 1)^3 <= x^2 y^3 scaled by 9.41 px (area
 *   equal to the square's). A pixel is on when its centre is inside the sprite.
 *   Mean pixel value is about 0.04, as in the original; the pixel-level
 *   outlines (and so exact images) differ.
 * - Orientation is k * 2pi / 40, a half-open grid [0, 2pi) as the issue asks;
 *   the original used linspace(0, 2pi, 40), whose first and last angles give
 *   the same image. `orientationGrid: 'original'` reproduces those values.
 * - Positions: the sprite's centre (the heart's centroid) moves over pixel
 *   coordinates 13..51 on both axes (posX left to right, posY top to bottom),
 *   so no sprite is ever clipped by the border.
 * - Rotation is counter-clockwise as displayed (y down), about the centre.
 * As in the original, the square repeats every quarter turn and the ellipse
 * every half turn, so orientation is not identifiable for them.
 */
export const DSPRITES_FACTOR_NAMES = ['color', 'shape', 'scale', 'orientation', 'posX', 'posY'] as const;
export type DSpritesFactorName = (typeof DSPRITES_FACTOR_NAMES)[number];
export const DSPRITES_FACTOR_SIZES: readonly number[] = [1, 3, 6, 40, 32, 32];
/** Number of factor combinations: 1 * 3 * 6 * 40 * 32 * 32. */
export const DSPRITES_SIZE = 737_280;
export const DSPRITES_SHAPE_NAMES = ['square', 'ellipse', 'heart'] as const;
/** Image side in pixels. */
export const DSPRITES_IMAGE_SIZE = 64;

const NF = 6;
const SIDE = DSPRITES_IMAGE_SIZE;
const SQUARE_HALF = 9;
const ELLIPSE_A = 12.5;
const ELLIPSE_B = 6.25;
const HEART_R = 9.41;
// The heart's centroid sits 0.2935 units above the curve's origin (computed numerically).
const HEART_CENTROID_Y = 0.2935;
const CENTRE_MIN = 13;
const CENTRE_MAX = 51;
// Largest distance from the centre to any point of any sprite at scale 1 (the square's half-diagonal).
const MAX_RADIUS = SQUARE_HALF * Math.SQRT2 + 0.5;

const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));

/** Options of the dSprites generator. */
export interface DSpritesOptions {
  /** 'half-open' (default): k * 2pi / 40; 'original': linspace(0, 2pi, 40) as in the original file. */
  orientationGrid?: 'half-open' | 'original';
}

/** Images with their factors, for a subset or a sample of the grid. */
export interface DSpritesData extends ImageDataset {
  /** Factor class indices, [count, 6] row-major (color, shape, scale, orientation, posX, posY). */
  factors: Int32Array;
  /** Factor values, [count, 6] (shape as 1, 2, 3; orientation in radians; positions in [0, 1]). */
  factorValues: Float32Array;
  factorNames: string[];
  /** Grid index of each example, [count]. */
  indices: Int32Array;
}

/**
 * The dSprites factor grid and renderer. Stateless and deterministic: the
 * same factors always give the same image; random draws take an `Rng`.
 *
 * @example
 * const ds = new DSprites();
 * const img = ds.render([0, 2, 5, 10, 16, 16]); // a large heart, 90 degrees, centred: Uint8Array(4096)
 * const sample = ds.sample(1000, new Rng(0));  // { images, factors, factorValues, ... }
 */
export class DSprites {
  readonly factorNames: readonly string[] = DSPRITES_FACTOR_NAMES;
  readonly factorSizes: readonly number[] = DSPRITES_FACTOR_SIZES;
  readonly size = DSPRITES_SIZE;
  readonly imageShape = [SIDE, SIDE, 1];
  /** Value of each class index per factor (color, shape, scale, orientation, posX, posY). */
  readonly values: readonly (readonly number[])[];

  constructor(options: DSpritesOptions = {}) {
    const grid = options.orientationGrid ?? 'half-open';
    if (grid !== 'half-open' && grid !== 'original') throw new Error(`orientationGrid must be 'half-open' or 'original', got ${JSON.stringify(grid)}`);
    const orientation = grid === 'original' ? linspace(0, 2 * Math.PI, 40) : Array.from({ length: 40 }, (_, k) => (2 * Math.PI * k) / 40);
    this.values = [[1], [1, 2, 3], linspace(0.5, 1, 6), orientation, linspace(0, 1, 32), linspace(0, 1, 32)];
  }

  private checkFactors(factors: ArrayLike<number>, offset = 0): void {
    for (let k = 0; k < NF; k++) {
      const v = factors[offset + k];
      if (!Number.isInteger(v) || v < 0 || v >= DSPRITES_FACTOR_SIZES[k]) {
        throw new Error(`dSprites: factor ${DSPRITES_FACTOR_NAMES[k]} must be an integer in 0..${DSPRITES_FACTOR_SIZES[k] - 1}, got ${v}`);
      }
    }
  }

  /** Grid index (0..737279) of factor class indices [color, shape, scale, orientation, posX, posY]. */
  factorsToIndex(factors: ArrayLike<number>): number {
    if (factors.length !== NF) throw new Error(`dSprites: factors must have 6 entries (${DSPRITES_FACTOR_NAMES.join(', ')}), got ${factors.length}`);
    this.checkFactors(factors);
    let index = 0;
    for (let k = 0; k < NF; k++) index = index * DSPRITES_FACTOR_SIZES[k] + factors[k];
    return index;
  }

  /** Factor class indices of a grid index. */
  indexToFactors(index: number): Int32Array {
    if (!Number.isInteger(index) || index < 0 || index >= DSPRITES_SIZE) throw new Error(`dSprites: index must be an integer in 0..${DSPRITES_SIZE - 1}, got ${index}`);
    const f = new Int32Array(NF);
    for (let k = NF - 1; k >= 0; k--) {
      f[k] = index % DSPRITES_FACTOR_SIZES[k];
      index = Math.floor(index / DSPRITES_FACTOR_SIZES[k]);
    }
    return f;
  }

  /** Factor values (see the table above) of factor class indices. */
  factorValues(factors: ArrayLike<number>): number[] {
    this.checkFactors(factors);
    return Array.from({ length: NF }, (_, k) => this.values[k][factors[k]]);
  }

  /** n factor tuples drawn uniformly and independently per factor: [n, 6] row-major. */
  sampleFactors(n: number, rng: Rng): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`sampleFactors: n must be a non-negative integer, got ${n}`);
    const out = new Int32Array(n * NF);
    for (let i = 0; i < n; i++) for (let k = 0; k < NF; k++) out[i * NF + k] = DSPRITES_FACTOR_SIZES[k] === 1 ? 0 : rng.int(DSPRITES_FACTOR_SIZES[k]);
    return out;
  }

  /**
   * Grid indices of every combination whose factors lie in the given sets
   * (a factor left out is free). E.g. `{ shape: [2], scale: [5] }` = all large hearts (40,960).
   */
  subsetIndices(fixed: Partial<Record<DSpritesFactorName, number | number[]>> = {}): Int32Array {
    const allowed: number[][] = DSPRITES_FACTOR_NAMES.map((name, k) => {
      const v = fixed[name];
      const list = v === undefined ? Array.from({ length: DSPRITES_FACTOR_SIZES[k] }, (_, i) => i) : Array.isArray(v) ? v : [v];
      for (const c of list) {
        if (!Number.isInteger(c) || c < 0 || c >= DSPRITES_FACTOR_SIZES[k]) {
          throw new Error(`dSprites subset: ${name} must hold integers in 0..${DSPRITES_FACTOR_SIZES[k] - 1}, got ${JSON.stringify(v)}`);
        }
      }
      return [...new Set(list)].sort((a, b) => a - b);
    });
    for (const name of Object.keys(fixed)) {
      if (!(DSPRITES_FACTOR_NAMES as readonly string[]).includes(name)) throw new Error(`dSprites subset: unknown factor '${name}' (allowed: ${DSPRITES_FACTOR_NAMES.join(', ')})`);
    }
    const total = allowed.reduce((a, l) => a * l.length, 1);
    const out = new Int32Array(total);
    const f = new Int32Array(NF);
    for (let i = 0; i < total; i++) {
      let r = i;
      for (let k = NF - 1; k >= 0; k--) {
        f[k] = allowed[k][r % allowed[k].length];
        r = Math.floor(r / allowed[k].length);
      }
      let index = 0;
      for (let k = 0; k < NF; k++) index = index * DSPRITES_FACTOR_SIZES[k] + f[k];
      out[i] = index;
    }
    return out;
  }

  /**
   * Draw one image: 4096 values in {0, 1}, row-major 64x64, into `out` at
   * `offset` (default a new Uint8Array).
   * @param factors class indices [color, shape, scale, orientation, posX, posY] (from `offset` in the array)
   */
  render<T extends Uint8Array | Float32Array = Uint8Array>(factors: ArrayLike<number>, out?: T, outOffset = 0, factorOffset = 0): T {
    this.checkFactors(factors, factorOffset);
    const img = out ?? (new Uint8Array(SIDE * SIDE) as T);
    if (img.length < outOffset + SIDE * SIDE) throw new Error(`dSprites.render: out has ${img.length} values, needs ${outOffset + SIDE * SIDE}`);
    img.fill(0, outOffset, outOffset + SIDE * SIDE);
    const shape = factors[factorOffset + 1];
    const s = this.values[2][factors[factorOffset + 2]];
    const theta = this.values[3][factors[factorOffset + 3]];
    const cx = CENTRE_MIN + (CENTRE_MAX - CENTRE_MIN) * this.values[4][factors[factorOffset + 4]];
    const cy = CENTRE_MIN + (CENTRE_MAX - CENTRE_MIN) * this.values[5][factors[factorOffset + 5]];
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const r = MAX_RADIUS * s;
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(SIDE - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(SIDE - 1, Math.ceil(cy + r));
    for (let py = y0; py <= y1; py++) {
      // Sprite coordinates have y up; image rows go down.
      const dy = -(py + 0.5 - cy) / s;
      for (let px = x0; px <= x1; px++) {
        const dx = (px + 0.5 - cx) / s;
        // Rotate the pixel by -theta into the sprite's own frame.
        const u = dx * cos + dy * sin;
        const v = -dx * sin + dy * cos;
        if (inside(shape, u, v)) img[outOffset + py * SIDE + px] = 1;
      }
    }
    return img;
  }

  /**
   * Images and factors of the grid indices given, as an ImageDataset
   * ([count, 64, 64, 1] in {0, 1}).
   */
  dataset(indices: ArrayLike<number>): DSpritesData {
    const n = indices.length;
    const images = new Float32Array(n * SIDE * SIDE);
    const factors = new Int32Array(n * NF);
    const factorValues = new Float32Array(n * NF);
    const idx = Int32Array.from(indices);
    for (let i = 0; i < n; i++) {
      const f = this.indexToFactors(idx[i]);
      factors.set(f, i * NF);
      for (let k = 0; k < NF; k++) factorValues[i * NF + k] = this.values[k][f[k]];
      this.render(f, images, i * SIDE * SIDE);
    }
    return { images, count: n, shape: [SIDE, SIDE, 1], factors, factorValues, factorNames: [...DSPRITES_FACTOR_NAMES], indices: idx };
  }

  /** n images with factors drawn uniformly over the grid (with replacement), deterministic in `rng`'s state. */
  sample(n: number, rng: Rng): DSpritesData {
    const f = this.sampleFactors(n, rng);
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = this.factorsToIndex(f.subarray(i * NF, (i + 1) * NF));
    return this.dataset(indices);
  }
}

function inside(shape: number, u: number, v: number): boolean {
  if (shape === 0) return Math.abs(u) <= SQUARE_HALF && Math.abs(v) <= SQUARE_HALF;
  if (shape === 1) return (u / ELLIPSE_A) ** 2 + (v / ELLIPSE_B) ** 2 <= 1;
  const x = u / HEART_R;
  const y = v / HEART_R + HEART_CENTROID_Y;
  const q = x * x + y * y - 1;
  return q * q * q - x * x * y * y * y <= 0;
}
