import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';

/**
 * The bench's one image-grid writer: images [n, h, w, c] or [n, h*w] (values
 * in [0, 1], c = 1 or 3) as one PNG grid with `cols` columns and a 1-pixel
 * gutter. `imageShape` is one image's [h, w, c] (or [h*w] for square grey images).
 */
export function writeImageGrid(path: string, images: tf.Tensor, cols: number, imageShape: number[]): void {
  const n = images.shape[0];
  const data = tf.tidy(() => tf.clipByValue(tf.reshape(images, [n, -1]), 0, 1).dataSync());
  const [h, w, c] = imageShape.length === 3 ? imageShape : [Math.round(Math.sqrt(imageShape[0])), Math.round(Math.sqrt(imageShape[0])), 1];
  const rows = Math.ceil(n / cols);
  const gw = cols * (w + 1) + 1;
  const gh = rows * (h + 1) + 1;
  const png = new PNG({ width: gw, height: gh });
  for (let i = 0; i < gw * gh; i++) png.data.set([40, 40, 40, 255], i * 4);
  const clamp = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let k = 0; k < n; k++) {
    const ox = (k % cols) * (w + 1) + 1;
    const oy = Math.floor(k / cols) * (h + 1) + 1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((oy + y) * gw + ox + x) * 4;
        const base = k * h * w * c + (y * w + x) * c;
        for (let ch = 0; ch < 3; ch++) png.data[o + ch] = clamp(data[base + (c === 3 ? ch : 0)]);
      }
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, PNG.sync.write(png));
}

/**
 * A plain line plot of one or more series (e.g. train and validation loss per
 * epoch) as a PNG: light grid, one colour per series. Axis ranges go in the
 * report, next to the picture.
 */
export function writeLinePlot(path: string, series: Array<{ values: number[]; color: [number, number, number] }>, width = 480, height = 280): { min: number; max: number } {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) png.data.set([255, 255, 255, 255], i * 4);
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const min = all.length ? Math.min(...all) : 0;
  const max = all.length ? Math.max(...all) : 1;
  const pad = 20;
  const sx = (i: number, n: number) => pad + (n <= 1 ? 0 : (i / (n - 1)) * (width - 2 * pad));
  const sy = (v: number) => height - pad - ((v - min) / (max - min || 1)) * (height - 2 * pad);
  const set = (x: number, y: number, rgb: [number, number, number]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= width || yi >= height) return;
    png.data.set([...rgb, 255], (yi * width + xi) * 4);
  };
  for (let g = 0; g <= 4; g++) {
    const y = pad + (g / 4) * (height - 2 * pad);
    for (let x = pad; x <= width - pad; x++) set(x, y, [225, 225, 225]);
  }
  for (let y = pad; y <= height - pad; y++) set(pad, y, [120, 120, 120]);
  for (let x = pad; x <= width - pad; x++) set(x, height - pad, [120, 120, 120]);
  for (const s of series) {
    const n = s.values.length;
    for (let i = 0; i + 1 < n; i++) {
      const [x0, y0, x1, y1] = [sx(i, n), sy(s.values[i]), sx(i + 1, n), sy(s.values[i + 1])];
      const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
      for (let t = 0; t <= steps; t++) {
        for (const d of [-0.5, 0, 0.5]) set(x0 + ((x1 - x0) * t) / steps, y0 + ((y1 - y0) * t) / steps + d, s.color);
      }
    }
    for (let i = 0; i < n; i++) for (let d = -2; d <= 2; d++) set(sx(i, n) + d, sy(s.values[i]), s.color);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, PNG.sync.write(png));
  return { min, max };
}
