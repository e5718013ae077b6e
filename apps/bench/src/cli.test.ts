import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

// The built CLI, run as a user runs it (nx builds the bench before its tests).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
// The quick model's config (configs/quick.json): the tests name no variant themselves.
const QUICK = JSON.parse(readFileSync(new URL('../configs/quick.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe.runIf(existsSync(cli))('elbo-bench CLI', () => {
  it('prints usage and rejects bad input with one line and exit code 2', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: elbo-bench <command>/);
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['suite', 'nope'], /unknown suite "nope" \(suites: beta, arch, latent, variants\)/],
      [['quick', '--epochs', 'ten'], /--epochs must be an integer >= 1/],
      [['quick', '--bogus'], /Unknown option '--bogus'/],
      [['train'], /train needs --config FILE/],
      [['train', '--config', '/nonexistent/config.json'], /config file not found: \/nonexistent\/config.json/],
      [['eval', '--model', '/nonexistent/model'], /no saved model at \/nonexistent\/model/],
      [['quick', '--mnist-dir', '/nonexistent/mnist', '--backend', 'cpu'], /MNIST folder not found: \/nonexistent\/mnist/],
      [['throughput', '--backends', 'gpu9'], /unknown backend "gpu9"/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('rejects an unknown variant and a bad config field from a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elbo-bench-'));
    const bad = join(dir, 'bad.json');
    for (const [config, message] of [
      [{ variant: 'gan', latentDim: 2 }, /field "variant" is "gan", which is not registered/],
      [{ ...QUICK, latentDim: 2, hiddenDims: [-4] }, /field "hiddenDims/],
    ] as const) {
      writeFileSync(bad, JSON.stringify(config));
      const r = run(['train', '--config', bad, '--backend', 'cpu', '--runs', dir]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('quick runs end to end on a tiny slice and writes a well-formed run directory', () => {
    const runs = mkdtempSync(join(tmpdir(), 'elbo-bench-runs-'));
    const out = execFileSync(
      process.execPath,
      [cli, 'quick', '--backend', 'cpu', '--epochs', '1', '--train-limit', '256', '--test-limit', '64', '--batch-size', '64', '--runs', runs, '--no-progress'],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/backend: cpu/);
    expect(out).toMatch(/test -ELBO \d+\.\d+ nats \| recon MSE 0\.\d+ \| KL \d+\.\d+ \| active units \d+ \| \d+ samples\/s \| backend cpu/);
    const dir = join(runs, 'quick');
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.variant).toBe(QUICK.variant);
    expect(metrics.config).toMatchObject(QUICK);
    expect(metrics.steps).toBe(4);
    expect(metrics.history).toHaveLength(1);
    const e = metrics.evaluation;
    expect(Number.isFinite(e.terms.elbo) && e.terms.elbo < 0).toBe(true);
    expect(e.reconstructionMse).toBeGreaterThan(0);
    expect(e.reconstructionMse).toBeLessThan(0.3);
    expect(e.activeUnits).toBeGreaterThanOrEqual(0);
    expect(e.activeUnits).toBeLessThanOrEqual(20);
    expect(metrics.samplesPerSecond).toBeGreaterThan(0);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toMatch(/\| test -ELBO \(nats\/example\) \| \d+\.\d+ \|/);
    for (const file of ['samples.png', 'reconstructions.png', 'interpolations.png', 'traversals.png', 'loss-curve.png']) {
      const png = PNG.sync.read(readFileSync(join(dir, file)));
      expect(png.width).toBeGreaterThan(20);
      expect(report).toContain(file);
    }
    // samples.png is an 8 x 8 grid of 28 x 28 digits with 1-pixel gutters.
    expect(PNG.sync.read(readFileSync(join(dir, 'samples.png'))).width).toBe(8 * 29 + 1);
    expect(existsSync(join(dir, 'model', 'model.json'))).toBe(true);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(1);

    // The saved model samples and evaluates through the CLI.
    const s = run(['sample', '--model', join(dir, 'model'), '--n', '4', '--out', join(runs, 's.png'), '--backend', 'cpu']);
    expect(s.status).toBe(0);
    expect(PNG.sync.read(readFileSync(join(runs, 's.png'))).width).toBe(2 * 29 + 1);
    const ev = run(['eval', '--model', join(dir, 'model'), '--test-limit', '32', '--backend', 'cpu', '--out', join(runs, 'eval.json')]);
    expect(ev.status).toBe(0);
    expect(JSON.parse(readFileSync(join(runs, 'eval.json'), 'utf8')).terms.elbo).toBeCloseTo(e.terms.elbo, -1);
  });
});
