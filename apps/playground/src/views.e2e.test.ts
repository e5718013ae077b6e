/**
 * The pretrained-model views in Debian's headless chromium (playwright-core),
 * against the built app served on 127.0.0.1: every view draws pictures (not
 * blank, not noise) from its zoo model as soon as it opens, its controls work
 * from the keyboard and change the picture, repeated redraws leak no tensors,
 * every zoo model loads, a webgl backend whose shaders fail to compile falls
 * back to the next backend with a visible notice, and the pretrained vae
 * fine-tunes in the page. The views run on wasm (SwiftShader WebGL is slow on
 * a CPU); the fallback test is the one that starts webgl. Screenshots of each
 * view go to apps/playground/test-output/view-*.png.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasStats, closeServer, distDir, ensureBuilt, launch, outDir, serve, waitReady } from './browser-support';

interface Hooks {
  elboPlayground: {
    backend: string;
    skipped: string[];
    viewDraws: number;
    view(): string | null;
    idle(): Promise<void>;
    numTensors(): number;
    loadedModels(): Promise<string[]>;
    playground: { losses: number[] };
  };
}

const SPRITE = { minStd: 8, minBright: 0.003 };

const idle = (page: Page) => page.evaluate(() => (window as unknown as Hooks).elboPlayground.idle());
const numTensors = (page: Page) => page.evaluate(() => (window as unknown as Hooks).elboPlayground.numTensors());

/**
 * The canvas holds a picture: spread-out grey levels, some bright strokes, and
 * neighbouring pixels far more alike than random pairs. (dSprites images are
 * one small shape on black, hence their lower thresholds.)
 */
async function expectPicture(page: Page, id: string, { minStd = 20, minBright = 0.01 } = {}): Promise<number> {
  const s = await canvasStats(page, id);
  expect(s.width, `${id} width`).toBeGreaterThan(0);
  expect(s.std, `${id} grey-level spread`).toBeGreaterThan(minStd);
  expect(s.bright, `${id} bright pixels`).toBeGreaterThan(minBright);
  expect(s.structure, `${id} neighbour/random difference ratio (1 = noise)`).toBeLessThan(0.6);
  return s.hash;
}

/** Press `keys` on the focused control, let the redraws finish, and say whether `canvas` changed. */
async function pressAndCompare(page: Page, canvas: string, keys: string[]): Promise<boolean> {
  const before = (await canvasStats(page, canvas)).hash;
  for (const key of keys) await page.keyboard.press(key);
  await idle(page);
  return (await canvasStats(page, canvas)).hash !== before;
}

/** Run `action` n times (each with its redraws finished): the tensor count must not grow. */
async function expectNoLeak(page: Page, n: number, action: () => Promise<unknown>): Promise<void> {
  await action(); // the first run may create lasting tensors (kernels' caches); count from the second
  await idle(page);
  const before = await numTensors(page);
  for (let i = 0; i < n; i++) {
    await action();
    await idle(page);
  }
  expect(await numTensors(page), 'tf.memory().numTensors after repeated redraws').toBe(before);
}

async function pick(page: Page, view: string): Promise<void> {
  await page.selectOption('#variant', view);
  await idle(page);
  expect(await page.evaluate(() => (window as unknown as Hooks).elboPlayground.view())).toBe(view);
}

const shot = (page: Page, name: string) => page.locator('#view').screenshot({ path: join(outDir, `${name}.png`) });

