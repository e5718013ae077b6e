import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Node's lookup of `dep` from a package directory (works in pnpm's layout: deps are siblings under .pnpm/<pkg>/node_modules). */
function findPackage(from: string, dep: string): string | null {
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    if (basename(d) === 'node_modules') continue;
    const c = join(d, 'node_modules', dep);
    if (existsSync(join(c, 'package.json'))) return realpathSync(c);
  }
  return null;
}

/** This package and everything it needs at run time (dependencies and tfjs-core, its one required peer), as directories. */
function runtimeClosure(): Map<string, string> {
  const seen = new Map<string, string>();
  const queue = [realpathSync(root)];
  while (queue.length) {
    const dir = queue.shift()!;
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    if (seen.has(pj.name)) continue;
    seen.set(pj.name, dir);
    const deps = Object.keys({ ...pj.dependencies, ...pj.optionalDependencies });
    if (pj.name === '@elbo/backend-native') deps.push('@tensorflow/tfjs-core');
    for (const dep of deps) {
      const d = findPackage(dir, dep);
      if (d) queue.push(d);
      else if (!pj.optionalDependencies?.[dep]) throw new Error(`${dep} (needed by ${pj.name}) is not installed`);
    }
  }
  return seen;
}

// `npm pack` this package and its run-time dependencies, install the tarballs into a fresh project with
// no compiler reachable and no registry, and train a step there: the prebuilt binary must be what loads.
describe.runIf(process.platform === 'linux' && process.arch === 'x64' && existsSync(join(root, 'dist', 'index.js')))('installed from its packed tarball', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'elbo-native-pack-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('installs without a compiler, loads the prebuild and trains a step', () => {
    const tarballs = join(tmp, 'tarballs');
    mkdirSync(tarballs);
    const deps: Record<string, string> = {};
    for (const [name, dir] of runtimeClosure()) {
      const workspace = !dir.split(sep).includes('node_modules');
      // pnpm pack rewrites workspace:* ranges to versions. An installed published package already holds
      // exactly its published files: it is tarred as it is, under package/ as npm's tarballs are.
      const before = new Set(readdirSync(tarballs));
      if (workspace) execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, stdio: 'pipe' });
      else execFileSync('tar', ['czf', join(tarballs, `${name.replace('/', '-')}.tgz`), '--hard-dereference', '--exclude=./node_modules', '--transform=s,^\\.,package,', '-C', dir, '.'], { stdio: 'pipe' });
      const made = readdirSync(tarballs).filter((f) => !before.has(f));
      expect(made, name).toHaveLength(1);
      deps[name] = `file:../tarballs/${made[0]}`;
    }
    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: deps }, null, 2));
    const env = { ...process.env, CC: 'false', CXX: 'false', npm_config_cache: join(tmp, 'npm-cache'), npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
    const install = spawnSync('npm', ['install', '--offline', '--legacy-peer-deps', '--foreground-scripts', '--no-package-lock'], { cwd: app, env, encoding: 'utf8' });
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    expect(install.stdout).toMatch(/@elbo\/backend-native: using the prebuilt binary prebuilds\/linux-x64\/@elbo\+backend-native\.glibc\.node/);
    expect(existsSync(join(app, 'node_modules', '@elbo', 'backend-native', 'build'))).toBe(false);

    writeFileSync(
      join(app, 'check.mjs'),
      `import * as tf from '@tensorflow/tfjs-core';
import { nativeInfo, nativeLoadSummary } from '@elbo/backend-native';
import { createOptimizer } from '@elbo/core';
console.log(nativeLoadSummary());
if (nativeInfo()?.source !== 'prebuild') throw new Error('expected the prebuild, got ' + JSON.stringify(nativeInfo()));
await tf.setBackend('native');
const x = tf.randomUniform([32, 8], -1, 1, 'float32', 1);
const y = tf.sum(x, 1, true);
const w = tf.variable(tf.zeros([8, 1]));
const opt = createOptimizer({ kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, 0.1);
const loss = () => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y)));
const before = loss().dataSync()[0];
for (let i = 0; i < 5; i++) {
  const { value, grads } = tf.variableGrads(loss, [w]);
  opt.apply([w], [grads[w.name]]);
  tf.dispose([value, grads[w.name]]);
}
const after = loss().dataSync()[0];
console.log(JSON.stringify({ backend: tf.getBackend(), before, after }));
if (!(after < before)) throw new Error('the step did not lower the loss');
`,
    );
    const run = spawnSync(process.execPath, ['check.mjs'], { cwd: app, env, encoding: 'utf8' });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^@elbo\/backend-native: native backend from the prebuilt binary linux-x64\/@elbo\+backend-native\.glibc\.node/);
    expect(JSON.parse(lines[1]).backend).toBe('native');
  }, 300_000);
});
