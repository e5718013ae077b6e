import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type BatchSource, useBackend } from '@elbo/core';
import { loadMnist, mnistDataDir, takeSubset } from '@elbo/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../flags';
import { setProgress } from '../report-progress';
import { buildModel } from '../train-run';
import { PROTOCOLS } from './protocols';
import { reproduceOptions, runReproduce } from './run';
import { findTorchPython, runTorchScript } from './torch';

beforeAll(async () => {
  await useBackend('cpu');
  setProgress(false);
});

/** The training batches as they reach the trainer: each epoch's pixel values, kept as plain numbers. */
function recordBatches(source: BatchSource, epochs: Map<number, Float32Array[]>): BatchSource {
  return {
    size: source.size,
    batchSize: source.batchSize,
    *batches(epoch: number): Generator<Batch> {
      for (const batch of source.batches(epoch)) {
        epochs.set(epoch, [...(epochs.get(epoch) ?? []), batch.x.dataSync() as Float32Array]);
        yield batch;
      }
    },
  };
}

describe('reproduce burda-vae end to end at a tiny budget', () => {
  it('trains 2 epochs on the truncated schedule with dynamic binarisation, evaluates with the asked k, writes the run', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'elbo-reproduce-'));
    const argv = ['reproduce', 'burda-vae', '--epochs', '2', '--seeds', '1', '--train-limit', '200', '--nll-samples', '10', '--test-limit', '20', '--eval-every', '1', '--curve-samples', '4', '--curve-limit', '10', '--runs', runs, '--no-progress'];
    const { flags, positionals } = parseFlags(argv);
    const options = reproduceOptions(flags, positionals.slice(1));
    const lrs: Array<{ step: number; epoch: number; lr: number }> = [];
    const batches = new Map<number, Float32Array[]>();
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const code = await runReproduce(options, (l) => lines.push(l), {
      callbacks: [{ onStepEnd: (info) => void lrs.push({ step: info.step, epoch: info.epoch, lr: info.lr }) }],
      source: (s) => recordBatches(s, batches),
    });
    expect(code).toBe(0);
    expect(tf.memory().numTensors).toBe(before);

    // The schedule's first two epochs: 200 images / batch 20 = 10 steps at 1e-3, then 10 at 1e-3 * 10^(-1/7).
    expect(lrs).toHaveLength(20);
    for (const { epoch, lr } of lrs) expect(lr).toBeCloseTo(epoch === 0 ? 1e-3 : 1e-3 * 10 ** (-1 / 7), 15);
    expect(lrs.map((r) => r.epoch)).toEqual([...Array(10).fill(0), ...Array(10).fill(1)]);

    // Dynamic binarisation: every value is 0 or 1, the draws differ between epochs, and their mean is the grey levels' mean.
    const grey = takeSubset(loadMnist({ split: 'train' }), 200).images;
    const greyMean = grey.reduce((a, b) => a + b, 0) / grey.length;
    const sums: number[] = [];
    for (const epoch of [0, 1]) {
      const values = batches.get(epoch)!;
      expect(values.reduce((n, v) => n + v.length, 0)).toBe(200 * 784);
      let ones = 0;
      for (const v of values) for (const x of v) {
        if (x !== 0 && x !== 1) throw new Error(`a training pixel is ${x}, not 0 or 1`);
        ones += x;
      }
      sums.push(ones);
      expect(ones / (200 * 784)).toBeCloseTo(greyMean, 2);
    }
    expect(sums[0]).not.toBe(sums[1]);

    // The evaluation used k = 10 on the first 20 test images; the curve k = 4 on 10 images after each epoch.
    const dir = join(runs, 'reproduce-burda-vae');
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.seeds[0]).toMatchObject({ seed: 0, samples: 10, examples: 20, epochs: 2, steps: 20 });
    expect(metrics.nll.samples).toBe(10);
    expect(metrics.paper.value).toBe(86.76);
    const curve = readFileSync(join(dir, 'nll-curve.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(curve.map((c) => [c.epoch, c.samples, c.examples])).toEqual([[1, 4, 10], [2, 4, 10]]);
    for (const file of ['config.json', 'protocol.json', 'metrics.json', 'report.md', 'nll-curve.png', 'test-binarized.u8', 'seed-0/checkpoint/model.json', 'seed-0/metrics.jsonl']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const protocol = JSON.parse(readFileSync(join(dir, 'protocol.json'), 'utf8'));
    expect(protocol.budget).toMatchObject({ epochs: 2, trainCount: 200, testImages: 20, nllSamples: 10, batchSize: 20 });
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/\| burda-vae \| Burda, Grosse & Salakhutdinov \(2016\) \| 2 of 3,280 epochs/);

    // The printed protocol line states the budget and the test subset; the last line parses.
    expect(lines[0]).toMatch(/^reproduce burda-vae: .*2 of 3,280 epochs; 200 training images; test NLL with k=10 on 20 test images; 1 seed/);
    expect(lines.find((l) => l.startsWith('elbo seed 0: NLL'))).toBeDefined();
    const final = lines.find((l) => l.startsWith('reproduce burda-vae: NLL'))!;
    // One seed: the mean alone, no ± (a single value has no spread).
    const m = /^reproduce burda-vae: NLL (\d+\.\d\d) \(k=10, 20 test, 2 of 3280 epochs, 1 seed\); paper 86\.76$/.exec(final);
    expect(m, final).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(metrics.nll.mean, 2);
    // Untrained-ish after 20 steps, but a likelihood: between the best published figures and 784 ln 2.
    expect(Number(m![1])).toBeGreaterThan(60);
    expect(Number(m![1])).toBeLessThan(784 * Math.LN2);
  });
});

