import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeInfo, nativeLoadSummary } from './index';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resolver = require(join(root, 'scripts', 'resolve-binary.cjs')) as {
  sourceHash(root: string): string | null;
  builtFrom(file: string): string | null;
  prebuildPaths(root: string): string[];
  loadBinary(root: string): { source?: string; path?: string; error?: string; skipped: string[] };
};

describe('prebuilt binary', () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('a linux-x64 glibc prebuild is committed and was built from the current native sources', () => {
    const prebuilds = resolver.prebuildPaths(root);
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    expect(prebuilds.map((p) => p.split(/[\\/]/).slice(-2).join('/'))).toContain('linux-x64/@elbo+backend-native.glibc.node');
    // A stale one would be skipped at load time: refresh with `pnpm run prebuilds` after editing native/ or binding.gyp.
    expect(resolver.builtFrom(prebuilds[0])).toBe(resolver.sourceHash(root));
  });

  it('loads the prebuild first and says so in one line', () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    expect(nativeInfo()?.source).toBe('prebuild');
    const line = nativeLoadSummary();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/native backend from the prebuilt binary linux-x64\/@elbo\+backend-native\.glibc\.node/);
  });

  it('skips a prebuild built from other sources, without loading it, and falls back to the node-gyp build', () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    const dir = mkdtempSync(join(tmpdir(), 'elbo-native-stale-'));
    temps.push(dir);
    cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
    copyFileSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
    mkdirSync(join(dir, 'prebuilds', 'linux-x64'), { recursive: true });
    copyFileSync(resolver.prebuildPaths(root)[0], join(dir, 'prebuilds', 'linux-x64', '@elbo+backend-native.glibc.node'));
    writeFileSync(join(dir, 'native', 'gemm.cc'), `${readFileSync(join(dir, 'native', 'gemm.cc'), 'utf8')}\n// edited\n`);
    const r = resolver.loadBinary(dir);
    expect(r.source).toBeUndefined();
    expect(r.skipped[0]).toMatch(/^prebuild: prebuilds\/linux-x64\/@elbo\+backend-native\.glibc\.node was built from other sources/);
    expect(r.skipped[1]).toMatch(/^node-gyp: no build\/Release\/elbo_native\.node/);
  });

  it('ignores prebuilds for another libc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elbo-native-libc-'));
    temps.push(dir);
    const sub = join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(sub, { recursive: true });
    for (const f of ['x.glibc.node', 'x.musl.node', 'x.node']) writeFileSync(join(sub, f), '');
    const names = resolver.prebuildPaths(dir).map((p) => p.split(/[\\/]/).pop());
    expect(names).toHaveLength(2);
    expect(names[1]).toBe('x.node');
  });
});
