import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A variant made by `pnpm create-variant` reaches every bench command with no edit outside its
// own package: generated into a throwaway workspace (never into this repository's packages/),
// built, and found by the built CLI's discovery from that workspace.
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const cli = join(root, 'apps/bench/dist/cli.js');
// Unique per run, so a concurrent run (or a package of that name elsewhere) cannot collide.
const name = `bench-probe-${process.pid}`;
let tmp = '';

const bench = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu', '--no-progress'], {
    cwd: tmp,
    encoding: 'utf8',
    // cli.ts runs in INIT_CWD when pnpm set it; here the user's directory is the throwaway workspace.
    env: { ...process.env, INIT_CWD: tmp },
  });
const tiny = ['--epochs', '1', '--train-limit', '256', '--test-limit', '64', '--batch-size', '64'];

describe.runIf(existsSync(cli))('a scaffolded variant in the bench', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'elbo-bench-variant-'));
    for (const f of ['tsconfig.base.json', 'tsup.base.ts', 'node_modules']) symlinkSync(join(root, f), join(tmp, f));
    writeFileSync(join(tmp, 'package.json'), '{ "private": true, "type": "module" }\n');
    writeFileSync(join(tmp, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\n");
    mkdirSync(join(tmp, 'packages'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is trained by suite variants and train --config, then evaluated and sampled', async () => {
    const scaffold = (await import(join(root, 'scripts/create-variant.mjs'))) as { createVariant: (n: string, o: { root: string; log: (s: string) => void }) => string[] };
    scaffold.createVariant(name, { root: tmp, log: () => {} });
    const pkgDir = join(tmp, 'packages', name);
    // The generated package's dependencies, linked as `pnpm install` would: @elbo/* to this workspace's
    // packages, the rest (tfjs-core) to the copy @elbo/core uses, so there is one of each.
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const fromCore = createRequire(join(root, 'packages/core/package.json'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
      const target = dep.startsWith('@elbo/') ? join(root, 'packages', dep.slice('@elbo/'.length)) : dirname(fromCore.resolve(`${dep}/package.json`));
      mkdirSync(dirname(join(pkgDir, 'node_modules', dep)), { recursive: true });
      symlinkSync(target, join(pkgDir, 'node_modules', dep));
    }
    execFileSync(join(root, 'node_modules/.bin/tsup'), [], { cwd: pkgDir, stdio: 'pipe' });
    expect(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).elbo).toEqual({ variant: true });

    const runs = join(tmp, 'runs');
    const suite = bench(['suite', 'variants', '--variants', name, '--runs', runs, ...tiny]);
    expect(suite.status, suite.stderr).toBe(0);
    const table = readFileSync(join(runs, 'suite-variants', 'table.md'), 'utf8');
    expect(table).toMatch(new RegExp(`^\\| ${name} \\| \\d+\\.\\d+ \\|`, 'm'));

    writeFileSync(join(tmp, 'config.json'), JSON.stringify({ variant: name, inputShape: [784], latentDim: 4 }));
    const train = bench(['train', '--config', 'config.json', '--runs', 'runs', '--name', 'probe', ...tiny]);
    expect(train.status, train.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(runs, 'probe', 'metrics.json'), 'utf8'));
    expect(metrics.variant).toBe(name);
    expect(metrics.evaluation.terms.elbo).toBeLessThan(0);

    const ev = bench(['eval', '--model', join(runs, 'probe', 'model'), '--test-limit', '32', '--out', join(tmp, 'eval.json')]);
    expect(ev.status, ev.stderr).toBe(0);
    expect(Number.isFinite(JSON.parse(readFileSync(join(tmp, 'eval.json'), 'utf8')).terms.elbo)).toBe(true);

    const sample = bench(['sample', '--model', join(runs, 'probe', 'model'), '--n', '4', '--out', join(tmp, 's.png')]);
    expect(sample.status, sample.stderr).toBe(0);
    expect(PNG.sync.read(readFileSync(join(tmp, 's.png'))).width).toBe(2 * 29 + 1);
  }, 300_000);
});
