import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../tfjs-setup';
import type { GenerativeModel } from '../model';
import { ConfigError, createModel } from '../registry';
import { arrayBatchSource, registerTinyVae, syntheticData } from '../testing/tiny-model';
import { progressCallback } from './callbacks';
import { type FitOptions, fit } from './fit';
import { Sgd } from './optimizers';

const variant = registerTinyVae('tiny-fit');
const config = { variant, inputDim: 6, hiddenDim: 8, latentDim: 2, seed: 3 };
// Scaled so that the reconstruction term (unit-variance Gaussian likelihood) has room to fall.
const all = syntheticData(64, 6, 1).map((v) => 4 * v);
const data = all.subarray(0, 48 * 6);
const valData = all.subarray(48 * 6);
const source = (batchSize = 8, extra: Parameters<typeof arrayBatchSource>[3] = {}) => arrayBatchSource(data, 6, batchSize, { seed: 5, ...extra });
const validation = arrayBatchSource(valData, 6, 8, { shuffle: false });

let before = 0;
let model: GenerativeModel;
beforeEach(() => {
  before = tf.memory().numTensors;
  model = createModel(config);
});
afterEach(() => {
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

const weights = (m: GenerativeModel) => [...m.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())] as const);
const tmp = () => mkdtempSync(join(tmpdir(), 'elbo-fit-'));