describe('reproduce resumes', () => {
  it('rerun with more epochs continues from the checkpoint and ends where a straight run without a curve ends', async () => {
    const run = async (runs: string, epochs: number, extra: string[] = []) => {
      const argv = ['reproduce', 'burda-vae', '--epochs', String(epochs), '--train-limit', '60', '--nll-samples', '4', '--test-limit', '10', '--runs', runs, '--no-progress', ...extra];
      const { flags, positionals } = parseFlags(argv);
      const lines: string[] = [];
      await runReproduce(reproduceOptions(flags, positionals.slice(1)), (l) => lines.push(l));
      const metrics = JSON.parse(readFileSync(join(runs, 'reproduce-burda-vae', 'metrics.json'), 'utf8'));
      return { lines, nll: metrics.seeds[0].nll as number };
    };
    const straight = await run(mkdtempSync(join(tmpdir(), 'elbo-reproduce-')), 2);
    const split = mkdtempSync(join(tmpdir(), 'elbo-reproduce-'));
    // With a test-NLL curve on the way: its draws leave the training draws as they were.
    const curve = ['--eval-every', '1', '--curve-samples', '3', '--curve-limit', '5'];
    await run(split, 1, curve);
    const resumed = await run(split, 2, curve);
    expect(resumed.lines.join('\n')).toMatch(/resuming from the checkpoint at epoch 1/);
    expect(resumed.nll).toBe(straight.nll);
    // The same command again: the finished seed is not trained again.
    const again = await run(split, 2, curve);
    expect(again.lines.join('\n')).toMatch(/seed 0: done earlier with these settings/);
    expect(again.nll).toBe(straight.nll);
  });
});

/** A python with torch, or undefined (the reference is not part of CI). */
const torchPython = (() => {
  try {
    return findTorchPython().python;
  } catch {
    return undefined;
  }
})();

// The PyTorch reference is an optional measurement tool (Debian's python3-torch, about 1 GB), not a
// dependency of elbo, so the test command does not install it; where it is installed this checks the script.
describe.runIf(torchPython !== undefined)('the PyTorch reference (where python3-torch is installed)', () => {
  it('builds models of the same parameter count as elbo for every protocol it covers, and prints a result line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'elbo-reproduce-torch-'));
    const test = join(dir, 'test.u8');
    writeFileSync(test, new Uint8Array(2 * 784).map((_, i) => (i % 3 === 0 ? 1 : 0)));
    const budget = { epochs: 1, stepsPerEpoch: 1, trainCount: 20 };
    for (const p of Object.values(PROTOCOLS).filter((q) => q.pytorch)) {
      const args = ['--mnist', mnistDataDir(), '--test', test, '--test-count', '2', '--train-limit', '20', '--epochs', '0', '--batch-size', '10', '--nll-samples', '3', ...p.torchArgs!(budget)];
      const lines = await runTorchScript(torchPython!, args, () => {});
      const model = await buildModel(p.config(0, budget, p.weights));
      const elboParameters = model.numParameters();
      model.dispose();
      expect(lines.find((l) => l.type === 'start')?.parameters, p.name).toBe(elboParameters);
      const result = lines.find((l) => l.type === 'result')!;
      expect(result).toMatchObject({ samples: 3, examples: 2, epochs: 0 });
      expect(Number(result.nll)).toBeGreaterThan(0);
    }
  });
});

// The built CLI, as a user runs it; skipped where the bench is not built.
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

describe.runIf(existsSync(cli))('reproduce --reference pytorch without python', () => {
  it('says what to install in one line and exits with 2', () => {
    const r = spawnSync(process.execPath, [cli, 'reproduce', 'burda-vae', '--reference', 'pytorch', '--epochs', '1', '--backend', 'cpu', '--runs', mkdtempSync(join(tmpdir(), 'elbo-reproduce-'))], {
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: '', ELBO_PYTHON: '/nonexistent/python3' },
    });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--reference pytorch needs python3 with torch \(\/nonexistent\/python3 not runnable\): install it with apt-get install python3-torch/);
  });

  it('an unknown protocol lists the known ones, exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'reproduce', 'nope'], { encoding: 'utf8', env: { ...process.env, INIT_CWD: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^elbo-bench: unknown protocol "nope" for reproduce \(protocols: burda-vae, .*beta-tcvae-dsprites\)/);
  });
});
