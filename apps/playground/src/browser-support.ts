/**
 * Shared by the browser tests and scripts: a static server over dist/, a
 * headless Debian chromium driven by playwright-core, and pixel checks of the
 * page's canvases. Node only; the app never imports it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.ELBO_CHROMIUM ?? '/usr/bin/chromium';
export const appDir = resolve(import.meta.dirname, '..');
export const distDir = join(appDir, 'dist');
export const outDir = join(appDir, 'test-output');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

/** A static file server over `root` on 127.0.0.1 (an ephemeral port). */
export async function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('static server has no port');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

export const closeServer = (server: Server | undefined) => new Promise((ok) => (server ? server.close(ok) : ok(undefined)));

/** Build dist/ if it is missing (nx builds the app before its test; a bare `vitest run` builds here). */
export function ensureBuilt(): void {
  if (!existsSync(join(distDir, 'index.html'))) execFileSync('pnpm', ['run', 'build'], { cwd: appDir, stdio: 'inherit' });
}

/** Headless chromium with a fresh profile; WebGL and WebGPU run on SwiftShader (no GPU here). */
export async function launch(options: { webgpu?: boolean } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the browser test needs chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; pnpm test installs it through scripts/setup-test-env.sh) or ELBO_CHROMIUM=/path/to/chromium`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'elbo-playground-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(options.webgpu === false ? [] : ['--enable-unsafe-webgpu']),
      '--enable-unsafe-swiftshader',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Standard deviation of the grey level (0..255) over the canvas. */
  std: number;
  /** Fraction of pixels brighter than 128. */
  bright: number;
  /**
   * Mean |difference| of horizontally and vertically neighbouring image
   * pixels over that of randomly paired pixels, at the image's own resolution
   * (data-scale undone): about 1 for noise, well below for pictures with strokes and shapes.
   */
  structure: number;
  /** A hash of the pixels, to tell whether the picture changed. */
  hash: number;
}

export async function canvasStats(page: Page, id: string): Promise<CanvasStats> {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
    const { width, height } = canvas;
    if (width === 0 || height === 0) return { width, height, std: 0, bright: 0, structure: 1, hash: 0 };
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    let sum = 0;
    let sumSq = 0;
    let bright = 0;
    let hash = 0;
    const n = width * height;
    for (let i = 0; i < data.length; i += 4) {
      const g = (data[i] + data[i + 1] + data[i + 2]) / 3;
      sum += g;
      sumSq += g * g;
      if (g > 128) bright++;
      hash = (Math.imul(hash, 31) + data[i]) | 0;
    }
    const mean = sum / n;
    // Image pixels: every scale-th screen pixel.
    const scale = Math.max(1, Math.round(Number(canvas.dataset.scale ?? 1)));
    const w = Math.floor(width / scale);
    const h = Math.floor(height / scale);
    const grey = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) grey[y * w + x] = data[(y * scale * width + x * scale) * 4];
    let near = 0;
    let pairs = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (x + 1 < w) { near += Math.abs(grey[y * w + x] - grey[y * w + x + 1]); pairs++; }
        if (y + 1 < h) { near += Math.abs(grey[y * w + x] - grey[(y + 1) * w + x]); pairs++; }
      }
    }
    // Random pairs from a fixed-seed generator (so the check is repeatable).
    let s = 12345;
    const rand = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % grey.length;
    };
    let far = 0;
    for (let k = 0; k < pairs; k++) far += Math.abs(grey[rand()] - grey[rand()]);
    const structure = far === 0 ? 1 : near / far;
    return { width, height, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)), bright: bright / n, structure, hash };
  }, id);
}

/** Wait until body[data-state] says ready (or fail with the page's own error). */
export async function waitReady(page: Page, timeout: number): Promise<void> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout });
  const state = await page.evaluate(() => ({ state: document.body.dataset.state, error: document.body.dataset.error, status: document.getElementById('status')?.textContent }));
  if (state.state !== 'ready') throw new Error(`the playground failed: ${state.error ?? state.status}`);
}