describe('fit', () => {
  it('lowers the loss, averages named terms per epoch and validates every epoch', async () => {
    const r = await fit(model, source(), { epochs: 10, learningRate: 3e-2, validation, progress: false });
    expect(r.epochs).toBe(10);
    expect(r.steps).toBe(60);
    expect(r.stoppedEarly).toBe(false);
    expect(r.history).toHaveLength(10);
    const first = r.history[0];
    const last = r.history[9];
    expect(Object.keys(first.train)).toEqual(expect.arrayContaining(['kl', 'loss', 'reconstruction']));
    expect(Object.keys(first.validation!)).toEqual(expect.arrayContaining(['kl', 'loss', 'reconstruction']));
    // loss = reconstruction + 1 * kl per example, so the averages add up too.
    expect(Math.abs(last.train.loss - last.train.reconstruction - last.train.kl)).toBeLessThan(1e-4);
    expect(last.train.loss).toBeLessThan(first.train.loss - 0.5);
    expect(last.validation!.loss).toBeLessThan(first.validation!.loss);
    expect(last.samplesPerSecond).toBeGreaterThan(0);
    expect(last.step).toBe(60);
  });

  it('a 1,000-step run leaves numTensors and numBytes flat', async () => {
    // Measured at log points (every 50 steps by default), where no step's values wait on the device.
    const small = createModel({ variant, inputDim: 4, hiddenDim: 4, latentDim: 2, seed: 1 });
    const src = arrayBatchSource(syntheticData(16, 4, 3), 4, 4, { seed: 1 });
    const seen: { step: number; numTensors: number; numBytes: number }[] = [];
    const r = await fit(small, src, {
      epochs: 1000,
      maxSteps: 1000,
      clipNorm: 5,
      progress: false,
      callbacks: [{ onStepEnd: (s) => void ((s.step === 50 || s.step === 500 || s.step === 1000) && seen.push({ step: s.step, ...tf.memory() })) }],
    });
    expect(r.steps).toBe(1000);
    expect(r.reason).toMatch(/maxSteps/);
    expect(seen.map((s) => s.step)).toEqual([50, 500, 1000]);
    expect(seen[2].numTensors).toBe(seen[0].numTensors);
    expect(seen[2].numBytes).toBe(seen[0].numBytes);
    expect(seen[1].numBytes).toBe(seen[0].numBytes);
    small.dispose();
  }, 120_000);

  it('stopped and resumed training gives the same weights as training straight through', async () => {
    const opts = {
      epochs: 3,
      learningRate: 1e-2,
      warmupSteps: 4,
      klWeight: (s: number) => Math.min(1, s / 10),
      validation,
      reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e3 },
      progress: false,
    };
    const straight = await fit(model, source(), opts);
    const dir = tmp();
    const b = createModel(config);
    // Stop mid-epoch 2 (6 batches per epoch) and after the end of epoch 2.
    const part1 = await fit(b, source(), { ...opts, maxSteps: 9, checkpoint: { dir } });
    expect(part1.reason).toMatch(/maxSteps/);
    b.dispose();
    const c = createModel(config);
    const part2 = await fit(c, source(), { ...opts, maxSteps: 13, resume: dir, checkpoint: { dir } });
    expect(part2.steps).toBe(13);
    c.dispose();
    const d = createModel(config);
    const rest = await fit(d, source(), { ...opts, resume: dir });
    expect(rest.steps).toBe(18);
    expect(weights(d)).toEqual(weights(model));
    expect(d.rng.getState()).toEqual(model.rng.getState());
    const strip = (h: typeof rest.history) => h.map(({ seconds, samplesPerSecond, ...k }) => k);
    expect(strip(rest.history)).toEqual(strip(straight.history));
    d.dispose();
  });

  it('resumes a checkpoint whose trainer state has the older layout (lrScale, plateau and early at the top level)', async () => {
    const opts = { learningRate: 1e-2, reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e3 }, earlyStopping: { patience: 9, minDelta: 1e3 }, progress: false };
    const dir = tmp();
    await fit(model, source(), { ...opts, epochs: 3, checkpoint: { dir } });
    const old = tmp();
    cpSync(dir, old, { recursive: true });
    const json = JSON.parse(readFileSync(join(old, 'model.json'), 'utf8'));
    const { lr, callbacks, ...rest } = json.userDefinedMetadata.elbo.trainer;
    expect(lr.scale).toBe(0.25);
    json.userDefinedMetadata.elbo.trainer = { ...rest, lrScale: lr.scale, plateau: callbacks.plateau, early: callbacks.early };
    writeFileSync(join(old, 'model.json'), JSON.stringify(json));
    const results = [];
    for (const from of [dir, old]) {
      const m = createModel(config);
      const r = await fit(m, source(), { ...opts, epochs: 5, resume: from });
      results.push({ w: weights(m), lr: r.history.map((h) => h.lr), reason: r.reason });
      m.dispose();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0].lr).toEqual([0.01, 0.005, 0.0025, 0.00125, 0.000625]);
  });

  it('checkpoints every N steps and every N epochs', async () => {
    const dir = tmp();
    await fit(model, source(), { epochs: 3, maxSteps: 10, progress: false, checkpoint: { dir, everySteps: 4, atEnd: false } });
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).userDefinedMetadata.elbo;
    expect(meta.step).toBe(8);
    expect(meta.epoch).toBe(1);
    expect(meta.trainer.batchInEpoch).toBe(2);
    const dir2 = tmp();
    const m2 = createModel(config);
    await fit(m2, source(), { epochs: 3, progress: false, checkpoint: { dir: dir2, everyEpochs: 2, atEnd: false } });
    m2.dispose();
    const meta2 = JSON.parse(readFileSync(join(dir2, 'model.json'), 'utf8')).userDefinedMetadata.elbo;
    expect([meta2.step, meta2.epoch, meta2.trainer.history.length]).toEqual([12, 2, 2]);
  });

  it('NaN guard: a non-finite batch is skipped, the terms are named, the weights kept', async () => {
    const after: number[][][] = [];
    const events: string[] = [];
    const src = source(8, { corrupt: (epoch, batch) => epoch === 0 && batch === 4 });
    const r = await fit(model, src, {
      epochs: 2,
      progress: false,
      callbacks: [{ onStepEnd: () => void after.push(model.parameters().map((p) => Array.from(p.dataSync()))), onNonFinite: (e) => void events.push(e.message) }],
    });
    expect(r.nonFinite).toHaveLength(1);
    const ev = r.nonFinite[0];
    expect(ev.step).toBe(5);
    expect(ev.terms).toEqual(expect.arrayContaining(['loss', 'reconstruction', 'kl']));
    expect(ev.restored).toBe(false);
    expect(events[0]).toMatch(/NaN guard: step 5 .*term.*"reconstruction" = NaN/);
    expect(after[4]).toEqual(after[3]); // the skipped step changed nothing
    expect(after[5]).not.toEqual(after[4]); // training went on
    expect(r.steps).toBe(12);
    expect(after.at(-1)!.flat().every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(r.history[0].train.loss)).toBe(true); // the bad batch is not in the average
  });

  it('NaN guard: weights that became non-finite are restored to the last good ones', async () => {
    const after: number[][][] = [];
    const r = await fit(model, source(), {
      epochs: 1,
      // Read back every step, so the last weights seen finite are those after the previous step.
      logEvery: 1,
      progress: false,
      callbacks: [
        {
          onStepEnd: (s) => {
            after.push(model.parameters().map((p) => Array.from(p.dataSync())));
            // Simulate an update that blew up the weights.
            if (s.step === 3) tf.tidy(() => model.parameters()[0].assign(tf.fill(model.parameters()[0].shape, Number.NaN)));
          },
        },
      ],
    });
    expect(r.nonFinite).toHaveLength(1);
    expect(r.nonFinite[0].step).toBe(4);
    expect(r.nonFinite[0].restored).toBe(true);
    expect(r.nonFinite[0].gradients.length).toBeGreaterThan(0);
    // Restored to the weights checked finite at step 3's log point (before the corruption).
    expect(after[3]).toEqual(after[2]);
    expect(after.at(-1)!.flat().every(Number.isFinite)).toBe(true);
  });

  it('without the NaN guard a bad batch corrupts the weights (what the guard prevents)', async () => {
    await fit(model, source(8, { corrupt: (_, b) => b === 1 }), { epochs: 1, maxSteps: 3, nanGuard: false, progress: false });
    expect(model.parameters().some((p) => p.dataSync().some((v) => !Number.isFinite(v)))).toBe(true);
  });

  it('stops after maxConsecutive non-finite steps (at the first log point that sees them)', async () => {
    const r = await fit(model, source(8, { corrupt: () => true }), { epochs: 2, nanGuard: { maxConsecutive: 3 }, logEvery: 1, progress: false });
    expect(r.steps).toBe(3);
    expect(r.reason).toMatch(/non-finite.*3 consecutive/);
    const m2 = createModel(config);
    const w0 = weights(m2);
    const r2 = await fit(m2, source(8, { corrupt: () => true }), { epochs: 2, nanGuard: { maxConsecutive: 3 }, logEvery: 2, progress: false });
    expect(r2.steps).toBe(4);
    expect(r2.nonFinite.map((e) => e.step)).toEqual([1, 2, 3, 4]);
    expect(weights(m2)).toEqual(w0); // no skipped step changed a weight
    m2.dispose();
  });

  it('early stopping, ReduceLROnPlateau with minLr, warm-up and klWeight schedule', async () => {
    const lrs: number[] = [];
    const checks: number[] = [];
    const r = await fit(model, source(), {
      epochs: 10,
      learningRate: 1e-2,
      warmupSteps: 4,
      klWeight: (s) => s / 100,
      earlyStopping: { patience: 3, minDelta: 1e3 },
      reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e3, minLr: 3e-3 },
      logEvery: 1,
      progress: false,
      callbacks: [
        {
          onStepEnd: (s) => {
            lrs.push(s.lr);
            const v = s.values!;
            checks.push(Math.abs(v.loss - (v.terms.reconstruction + s.klWeight! * v.terms.kl)));
          },
        },
      ],
    });
    expect(lrs.slice(0, 5).map((v) => +v.toFixed(6))).toEqual([0.0025, 0.005, 0.0075, 0.01, 0.01]);
    expect(Math.max(...checks)).toBeLessThan(1e-4);
    // Improvement by more than 1e3 never happens after epoch 1: stop after 1 + 3 epochs.
    expect(r.epochs).toBe(4);
    expect(r.stoppedEarly).toBe(true);
    expect(r.reason).toMatch(/early stopping: loss did not improve/);
    expect(r.history.map((h) => +h.lr.toFixed(6))).toEqual([0.01, 0.005, 0.003, 0.003]);
  });

  it('accepts an Optimizer instance and leaves it to the caller', async () => {
    const opt = new Sgd(0.1, 0.5);
    const r = await fit(model, source(), { optimizer: opt, maxSteps: 3, progress: false });
    expect(r.steps).toBe(3);
    expect(opt.iterations).toBe(3);
    expect(opt.learningRate).toBe(1e-3); // fit sets the scheduled rate (default 1e-3) every step
    expect(opt.stateVariables()).toHaveLength(model.parameters().length);
    opt.dispose();
  });

  it('clips the global gradient norm', async () => {
    const beforeW = model.parameters().map((p) => p.dataSync().slice());
    let norm = 0;
    await fit(model, source(), { optimizer: 'sgd', learningRate: 1, clipNorm: 0.01, maxSteps: 1, progress: false, callbacks: [{ onStepEnd: (s) => void (norm = s.values!.gradNorm) }] });
    expect(norm).toBeGreaterThan(0.01);
    let sq = 0;
    model.parameters().forEach((p, i) => p.dataSync().forEach((v, j) => (sq += (v - beforeW[i][j]) ** 2)));
    expect(Math.sqrt(sq)).toBeCloseTo(0.01, 5);
  });

  it('writes a JSON-lines metrics log and progress lines; stops on abort', async () => {
    const dir = tmp();
    const lines: string[] = [];
    const controller = new AbortController();
    const r = await fit(model, source(), {
      epochs: 3,
      metricsLog: join(dir, 'metrics.jsonl'),
      logEvery: 2,
      progress: false,
      signal: controller.signal,
      callbacks: [progressCallback({ stream: { write: (s: string) => void lines.push(s) } }), { onStepEnd: (s) => void (s.step === 8 && controller.abort()) }],
    });
    expect(r.reason).toBe('aborted');
    expect(r.steps).toBe(8);
    const log = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // A step line at each log point (every 2 steps).
    expect(log.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([2, 4, 6, 8]);
    expect(log.filter((l) => l.type === 'epoch')).toHaveLength(1);
    expect(log.at(-1)).toMatchObject({ type: 'end', steps: 8, reason: 'aborted' });
    expect(log[0]).toMatchObject({ type: 'step', step: 2, epoch: 0, applied: true });
    expect(typeof log[0].terms.kl).toBe('number');
    expect(lines[0]).toMatch(/^epoch 1\/3 {2}step 6 {2}loss [\d.]+ {2}reconstruction/);
    expect(lines.at(-1)).toBe('training stopped: aborted\n');
    // On a terminal the bar redraws in place.
    const tty: string[] = [];
    const m2 = createModel(config);
    await fit(m2, source(), { epochs: 1, progress: false, callbacks: [progressCallback({ stream: { isTTY: true, columns: 100, write: (s: string) => void tty.push(s) } })] });
    m2.dispose();
    expect(tty.some((s) => /^\r\x1b\[2Kepoch 1\/1 \[=*>? *\] \d\/6/.test(s))).toBe(true);
  });

  it('refuses bad options with one ConfigError naming the field', async () => {
    const bad = async (options: unknown, pattern: RegExp, field: string) => {
      const e = await fit(model, source(), options as FitOptions).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(pattern);
      expect((e as ConfigError).message).not.toMatch(/\n/);
      expect((e as ConfigError).field).toBe(field);
    };
    await bad({ epochs: 0 }, /^Invalid fit options: field "epochs" .*got 0/, 'epochs');
    await bad({ optimizer: 'rmsprop' }, /field "optimizer" must be 'adam', 'sgd' or an Optimizer instance; got "rmsprop"/, 'optimizer');
    await bad({ lr: 1 }, /unknown field\(s\) "lr"/, 'lr');
    await bad({ reduceLrOnPlateau: { patience: 1, factor: 2 } }, /field "reduceLrOnPlateau.factor" .*got 2/, 'reduceLrOnPlateau.factor');
    await bad({ logEvery: 0.5 }, /field "logEvery" .*got 0.5/, 'logEvery');
    await bad({ klWeight: -1 }, /field "klWeight" must be a number >= 0 or a \(step\) => number schedule; got -1/, 'klWeight');
    await bad({ beta: 1 }, /field "beta" is now "klWeight"/, 'beta');
    await bad({ checkpoint: { everySteps: 2 } }, /field "checkpoint.dir"/, 'checkpoint.dir');
    await expect(fit(model, {} as never)).rejects.toThrow(/field "train" must be a BatchSource/);
  });

  it('refuses a klWeight for a model without a KL weight, naming klWeight and the variant', async () => {
    const noKl = createModel(config);
    Object.defineProperty(noKl, 'usesKlWeight', { value: false });
    const e = await fit(noKl, source(), { klWeight: 0.5, progress: false }).catch((err: unknown) => err);
    noKl.dispose();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/^Invalid fit options: field "klWeight" is set, but variant "tiny-fit" has no KL term/);
    // The KL weight reaches the loss (and nothing else): loss = reconstruction + klWeight * kl at every step.
    const seen: number[] = [];
    await fit(model, source(), { klWeight: 0.25, maxSteps: 3, logEvery: 1, progress: false, callbacks: [{ onStepEnd: (s) => void seen.push(s.values!.loss - s.values!.terms.reconstruction - 0.25 * s.values!.terms.kl) }] });
    expect(Math.max(...seen.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('reads back from the device at most once per logEvery steps, plus once at an epoch end', async () => {
    const engine = tf.engine() as unknown as Record<'read' | 'readSync', (...a: unknown[]) => unknown>;
    const originals = { read: engine.read, readSync: engine.readSync };
    let reads = 0;
    for (const k of ['read', 'readSync'] as const) {
      engine[k] = function (this: unknown, ...a: unknown[]) {
        reads += 1;
        return originals[k].apply(this, a);
      };
    }
    const readsAtStep: number[] = [];
    const logged: number[] = [];
    let r: Awaited<ReturnType<typeof fit>>;
    try {
      // 6 batches per epoch; logEvery 4: log points at steps 4, 6 (epoch end), 8, 12 (both), 16, 18, 20, 24.
      r = await fit(model, source(), {
        epochs: 4,
        logEvery: 4,
        clipNorm: 1,
        progress: false,
        callbacks: [
          {
            onStepEnd: (s) => {
              readsAtStep.push(reads);
              if (s.values) logged.push(s.step);
            },
          },
        ],
      });
    } finally {
      Object.assign(engine, originals);
    }
    expect(r.steps).toBe(24);
    expect(logged).toEqual([4, 6, 8, 12, 16, 18, 20, 24]);
    // Reads happen only at those steps, one each: none in the steps between.
    const increments = readsAtStep.map((n, i) => n - (i === 0 ? 0 : readsAtStep[i - 1]));
    expect(increments.flatMap((d, i) => (d > 0 ? [i + 1] : []))).toEqual(logged);
    expect(Math.max(...increments)).toBe(1);
    expect(reads).toBeLessThanOrEqual(Math.ceil(24 / 4) + 4);
    // The epoch averages are still over every step.
    expect(Object.keys(r.history[3].train)).toEqual(expect.arrayContaining(['kl', 'loss', 'reconstruction']));
  });
});
