import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listVariants } from '@elbo/core';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors';
import type { JobResult } from './job';
import { poolShape } from './pool';
import { meanStd, sweepTable, writeSweepReport } from './report';
import { expandSweep, loadSweepSpec, parseSweepSpec } from './spec';
import { benchConfigFile } from '../suites';

// The bench names no variant: the tests train whichever variant the quick config names.
const { variant } = benchConfigFile<{ variant: string }>('quick.json');

const base = { variant, inputShape: [784], latentDim: 4 };

describe('sweep specs', () => {
  it('crosses the axes and seeds into jobs with stable ids', () => {
    const spec = parseSweepSpec({ name: 't', base, axes: { klWeight: [0.5, 1, 4], latentDim: [2, 8] }, seeds: 2, trainLimit: 256 });
    const jobs = expandSweep(spec);
    expect(jobs).toHaveLength(3 * 2 * 2);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(12);
    expect(jobs[0]).toMatchObject({ point: '0.5_2', seed: 0, axes: { klWeight: '0.5', latentDim: '2' }, config: { ...base, klWeight: 0.5, latentDim: 2, seed: 0 } });
    expect(jobs[0].training).toMatchObject({ epochs: 1, trainLimit: 256, batchSize: 128 });
    // The same spec, with keys in another order, gives the same ids; another budget gives other ids.
    const again = expandSweep(parseSweepSpec({ trainLimit: 256, seeds: 2, axes: { klWeight: [0.5, 1, 4], latentDim: [2, 8] }, base: { latentDim: 4, inputShape: [784], variant }, name: 't' }));
    expect(again.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    const other = expandSweep(parseSweepSpec({ name: 't', base, axes: { klWeight: [0.5, 1, 4], latentDim: [2, 8] }, seeds: 2, trainLimit: 512 }));
    expect(other.some((j) => jobs.some((k) => k.id === j.id))).toBe(false);
  });

  it('named-config axes merge into the base; training-option axes set the training', () => {
    const spec = parseSweepSpec({ name: 'a', base, axes: { architecture: { small: { hiddenDims: [16] }, big: { hiddenDims: [64, 64] } }, learningRate: [1e-3, 1e-2] }, seeds: [7] });
    const jobs = expandSweep(spec);
    expect(jobs.map((j) => j.point)).toEqual(['small_0.001', 'small_0.01', 'big_0.001', 'big_0.01']);
    expect(jobs[3].config).toEqual({ ...base, hiddenDims: [64, 64], seed: 7 });
    expect(jobs[3].training.learningRate).toBe(1e-2);
    expect(jobs[3].config).not.toHaveProperty('learningRate');
  });

  it('refuses a grid of more jobs than a sweep may hold before expanding it', () => {
    const axes = { latentDim: Array.from({ length: 1000 }, (_, i) => i + 1), klWeight: Array.from({ length: 50 }, (_, i) => i) };
    expect(() => parseSweepSpec({ name: 't', base, axes, seeds: 3 })).toThrow(/field "axes": 50000 grid points x 3 seeds is 150000 jobs/);
  });

  it.each([
    [{ name: 't', base, seeds: 2_000_000 }, /field "seeds"/],
    [{ name: 't', base, axes: { klWeight: [1, 1] } }, /field "axes": grid point 1 repeats/],
    [{ name: 't', base: { latentDim: 2 } }, /field "base": needs a "variant"/],
    [{ name: 't', base, axes: { klWeight: [] } }, /field "axes.klWeight"/],
    [{ name: 't', base, seeds: 0 }, /field "seeds"/],
    [{ name: 't', base, epochs: 1.5 }, /field "epochs"/],
    [{ name: 'a b', base }, /field "name"/],
    [{ name: 't', base, budget: 3 }, /field "budget" is not known/],
    [{ name: 't', base, axes: { seed: [1, 2] } }, /field "axes.seed"/],
  ])('a bad spec is one line naming the field: %j', (raw, message) => {
    let err: unknown;
    try {
      parseSweepSpec(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('loads a JSON file with flag overrides, and the built-ins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'elbo-spec-'));
    writeFileSync(join(dir, 's.json'), JSON.stringify({ name: 'f', base, axes: { latentDim: [2, 4] } }));
    const spec = await loadSweepSpec(join(dir, 's.json'), { seeds: 3, epochs: 2, trainLimit: 100 });
    expect(expandSweep(spec)).toHaveLength(6);
    expect(spec).toMatchObject({ epochs: 2, trainLimit: 100 });
    writeFileSync(join(dir, 'bad.json'), '{"name": ');
    await expect(loadSweepSpec(join(dir, 'bad.json'))).rejects.toThrow(/not valid JSON/);
    for (const name of ['beta', 'latent', 'arch']) {
      const jobs = expandSweep(await loadSweepSpec(name, { seeds: 2 }));
      expect(jobs).toHaveLength(8);
    }
    const variants = expandSweep(await loadSweepSpec('variants', { seeds: 1 }));
    expect(variants.length).toBeGreaterThanOrEqual(2);
    for (const j of variants) expect(listVariants()).toContain(j.config.variant);
  });

  it('a pool never runs more native threads than cores', () => {
    expect(poolShape(undefined, undefined, 10, 2)).toEqual({ workers: 2, threads: 1 });
    expect(poolShape(1, undefined, 10, 2)).toEqual({ workers: 1, threads: 2 });
    expect(poolShape(2, undefined, 1, 2)).toEqual({ workers: 1, threads: 2 });
    expect(() => poolShape(3, undefined, 10, 2)).toThrow(/more than the 2 cores/);
    expect(() => poolShape(2, 2, 10, 2)).toThrow(UsageError);
  });
});

describe('sweep report', () => {
  it('mean ± sample std over seeds per grid point, failed jobs with their reasons', () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    const spec = parseSweepSpec({ name: 'r', base, axes: { klWeight: [1, 4] }, seeds: 2, trainLimit: 256 });
    const jobs = expandSweep(spec);
    const result = (i: number, negElbo: number): JobResult => ({
      id: jobs[i].id, sweep: 'r', point: jobs[i].point, axes: jobs[i].axes, seed: jobs[i].seed,
      metrics: { negElbo, kl: 3, reconstructionMse: null }, parameters: 1234, steps: 2, trainSeconds: 1, weightsSha256: 'x', worker: 'w',
    });
    const table = sweepTable(spec, [
      { job: jobs[0], state: 'done', result: result(0, 100) },
      { job: jobs[1], state: 'done', result: result(1, 102) },
      { job: jobs[2], state: 'done', result: result(2, 90) },
      { job: jobs[3], state: 'failed', failure: { reason: 'non-finite loss at step 3', attempts: 3 } },
    ]);
    expect(table.markdown).toContain('| 1 | 2 | 101.00 ± 1.41 | 3.00 ± 0.00 | 1,234 |');
    expect(table.markdown).toContain('| 4 | 1 (1 failed) | 90.00 | 3.00 | 1,234 |');
    expect(table.markdown).toContain(`| ${jobs[3].id} | 3 | non-finite loss at step 3 |`);
  });

  it('writes the table and a mean ± std chart', async () => {
    const spec = parseSweepSpec({ name: 'c', base, axes: { klWeight: [1, 4, 10] }, seeds: 2 });
    const jobs = expandSweep(spec);
    const records = jobs.map((job, i) => ({
      job,
      state: 'done',
      result: { id: job.id, sweep: 'c', point: job.point, axes: job.axes, seed: job.seed, metrics: { negElbo: 100 + i, kl: 10 - i }, parameters: 10, steps: 1, trainSeconds: 1, weightsSha256: 'x', worker: 'w' },
    }));
    const dir = mkdtempSync(join(tmpdir(), 'elbo-sweep-report-'));
    const files = await writeSweepReport(dir, 'c', sweepTable(spec, records), records);
    expect(files).toEqual(['table.md', 'table.json', 'chart.png', 'chart.svg', 'report.md', 'report.html']);
    expect(readFileSync(join(dir, 'chart.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(dir, 'chart.svg'), 'utf8')).toContain('test -ELBO (nats)');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('![mean ± std over seeds per grid point](chart.png)');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<td>100.50 ± 0.71</td>');
  });
});