describe('pretrained-model views in headless chromium', () => {
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let server: Server;
  let base: string;
  let page: Page;
  const errors: string[] = [];
  const consoleLines: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    mkdirSync(outDir, { recursive: true });
    ({ server, url: base } = await serve(distDir));
    // No WebGPU flag: the auto order would otherwise try SwiftShader WebGPU first.
    ({ context, close: closeBrowser } = await launch({ webgpu: false }));
    page = await context.newPage();
    page.on('console', (m) => {
      consoleLines.push(`[${m.type()}] ${m.text()}`);
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}?backend=wasm`);
    await waitReady(page, 60_000);
  }, 120_000);

  afterAll(async () => {
    await closeBrowser?.();
    await closeServer(server);
  });

  const withConsole = async (body: () => Promise<void>) => {
    try {
      await body();
    } catch (e) {
      throw new Error(`${(e as Error).message}\nbrowser console:\n${consoleLines.slice(-20).join('\n')}`);
    }
  };

  it('opens on vae-mnist samples; Resample from the keyboard redraws them without leaking', () => withConsole(async () => {
    expect(await page.evaluate(() => (window as unknown as Hooks).elboPlayground.view())).toBe('vae');
    expect(await page.evaluate(() => (window as unknown as Hooks).elboPlayground.backend)).toBe('wasm');
    const first = await expectPicture(page, 'vae-samples');
    // Control for the pixel check: the training section's untrained model draws noise, and the check sees it.
    expect((await canvasStats(page, 'samples')).structure, 'untrained samples read as noise').toBeGreaterThan(0.8);
    await shot(page, 'view-vae');
    await page.focus('#vae-resample');
    expect(await pressAndCompare(page, 'vae-samples', ['Enter'])).toBe(true);
    expect(await expectPicture(page, 'vae-samples')).not.toBe(first);
    // Temperature 0 draws every sample at z = 0: one digit repeated.
    await page.focus('#vae-temperature');
    expect(await pressAndCompare(page, 'vae-samples', ['Home'])).toBe(true);
    expect(await page.inputValue('#vae-temperature')).toBe('0');
    await expectNoLeak(page, 3, () => page.click('#vae-resample'));
  }));

  it('cvae: arrow keys choose the digit; the style swap draws one style as every digit', () => withConsole(async () => {
    await pick(page, 'cvae');
    await expectPicture(page, 'cvae-samples');
    await expectPicture(page, 'cvae-swap');
    await page.focus('#cvae-digit-0');
    expect(await pressAndCompare(page, 'cvae-samples', ['ArrowRight', 'ArrowRight', 'ArrowRight'])).toBe(true);
    expect(await page.isChecked('#cvae-digit-3')).toBe(true);
    await expectPicture(page, 'cvae-samples');
    await page.focus('#cvae-random-style');
    expect(await pressAndCompare(page, 'cvae-swap', ['Space'])).toBe(true);
    await page.focus('#cvae-next-image');
    expect(await pressAndCompare(page, 'cvae-swap', ['Enter'])).toBe(true);
    await expectPicture(page, 'cvae-swap');
    await shot(page, 'view-cvae');
    await expectNoLeak(page, 3, async () => {
      await page.click('#cvae-resample');
      await page.click('#cvae-random-style');
    });
  }));

  it('vqvae: samples through the PixelCNN prior, redrawn from the keyboard', () => withConsole(async () => {
    await pick(page, 'vqvae');
    await expectPicture(page, 'vqvae-samples');
    await shot(page, 'view-vqvae');
    await page.focus('#vqvae-resample');
    expect(await pressAndCompare(page, 'vqvae-samples', ['Space'])).toBe(true);
    await page.focus('#vqvae-temperature');
    expect(await pressAndCompare(page, 'vqvae-samples', ['ArrowLeft', 'ArrowLeft'])).toBe(true);
    await expectPicture(page, 'vqvae-samples');
    await expectNoLeak(page, 2, () => page.click('#vqvae-resample'));
  }));

  it('hvae: the temperature slider and per-level redraws change the samples', () => withConsole(async () => {
    await pick(page, 'hvae');
    const first = await expectPicture(page, 'hvae-samples');
    await page.focus('#hvae-temperature');
    expect(await pressAndCompare(page, 'hvae-samples', ['ArrowLeft', 'ArrowLeft', 'ArrowLeft'])).toBe(true);
    expect(await page.inputValue('#hvae-temperature')).toBe('0.7');
    await expectPicture(page, 'hvae-samples');
    for (const level of [1, 2, 3]) {
      await page.focus(`#hvae-redraw-${level}`);
      expect(await pressAndCompare(page, 'hvae-samples', ['Enter']), `redraw level ${level}`).toBe(true);
    }
    expect(await expectPicture(page, 'hvae-samples')).not.toBe(first);
    await shot(page, 'view-hvae');
    await expectNoLeak(page, 3, async () => {
      await page.click('#hvae-redraw-2');
      await page.click('#hvae-resample');
    });
  }));

  it('tcvae: each latent has a slider; moving one traverses it', () => withConsole(async () => {
    await pick(page, 'tcvae');
    expect(await page.locator('#view input[type=range]').count()).toBe(10);
    await expectPicture(page, 'tcvae-traversal', SPRITE);
    await page.focus('#tcvae-z1');
    await idle(page);
    expect(await pressAndCompare(page, 'tcvae-image', ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight'])).toBe(true);
    expect(await page.inputValue('#tcvae-z1')).toBe('1.5');
    // Focus another latent: the strip now traverses it.
    await page.focus('#tcvae-z2');
    await idle(page);
    expect(await page.textContent('#tcvae-traversal ~ *, figure:has(#tcvae-traversal) figcaption')).toContain('z2');
    await expectPicture(page, 'tcvae-image', SPRITE);
    await expectPicture(page, 'tcvae-traversal', SPRITE);
    await shot(page, 'view-tcvae');
    await expectNoLeak(page, 3, () => page.click('#tcvae-random'));
  }));

  it('every zoo model has loaded in the page, with no console errors', async () => {
    const loaded = await page.evaluate(() => (window as unknown as Hooks).elboPlayground.loadedModels());
    expect(loaded.sort()).toEqual(['cvae-mnist', 'hvae-mnist', 'tcvae-dsprites', 'vae-mnist', 'vqvae-mnist']);
    expect(errors).toEqual([]);
  });

  it('fine-tunes the pretrained vae-mnist in the page', () => withConsole(async () => {
    await page.click('#finetune');
    await waitReady(page, 30_000);
    await page.fill('#steps', '3');
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as Hooks).elboPlayground.playground.losses.length >= 3, null, { timeout: 60_000 });
    await waitReady(page, 30_000);
    const losses = await page.evaluate(() => (window as unknown as Hooks).elboPlayground.playground.losses);
    // A fresh model starts near 543 nats; the pretrained one near its card's 125.
    expect(losses.every((l) => Number.isFinite(l) && l < 250), `losses ${losses}`).toBe(true);
    expect(errors).toEqual([]);
  }));

  it('falls back from a webgl backend whose shaders do not compile, with a visible notice, and still draws', async () => {
    const fallback = await context.newPage();
    const fallbackErrors: string[] = [];
    fallback.on('console', (m) => m.type() === 'error' && fallbackErrors.push(m.text()));
    fallback.on('pageerror', (e) => fallbackErrors.push(String(e)));
    try {
      await fallback.goto(`${base}?backend=webgl&failBackend=webgl&view=vae`);
      await waitReady(fallback, 60_000);
      const hooks = await fallback.evaluate(() => ({ backend: (window as unknown as Hooks).elboPlayground.backend, skipped: (window as unknown as Hooks).elboPlayground.skipped }));
      expect(hooks.backend).toBe('wasm');
      expect(hooks.skipped.join()).toMatch(/^webgl: /);
      const alert = fallback.getByRole('alert');
      await expect(alert.isVisible()).resolves.toBe(true);
      expect(await alert.textContent()).toMatch(/webgl backend failed.*running on wasm/);
      await expectPicture(fallback, 'vae-samples');
      // tfjs logs the failing shader's source (console.log), but nothing reaches console.error.
      expect(fallbackErrors).toEqual([]);
      await fallback.screenshot({ path: join(outDir, 'fallback-webgl.png'), clip: { x: 0, y: 0, width: 1280, height: 560 } });
    } finally {
      await fallback.close();
    }
  });

  it('says so, instead of hanging, when every backend fails', async () => {
    const broken = await context.newPage();
    try {
      await broken.goto(`${base}?failBackend=webgpu,webgl,wasm,cpu`);
      await broken.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: 30_000 });
      const status = await broken.textContent('#status');
      for (const name of ['webgpu', 'webgl', 'wasm', 'cpu']) expect(status).toContain(`${name}: `);
      expect(status).toContain('no backend started');
    } finally {
      await broken.close();
    }
  });
});
