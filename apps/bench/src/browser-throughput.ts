import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Flags, intFlag } from './flags';
import { UsageError } from './errors';

const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * `throughput --browser`: the same measurement (the throughput models built
 * by createModel and trained by fit: MLP VAE batch 128, conv VAE batch 64, on
 * the playground's MNIST subset) in headless Chromium, once per backend. The page and its driver live in apps/playground (bench.html,
 * scripts/browser-throughput.mjs, which builds the playground if needed and
 * drives /usr/bin/chromium or ELBO_CHROMIUM with playwright-core).
 */
export async function runBrowserThroughput(flags: Flags, log: (line: string) => void): Promise<number> {
  if (flags.reference !== undefined) throw new UsageError('--reference cannot be combined with --browser (PyTorch runs outside the browser)');
  const backends = (flags.backends ?? BROWSER_BACKENDS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of backends) if (!BROWSER_BACKENDS.includes(b)) throw new UsageError(`unknown backend "${b}" in --backends with --browser (known: ${BROWSER_BACKENDS.join(', ')})`);
  const steps = intFlag(flags, 'steps', 20, 1)!;
  // dist/cli.js and src/*.ts both sit two levels under apps/: the playground is a sibling app of this monorepo.
  const script = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playground', 'scripts', 'browser-throughput.mjs');
  if (!existsSync(script)) throw new UsageError(`--browser needs the monorepo's apps/playground (no ${script})`);
  const out = join(flags.runs ?? 'runs', flags.name ?? 'throughput-browser');
  const r = spawnSync(process.execPath, [script, '--backends', backends.join(','), '--steps', String(steps), '--out', resolve(out)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.error) throw new Error(`throughput --browser: could not run ${script}: ${r.error.message}`);
  for (const line of r.stdout.trimEnd().split('\n')) if (line) log(line);
  if (r.status === 0) log(`wrote ${join(out, 'throughput.json')} and ${join(out, 'report.md')}`);
  return r.status ?? 1;
}
