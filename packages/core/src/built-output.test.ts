import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shipped dist must give plain-Node users gradients, through `import` and `require`.
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const step = (load: string) => `
${load}
const rng = new Rng(1);
const net = new Sequential([new Dense(4, 8, rng, { activation: 'relu' }), new BatchNorm(8), new Dense(8, 2, rng)]);
const x = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
const opt = tf.train.adam(0.01);
const loss = () => tf.mean(tf.square(net.apply(x)));
const l0 = loss().dataSync()[0];
for (let i = 0; i < 20; i++) opt.minimize(loss, false, net.parameters());
const l1 = loss().dataSync()[0];
if (tf.ones([2, 2]).reshape([4]).shape[0] !== 4) throw new Error('chained ops missing');
console.log(JSON.stringify({ backend: tf.getBackend(), l0, l1 }));
`;

describe.runIf(existsSync(join(pkgDir, 'dist/index.js')))('built output in a child node process', () => {
  // A throwaway consumer project whose node_modules links @elbo/core (this
  // package, resolved through its "exports") and tfjs-core, as a user's would.
  const dir = mkdtempSync(join(tmpdir(), 'elbo-consumer-'));
  mkdirSync(join(dir, 'node_modules/@elbo'), { recursive: true });
  mkdirSync(join(dir, 'node_modules/@tensorflow'), { recursive: true });
  symlinkSync(pkgDir, join(dir, 'node_modules/@elbo/core'), 'dir');
  symlinkSync(realpathSync(join(pkgDir, 'node_modules/@tensorflow/tfjs-core')), join(dir, 'node_modules/@tensorflow/tfjs-core'), 'dir');
  const run = (file: string, source: string) => {
    writeFileSync(join(dir, file), source);
    const out = execFileSync(process.execPath, [join(dir, file)], { cwd: dir, encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!) as { backend: string; l0: number; l1: number };
  };

  it('ESM import trains', () => {
    const r = run(
      'esm.mjs',
      step(`import * as tf from '@tensorflow/tfjs-core';
import { Rng, Sequential, Dense, BatchNorm } from '@elbo/core';`),
    );
    expect(r.backend).toBe('cpu');
    expect(r.l1).toBeLessThan(r.l0);
  });

  it('CJS require trains', () => {
    const r = run(
      'cjs.cjs',
      step(`const tf = require('@tensorflow/tfjs-core');
const { Rng, Sequential, Dense, BatchNorm } = require('@elbo/core');`),
    );
    expect(r.backend).toBe('cpu');
    expect(r.l1).toBeLessThan(r.l0);
  });
});
