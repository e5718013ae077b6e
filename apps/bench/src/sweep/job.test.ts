import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { JobFailure, jobDir, runJob } from './job';
import { expandSweep, parseSweepSpec } from './spec';
import { benchConfigFile } from '../suites';

// The bench names no variant: the tests train whichever variant the quick config names.
const { variant } = benchConfigFile<{ variant: string }>('quick.json');

describe('sweep job', () => {
  it('a loss that is never finite fails the job with its reason', async () => {
    // A Gaussian decoder with log-scale -200: every reconstruction term is infinite, the NaN guard skips 10 steps in a row and stops.
    const spec = parseSweepSpec({
      name: 'nonfinite',
      base: { variant, inputShape: [784], hiddenDims: [8], latentDim: 2, likelihood: 'gaussian', likelihoodScale: -200 },
      trainLimit: 512,
      testLimit: 20,
      batchSize: 16,
    });
    const [job] = expandSweep(spec);
    const store = mkdtempSync(join(tmpdir(), 'elbo-sweep-job-'));
    const before = tf.memory().numTensors;
    const err = await runJob(job, { store, backend: tf.getBackend(), worker: 'test', log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as Error).message).toMatch(/non-finite/);
    expect(existsSync(join(jobDir(store, job), 'result.json'))).toBe(false);
    expect(readFileSync(join(jobDir(store, job), 'attempts.jsonl'), 'utf8')).toContain('"event":"start"');
    expect(tf.memory().numTensors).toBe(before);
  });
});
