import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importOptional } from './optional-import';

describe('importOptional', () => {
  const dir = mkdtempSync(join(tmpdir(), 'elbo-optional-'));
  const cwd = process.cwd();
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is undefined for a package that is not installed, the module for one that is', async () => {
    expect(await importOptional('elbo-no-such-package')).toBeUndefined();
    const zod = await importOptional<{ z: unknown }>('zod');
    expect(zod?.z).toBeDefined();
    // The caller's own import (resolved from the caller's folder) is used as given.
    expect(await importOptional('anything', async () => ({ ok: 1 }))).toEqual({ ok: 1 });
  });

  it("finds a package in the application's directory, and throws for one that is installed but broken", async () => {
    for (const [name, source] of [
      ['elbo-probe-ok', 'export const value = 42;\n'],
      ['elbo-probe-broken', "import 'elbo-probe-missing-dependency';\n"],
    ]) {
      const pkg = join(dir, 'node_modules', name);
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, type: 'module', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), source);
    }
    process.chdir(dir);
    expect((await importOptional<{ value: number }>('elbo-probe-ok'))?.value).toBe(42);
    await expect(importOptional('elbo-probe-broken')).rejects.toThrow(/elbo-probe-missing-dependency/);
  });
});
