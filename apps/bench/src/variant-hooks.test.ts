import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getVariant, useBackend } from '@elbo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVariants } from './discover';
import { benchMetrics } from './evaluate';
import { variantSuiteConfig } from './suites';
import { benchPlan, trainRun, type TrainRunOptions } from './train-run';

// Every variant the bench discovers, run through the whole path `suite variants` takes (its hooks'
// config, conditions, phases, metrics and pictures) on a tiny slice: it finishes, reports numbers,
// writes its pictures, and leaves no tensor behind.
const runs = mkdtempSync(join(tmpdir(), 'elbo-bench-hooks-'));
const found = await loadVariants();

const options = (name: string): TrainRunOptions => ({
  name,
  runsDir: runs,
  epochs: 1,
  batchSize: 64,
  learningRate: 1e-3,
  trainLimit: 128,
  testLimit: 32,
  backend: 'cpu',
  evaluation: {},
  progress: false,
  log: () => {},
});

describe('variant bench hooks', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    // Loaded once per process and kept (by design), so it is loaded before counting tensors.
    await benchMetrics.classifier();
  });
  afterAll(() => rmSync(runs, { recursive: true, force: true }));

  it('discovers the workspace variants', () => {
    expect(found.skipped).toEqual([]);
    expect(found.variants.length).toBeGreaterThan(0);
  });

  it.each(found.variants)('%s trains, evaluates and pictures with flat tf.memory()', async (name) => {
    const opts = options(name);
    let config: Record<string, unknown>;
    try {
      config = variantSuiteConfig(name, benchPlan(opts, getVariant(name)?.bench ?? {}, 0));
    } catch (e) {
      // A variant whose schema needs a field the bench cannot guess and whose hooks give no config:
      // suite variants lists it as skipped, with this reason.
      expect((e as Error).message).toMatch(/has no MNIST config for suite variants: .*give its bench hooks a config\(\)/);
      return;
    }
    const before = tf.memory().numTensors;
    const report = await trainRun({ ...config, seed: 0 }, opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.variant).toBe(name);
    expect(report.steps).toBeGreaterThan(0);
    expect(report.files).toContain('samples.png');
    for (const v of Object.values(report.evaluation.variant ?? {})) expect(Number.isFinite(v)).toBe(true);
  }, 300_000);
});
