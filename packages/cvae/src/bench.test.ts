import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The bench hooks of this package (src/bench.ts), run as a user runs them: elbo-bench's
// `train --config` and `eval` on a tiny MNIST slice (runs when the bench is built).
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const cli = join(root, 'apps/bench/dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'elbo-cvae-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bench = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu', '--no-progress'], { cwd: dir, encoding: 'utf8', env: { ...process.env, INIT_CWD: dir } });

describe.runIf(existsSync(cli))('cvae in elbo-bench', () => {
  it('trains from a config file with the labels as conditions, evaluates, and writes the per-class and style-swap grids', () => {
    writeFileSync(join(dir, 'cvae.json'), JSON.stringify({ variant: 'cvae', inputShape: [784], numClasses: 10, latentDim: 2, hiddenDims: [64] }));
    const train = bench(['train', '--config', 'cvae.json', '--runs', 'runs', '--epochs', '1', '--train-limit', '256', '--test-limit', '64', '--batch-size', '64']);
    expect(train.status, train.stderr).toBe(0);
    const run = join(dir, 'runs', 'cvae');
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
    expect(metrics.evaluation.terms.elbo).toBeLessThan(0);
    const accuracy = metrics.evaluation.variant.conditionalAccuracyMean;
    expect(accuracy).toBeGreaterThanOrEqual(0);
    expect(accuracy).toBeLessThanOrEqual(1);
    for (const f of ['samples-per-class.png', 'style-swap.png', 'reconstructions.png']) expect(metrics.files, f).toContain(f);

    const ev = bench(['eval', '--model', join(run, 'model'), '--test-limit', '32', '--out', join(dir, 'eval.json')]);
    expect(ev.status, ev.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
    expect(Number.isFinite(result.terms.elbo)).toBe(true);
    expect(result.variant).toHaveProperty('conditionalAccuracyMean');
  }, 300_000);
});
