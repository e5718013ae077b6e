#!/usr/bin/env node
/**
 * `pnpm fuzz`: every loader fuzz test with ELBO_FUZZ_RUNS cases per property
 * (default 10,000; CI runs 200), then SIGKILL during checkpoint saves
 * (ELBO_FUZZ_KILLS, default 50). Prints the cases and seconds per file and
 * exits non-zero if any fails. Needs the packages built (pnpm build).
 *
 *   pnpm fuzz                       # 10,000 cases per loader, 50 kills
 *   ELBO_FUZZ_RUNS=1000 pnpm fuzz
 *   ELBO_FUZZ_ONLY=http,idx pnpm fuzz   # only the suites whose file names contain these
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = process.env.ELBO_FUZZ_RUNS ?? '10000';
const kills = process.env.ELBO_FUZZ_KILLS ?? '50';
const suites = [
  ['packages/core', 'src/io/checkpoint.fuzz.test.ts', 'checkpoint directories (loadCheckpoint, loadModel)'],
  ['packages/core', 'src/io/http.fuzz.test.ts', 'http checkpoint target'],
  ['packages/core', 'src/io/indexeddb.fuzz.test.ts', 'IndexedDB checkpoint target'],
  ['packages/datasets', 'src/idx.fuzz.test.ts', 'IDX files, plain and gzip'],
  ['packages/datasets', 'src/image-folder.fuzz.test.ts', 'PNG folders with a labels CSV'],
  ['apps/bench', 'src/config.fuzz.test.ts', 'model configs of every registered variant'],
  ['apps/bench', 'src/sweep/spec.fuzz.test.ts', 'sweep spec files'],
];
const vitest = join(root, 'node_modules/.bin/vitest');
const only = process.env.ELBO_FUZZ_ONLY?.split(',').filter(Boolean);
let failed = 0;
const rows = [];
for (const [pkg, file, what] of suites) {
  if (only && !only.some((o) => file.includes(o))) continue;
  const t0 = performance.now();
  const r = spawnSync(vitest, ['run', file, '--testTimeout', '3600000'], { cwd: join(root, pkg), env: { ...process.env, ELBO_FUZZ_RUNS: runs }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  const ok = r.status === 0;
  if (!ok) {
    failed++;
    process.stdout.write(r.stdout.slice(-6000) + r.stderr.slice(-3000));
  }
  rows.push(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${runs} cases per property, ${seconds.toFixed(0)} s (${pkg}/${file})`);
  process.stdout.write(`${rows[rows.length - 1]}\n`);
}
const t0 = performance.now();
const k = only && !only.includes('kill') ? { status: 0, stdout: 'skipped' } : spawnSync(process.execPath, [join(root, 'scripts/fuzz-kill-save.mjs'), '--kills', kills], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (k.status !== 0) failed++;
rows.push(`${k.status === 0 ? 'ok  ' : 'FAIL'} SIGKILL during checkpoint saves: ${k.stdout.trim().split('\n').pop()} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
process.stdout.write(`${rows[rows.length - 1]}\n`);
process.exit(failed === 0 ? 0 : 1);
