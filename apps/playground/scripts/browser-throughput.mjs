// `pnpm bench throughput --browser`: the bench's throughput measurement (the throughput models built by
// createModel and trained by fit: MLP VAE batch 128, conv VAE batch 64, on the MNIST subset) in headless
// Chromium, once per backend, from the playground's
// built bench.html served on 127.0.0.1. Prints a markdown table; --out DIR writes throughput.json and report.md.
//
// Usage: node scripts/browser-throughput.mjs [--backends webgl,webgpu,wasm,cpu] [--models mlp,conv]
//        [--steps 20] [--warmup 3] [--out DIR]   (chromium: /usr/bin/chromium or ELBO_CHROMIUM)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(appDir, 'dist');
const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'webgl,webgpu,wasm,cpu' },
    models: { type: 'string', default: 'mlp,conv' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const backends = list(values.backends);
const models = list(values.models);
for (const b of backends) if (!['webgpu', 'webgl', 'wasm', 'cpu'].includes(b)) fail(`unknown backend "${b}" in --backends (known: webgpu, webgl, wasm, cpu)`);
for (const m of models) if (!['mlp', 'conv'].includes(m)) fail(`unknown model "${m}" in --models (known: mlp, conv)`);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
if (!Number.isInteger(steps) || steps < 1) fail(`--steps must be an integer >= 1, got ${values.steps}`);
if (!Number.isInteger(warmup) || warmup < 0) fail(`--warmup must be an integer >= 0, got ${values.warmup}`);
const executablePath = process.env.ELBO_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) fail(`no chromium at ${executablePath} (Debian: apt-get install -y chromium; or set ELBO_CHROMIUM)`);

function fail(message) {
  console.error(`browser throughput: ${message}`);
  process.exit(2);
}

// Rebuild when the page is missing or older than the sources or the workspace packages it bundles.
function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
const bundled = [join(appDir, 'src'), join(appDir, 'bench.html'), ...['core', 'vae', 'backend-native'].map((p) => join(appDir, '..', '..', 'packages', p, 'dist'))];
const page = join(distDir, 'bench.html');
if (!existsSync(page) || Math.max(...bundled.map((d) => (existsSync(d) && statSync(d).isFile() ? statSync(d).mtimeMs : newestMtime(d)))) > statSync(page).mtimeMs) {
  console.error('browser throughput: building the playground first');
  execFileSync('pnpm', ['run', 'build'], { cwd: appDir, stdio: 'inherit' });
}

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = normalize(join(distDir, path));
  if (!file.startsWith(distDir) || !existsSync(file)) return void res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/`;
const profile = mkdtempSync(join(tmpdir(), 'elbo-throughput-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'],
});

const rows = [];
try {
  for (const model of models) {
    for (const backend of backends) {
      // A fresh page per run: each backend starts from a clean tfjs engine.
      const page = await context.newPage();
      try {
        // 'commit': the stock cpu backend keeps the page's main thread busy past the load event.
        await page.goto(`${base}bench.html?backend=${backend}&model=${model}&steps=${steps}&warmup=${warmup}`, { waitUntil: 'commit' });
        await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 600_000 });
        const r = await page.evaluate(() => ({ state: document.body.dataset.state, error: document.body.dataset.error, result: window.elboThroughput }));
        if (r.state !== 'done') throw new Error(r.error);
        rows.push(r.result);
        console.error(`${model} ${backend}: ${r.result.samplesPerSec.toFixed(0)} samples/s (${r.result.msPerStep.toFixed(1)} ms/step, warm-up ${r.result.warmupMs.toFixed(0)} ms)`);
      } catch (e) {
        rows.push({ model, backend, samplesPerSec: Number.NaN, msPerStep: Number.NaN, note: String(e instanceof Error ? e.message : e).split('\n')[0] });
        console.error(`${model} ${backend}: failed: ${rows.at(-1).note}`);
      } finally {
        await page.close();
      }
    }
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

const version = context.browser()?.version() ?? 'chromium';
const table = [
  `| model | runtime | batch | samples/s | ms/step | warm-up ms |`,
  '|---|---|---|---|---|---|',
  ...rows.map((r) => (Number.isFinite(r.samplesPerSec)
    ? `| ${r.model} | browser-${r.backend} | ${r.batchSize} | ${r.samplesPerSec.toFixed(0)} | ${r.msPerStep.toFixed(1)} | ${r.warmupMs.toFixed(0)} |`
    : `| ${r.model} | browser-${r.backend} | | n/a (${r.note}) | | |`)),
];
console.log(table.join('\n'));
if (values.out) {
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'throughput.json'), `${JSON.stringify({ browser: version, steps, warmup, rows }, null, 2)}\n`);
  writeFileSync(join(values.out, 'report.md'), `# throughput in headless Chromium (${version})\n\n${table.join('\n')}\n`);
}
process.exit(rows.some((r) => Number.isFinite(r.samplesPerSec)) ? 0 : 1);
