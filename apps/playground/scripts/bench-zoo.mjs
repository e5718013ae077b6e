// `pnpm --filter @elbo/playground bench-zoo`: how long each @elbo/zoo model takes to load (fetch, SHA-256
// check, float16 -> float32, build) and to sample a grid, in headless Chromium on one backend (webgl by
// default: SwiftShader where there is no GPU), from the built playground served on 127.0.0.1. Prints a
// markdown table. A measurement, not a test: nothing is asserted.
//
// Usage: node scripts/bench-zoo.mjs [--backend webgl|webgpu|wasm|cpu] [--count 16] [--models a,b] [--build]
//        (chromium: /usr/bin/chromium or ELBO_CHROMIUM)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(appDir, 'dist');
const { values } = parseArgs({
  // `pnpm bench-zoo -- --backend wasm` hands the script a literal '--'.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    backend: { type: 'string', default: 'webgl' },
    count: { type: 'string', default: '16' },
    models: { type: 'string', default: 'vae-mnist,cvae-mnist,vqvae-mnist,hvae-mnist,tcvae-dsprites' },
    build: { type: 'boolean', default: false },
  },
});
const fail = (message) => {
  console.error(`bench-zoo: ${message}`);
  process.exit(2);
};
const backend = values.backend;
if (!['webgpu', 'webgl', 'wasm', 'cpu'].includes(backend)) fail(`--backend must be webgpu, webgl, wasm or cpu, got ${backend}`);
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) fail(`--count must be a positive integer, got ${values.count}`);
const models = values.models.split(',').map((s) => s.trim()).filter(Boolean);
const executablePath = process.env.ELBO_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) fail(`no chromium at ${executablePath} (Debian: apt-get install -y chromium; or set ELBO_CHROMIUM)`);
if (values.build || !existsSync(join(distDir, 'index.html'))) execFileSync('pnpm', ['run', 'build'], { cwd: appDir, stdio: 'inherit' });

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = normalize(join(distDir, path.endsWith('/') ? `${path}index.html` : path));
  if (!file.startsWith(distDir) || !existsSync(file)) return void res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', ...(backend === 'webgpu' ? ['--enable-unsafe-webgpu'] : [])],
});
try {
  // No service worker: its precaching would compete with the measurement.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.goto(`${base}?backend=${backend}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 300_000 });
  const started = await page.evaluate(() => ({ state: document.body.dataset.state, status: document.getElementById('status')?.textContent, backend: window.elboPlayground.backend }));
  if (started.state !== 'ready') fail(`the page did not start: ${started.status}`);
  if (started.backend !== backend) console.error(`bench-zoo: note: ${backend} failed, the page runs on ${started.backend}`);
  const rows = await page.evaluate(([names, n]) => window.elboPlayground.benchZoo(names, n), [models, count]);
  const ua = await page.evaluate(() => navigator.userAgent);
  console.log(`zoo models in headless Chromium (${ua.match(/Chrome\/[\d.]+/)?.[0] ?? ua}), backend ${started.backend}, sample(${count}) read back`);
  console.log('');
  console.log('| model | load ms | first sample ms | sample ms (median of 3 more) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.name} | ${r.loadMs.toFixed(0)} | ${r.firstSampleMs.toFixed(0)} | ${r.sampleMs.toFixed(0)} |`);
  console.log('');
  console.log('load: fetch from 127.0.0.1, SHA-256 check, float16 -> float32, build. first sample: includes kernel/shader compilation (vae-mnist\'s was warmed by the page\'s own first view).');
} finally {
  await browser.close();
  server.close();
}
