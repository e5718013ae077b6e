/**
 * Draw `count` grey images ([count * rows * cols] values in [0, 1]) as a grid
 * `gridCols` wide, each pixel scaled to `scale` x `scale` screen pixels.
 * The canvas is resized to fit.
 */
export function drawImageGrid(canvas: HTMLCanvasElement, pixels: Float32Array | Uint8Array, count: number, rows: number, cols: number, gridCols: number, scale = 2): void {
  const dim = rows * cols;
  if (pixels.length < count * dim) throw new Error(`drawImageGrid: ${pixels.length} values cannot hold ${count} images of ${rows}x${cols}`);
  const gridRows = Math.ceil(count / gridCols);
  const w = gridCols * cols;
  const h = gridRows * rows;
  const image = new ImageData(w, h);
  const max = pixels instanceof Uint8Array ? 1 : 255;
  for (let n = 0; n < count; n++) {
    const ox = (n % gridCols) * cols;
    const oy = Math.floor(n / gridCols) * rows;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = Math.max(0, Math.min(255, Math.round(pixels[n * dim + r * cols + c] * max)));
        const o = ((oy + r) * w + ox + c) * 4;
        image.data[o] = image.data[o + 1] = image.data[o + 2] = v;
        image.data[o + 3] = 255;
      }
    }
  }
  // Paint at 1:1 on a scratch canvas, then scale up without smoothing (crisp pixels).
  const scratch = document.createElement('canvas');
  scratch.width = w;
  scratch.height = h;
  scratch.getContext('2d')!.putImageData(image, 0, 0);
  canvas.width = w * scale;
  canvas.height = h * scale;
  // The screen pixels per image pixel, for readers of the canvas (the browser tests' pixel checks).
  canvas.dataset.scale = String(scale);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

/** Loss per step as a polyline, with the y range (min..max of the finite values) labelled. */
export function drawLossCurve(canvas: HTMLCanvasElement, losses: number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  const finite = losses.filter(Number.isFinite);
  if (finite.length === 0) return;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = 16;
  const x = (i: number) => pad + (losses.length < 2 ? 0 : (i / (losses.length - 1)) * (w - 2 * pad));
  const y = (v: number) => h - pad - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (h - 2 * pad);
  ctx.strokeStyle = '#1f6feb';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  losses.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    if (i === 0) ctx.moveTo(x(i), y(v));
    else ctx.lineTo(x(i), y(v));
  });
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.fillText(`${hi.toFixed(1)}`, 2, 11);
  ctx.fillText(`${lo.toFixed(1)}  (step ${losses.length})`, 2, h - 3);
}
