import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// The package's main entry, by name: the registry, ConfigError and the io are the ones the variant registered with.
import { type Batch, ConfigError, type GenerativeModel, getVariant, loadModel, renamedFieldsOf, Rng, type SampleOptions, saveModel } from '@elbo/core';

/**
 * The variant conformance kit: one shared suite every variant package runs
 * (in the spirit of pythae's shared model tests), so "a variant" means the
 * same thing everywhere: it builds from a plain config, encodes / decodes /
 * samples with the right shapes, has a finite loss made of named scalar
 * terms, lets a context `klWeight` scale its KL term (or declares it has
 * none), learns on a fixed batch, saves and loads to identical outputs, is
 * reproducible from its seed, rejects bad configs, bad widths and old field
 * names with a ConfigError and leaks no tensors.
 */

/** A config to run the suite on, with a label for the test names. */
export interface VariantConfigCase {
  /** Shown in the test names, e.g. 'mlp' or 'conv'. */
  label: string;
  /** A plain JSON config (with `variant`); keep it small so the suite runs in seconds. */
  config: Record<string, unknown>;
}

/** A config the variant must reject. */
export interface BadConfigCase {
  /** The plain config, passed to the factory as is. */
  config: unknown;
  /** What the ConfigError's message must match (e.g. /field "latentDim"/). */
  message?: RegExp | string;
}

export interface DescribeVariantOptions {
  /** Configs the factory must reject with a ConfigError. */
  badConfigs?: BadConfigCase[];
  /** A fixed, seeded batch for the model (default: `batchSize` uniform [0, 1] inputs of `model.inputShape`). */
  makeBatch?: (model: GenerativeModel, rng: Rng) => Batch;
  /** Examples in the default batch (default 8). */
  batchSize?: number;
  /** Options for `model.sample(n, options)`, e.g. a condition for conditional models. */
  sampleOptions?: (model: GenerativeModel, n: number, rng: Rng) => SampleOptions;
  /**
   * The latent code of a batch as one tensor (default `model.encode(x, condition).mean()`),
   * e.g. `model.encode(x).indices` for a discrete model.
   */
  encodeLatent?: (model: GenerativeModel, batch: Batch) => tf.Tensor;
  /** The expected shape of one example's latent code (default `[config.latentDim]`). */
  latentShape?: (model: GenerativeModel) => number[];
  /** Decode a latent code to the likelihood mean (default `model.decode(z, condition).mean()`). */
  decodeLatent?: (model: GenerativeModel, z: tf.Tensor, batch: Batch) => tf.Tensor;
  /** Term names `loss().terms` must contain (besides being finite scalars). */
  expectedTerms?: string[];
  /** Adam steps on the fixed batch, and the learning rate (defaults 15 and 3e-3). */
  trainSteps?: number;
  learningRate?: number;
  /**
   * Whether the loss is exactly reconstruction + klWeight * kl (terms `reconstruction` and `kl`),
   * checked at klWeight 0 and 1. Default true; false for a variant whose KL enters the loss
   * otherwise (a decomposed KL, free bits), which is still checked to be affine in klWeight.
   */
  lossIsReconstructionPlusKl?: boolean;
  /** List fields whose bad values (an empty list, a zero width) must fail naming the field (default ['hiddenDims', 'convChannels']). */
  widthFields?: string[];
}

function defaultBatch(model: GenerativeModel, rng: Rng, n: number): Batch {
  return { x: tf.randomUniform([n, ...model.inputShape], 0, 1, 'float32', rng.nextSeed()) };
}

function disposeAll(batch: Batch): void {
  tf.dispose([batch.x, batch.y, batch.condition].filter((t): t is tf.Tensor => t !== undefined));
}

function allFinite(t: tf.Tensor): boolean {
  return tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0] === 1);
}

/** Loss value (and its terms) for the batch, with the model's noise stream replayed from `state` when given. */
function lossValues(
  model: GenerativeModel,
  batch: Batch,
  state?: ReturnType<Rng['getState']>,
  context: { step: number; klWeight?: number } = { step: 0 },
): { loss: number; terms: Record<string, number> } {
  if (state) model.rng.setState(state);
  return tf.tidy(() => {
    const out = model.loss(batch, context);
    const terms: Record<string, number> = {};
    for (const [k, v] of Object.entries(out.terms)) terms[k] = v.dataSync()[0];
    return { loss: out.loss.dataSync()[0], terms };
  });
}

/**
 * Register the conformance suite for a variant with vitest. Call it at the
 * top level of a `*.test.ts` file of the variant's package.
 *
 * @param name the registered variant name (e.g. 'vae'); every config's `variant` must be it
 * @param factory builds a model from a plain config; pass `createModel` from '@elbo/core' so the
 *   registry path (validation, defaults) is what is tested
 * @param configs small configs to run every check on (a few seconds each on the cpu backend)
 * @param options batches, sample options and latent accessors for variants that differ
 *
 * @example
 * import { createModel } from '@elbo/core';
 * import { describeVariant } from '@elbo/core/testing';
 * import './index'; // registers 'vae'
 * describeVariant('vae', createModel, [{ label: 'mlp', config: { variant: 'vae', inputShape: [12], hiddenDims: [16], latentDim: 3 } }], {
 *   badConfigs: [{ config: { variant: 'vae', inputDim: 12, latentDim: 0 }, message: /field "latentDim"/ }],
 * });
 */
export function describeVariant(
  name: string,
  factory: (config: Record<string, unknown>) => GenerativeModel,
  configs: VariantConfigCase[],
  options: DescribeVariantOptions = {},
): void {
  if (configs.length === 0) throw new Error(`describeVariant(${name}): give at least one config`);
  const batchSize = options.batchSize ?? 8;
  const steps = options.trainSteps ?? 15;
  const lr = options.learningRate ?? 3e-3;
  const makeBatch = (m: GenerativeModel, seed: number) =>
    options.makeBatch ? options.makeBatch(m, new Rng(seed)) : defaultBatch(m, new Rng(seed), batchSize);
  const encodeLatent = options.encodeLatent ?? ((m: GenerativeModel, b: Batch) => m.encode(b.x, b.condition).mean());
  const decodeLatent = options.decodeLatent ?? ((m: GenerativeModel, z: tf.Tensor, b: Batch) => m.decode(z, b.condition).mean());
  const latentShape = options.latentShape ?? ((m: GenerativeModel) => [m.config.latentDim]);
  const sampleOptions = (m: GenerativeModel, n: number) => options.sampleOptions?.(m, n, new Rng(11)) ?? {};

  /** Build, run `fn`, and always dispose the model. */
  async function withModel<T>(config: Record<string, unknown>, fn: (m: GenerativeModel) => T | Promise<T>): Promise<T> {
    const m = factory(config);
    try {
      return await fn(m);
    } finally {
      m.dispose();
    }
  }

  describe(`variant conformance: ${name}`, () => {
    for (const { label, config } of configs) {
      describe(label, () => {
        it('builds from its config through the factory', async () => {
          expect(config.variant, 'the config names the variant').toBe(name);
          await withModel(config, (m) => {
            expect(m.variant).toBe(name);
            expect(m.config.variant).toBe(name);
            expect(m.parameters().length).toBeGreaterThan(0);
            expect(m.numParameters()).toBeGreaterThan(0);
            // Every trainable parameter has a stable name (what checkpoints use).
            const named = new Set(m.namedVariables().values());
            for (const p of m.parameters()) expect(named.has(p)).toBe(true);
            expect(m.inputShape.length).toBeGreaterThan(0);
          });
        });

        it('encodes, decodes, reconstructs and samples with the right shapes and finite values, leaking nothing', async () => {
          await withModel(config, (m) => {
            m.eval();
            const batch = makeBatch(m, 1);
            const n = batch.x.shape[0];
            const before = tf.memory().numTensors;
            const shapes = tf.tidy(() => {
              const z = encodeLatent(m, batch);
              const xz = decodeLatent(m, z, batch);
              const r = m.reconstruct(batch.x, batch.condition);
              const s = m.sample(3, sampleOptions(m, 3));
              return { z: z.shape, xz: xz.shape, r: r.shape, s: s.shape, finite: [z, xz, r, s].every(allFinite) };
            });
            // Sampling with n = 1 and the 'sample' mode also work.
            const extra = tf.tidy(() => [m.sample(1, sampleOptions(m, 1)).shape, m.sample(2, { ...sampleOptions(m, 2), mode: 'sample' }).shape]);
            const after = tf.memory().numTensors;
            disposeAll(batch);
            expect(shapes.z).toEqual([n, ...latentShape(m)]);
            expect(shapes.xz).toEqual([n, ...m.inputShape]);
            expect(shapes.r).toEqual([n, ...m.inputShape]);
            expect(shapes.s).toEqual([3, ...m.inputShape]);
            expect(extra).toEqual([
              [1, ...m.inputShape],
              [2, ...m.inputShape],
            ]);
            expect(shapes.finite).toBe(true);
            expect(after, 'tensors left by encode/decode/reconstruct/sample').toBe(before);
          });
        });

        it('has a finite scalar loss with named finite scalar terms, leaking nothing', async () => {
          await withModel(config, (m) => {
            const batch = makeBatch(m, 2);
            const before = tf.memory().numTensors;
            const info = tf.tidy(() => {
              const out = m.loss(batch, { step: 0 });
              return {
                lossRank: out.loss.rank,
                loss: out.loss.dataSync()[0],
                terms: Object.entries(out.terms).map(([k, v]) => ({ k, rank: v.rank, value: v.dataSync()[0] })),
              };
            });
            const after = tf.memory().numTensors;
            disposeAll(batch);
            expect(info.lossRank).toBe(0);
            expect(Number.isFinite(info.loss)).toBe(true);
            expect(info.terms.length).toBeGreaterThan(0);
            for (const t of info.terms) {
              expect(t.rank, `term ${t.k} is a scalar`).toBe(0);
              expect(Number.isFinite(t.value), `term ${t.k} = ${t.value} is finite`).toBe(true);
            }
            const names = info.terms.map((t) => t.k);
            for (const want of options.expectedTerms ?? []) expect(names).toContain(want);
            expect(after, 'tensors left by loss').toBe(before);
          });
        });

        it(`lowers the loss on a fixed batch in ${steps} Adam steps, and a train step leaks nothing`, async () => {
          await withModel(config, (m) => {
            m.train(true);
            const batch = makeBatch(m, 3);
            // The loss is stochastic (reparameterised draws): compare it before and after
            // training with the same noise, by replaying the model's random stream.
            const noise = m.rng.getState();
            const first = lossValues(m, batch, noise).loss;
            const opt = tf.train.adam(lr);
            const step = (s: number) => tf.dispose(opt.minimize(() => m.loss(batch, { step: s }).loss, true, m.parameters()) ?? undefined);
            step(0); // the first step creates Adam's slots
            const before = tf.memory().numTensors;
            step(1);
            const afterStep = tf.memory().numTensors;
            for (let s = 2; s < steps; s++) step(s);
            const last = lossValues(m, batch, noise).loss;
            opt.dispose();
            disposeAll(batch);
            expect(afterStep, 'tensors left by a train step').toBe(before);
            expect(Number.isFinite(last)).toBe(true);
            expect(last, `loss ${first} -> ${last}`).toBeLessThan(first);
          });
        });

        it('is reproducible: the same seed gives the same weights, loss and samples', async () => {
          const run = (m: GenerativeModel) =>
            tf.tidy(() => {
              const batch = makeBatch(m, 4);
              const weights = m.parameters().map((p) => Array.from(p.dataSync()));
              const loss = m.loss(batch, { step: 0 }).loss.dataSync()[0];
              const sample = Array.from(m.sample(2, sampleOptions(m, 2)).dataSync());
              disposeAll(batch);
              return { weights, loss, sample };
            });
          const a = await withModel(config, run);
          const b = await withModel(config, run);
          expect(b.weights).toEqual(a.weights);
          expect(b.loss).toBe(a.loss);
          expect(b.sample).toEqual(a.sample);
          const seed = typeof config.seed === 'number' ? config.seed : 0;
          const c = await withModel({ ...config, seed: seed + 1 }, run);
          expect(c.weights, 'another seed gives other weights').not.toEqual(a.weights);
        });

        it('declares usesKlWeight, and a context klWeight scales its KL term (and nothing else)', async () => {
          await withModel(config, (m) => {
            expect(typeof m.usesKlWeight, 'usesKlWeight is a boolean').toBe('boolean');
            m.eval();
            const batch = makeBatch(m, 7);
            const noise = m.rng.getState();
            const [l0, l1, l2] = [0, 1, 2].map((w) => lossValues(m, batch, noise, { step: 0, klWeight: w }));
            disposeAll(batch);
            const tol = (v: number) => 1e-3 * Math.max(1, Math.abs(v));
            if (!m.usesKlWeight) {
              expect(l1.loss, 'a model without a KL weight ignores the context klWeight').toBeCloseTo(l0.loss, 5);
              expect(l2.loss).toBeCloseTo(l0.loss, 5);
              return;
            }
            expect(l0.terms.klWeight, 'terms.klWeight reports the weight used').toBe(0);
            expect(l1.terms.klWeight).toBe(1);
            // The loss is affine in the KL weight: L(2) - L(1) = L(1) - L(0) > 0.
            expect(Math.abs(l2.loss - 2 * l1.loss + l0.loss), `losses ${l0.loss}, ${l1.loss}, ${l2.loss}`).toBeLessThan(tol(l1.loss));
            expect(l1.loss - l0.loss, 'the KL term is positive').toBeGreaterThan(0);
            if (options.lossIsReconstructionPlusKl !== false) {
              expect(Math.abs(l0.loss - l0.terms.reconstruction), 'loss = reconstruction at klWeight 0').toBeLessThan(tol(l0.loss));
              expect(Math.abs(l1.loss - (l1.terms.reconstruction + l1.terms.kl)), 'loss = reconstruction + kl at klWeight 1').toBeLessThan(tol(l1.loss));
            }
          });
        });

        it('saves and loads (saveModel / loadModel) to the same config and identical outputs', async () => {
          const dir = mkdtempSync(join(tmpdir(), `elbo-conformance-${name}-`));
          const m = factory(config);
          const batch = makeBatch(m, 5);
          let loaded: GenerativeModel | undefined;
          try {
            // A couple of steps so the weights are not the seeded init the loader would rebuild anyway.
            const opt = tf.train.adam(lr);
            for (let s = 0; s < 2; s++) tf.dispose(opt.minimize(() => m.loss(batch, { step: s }).loss, true, m.parameters()) ?? undefined);
            opt.dispose();
            m.eval();
            await saveModel(m, dir);
            loaded = await loadModel(dir);
            loaded.eval();
            expect(loaded.variant).toBe(name);
            expect(loaded.config).toEqual(m.config);
            const outputs = (mm: GenerativeModel) =>
              tf.tidy(() => {
                const z = encodeLatent(mm, batch);
                return [Array.from(z.dataSync()), Array.from(mm.reconstruct(batch.x, batch.condition).dataSync()), Array.from(decodeLatent(mm, z, batch).dataSync())];
              });
            expect(outputs(loaded)).toEqual(outputs(m));
            const weights = (mm: GenerativeModel) => new Map([...mm.namedVariables()].map(([k, v]) => [k, Array.from(v.dataSync())]));
            expect(weights(loaded)).toEqual(weights(m));
          } finally {
            disposeAll(batch);
            m.dispose();
            loaded?.dispose();
            rmSync(dir, { recursive: true, force: true });
          }
        });
      });
    }

    if (options.badConfigs && options.badConfigs.length > 0) {
      it.each(options.badConfigs.map((c) => [JSON.stringify(c.config), c] as const))('rejects the bad config %s with a ConfigError', (_, c) => {
        let error: unknown;
        try {
          factory(c.config as Record<string, unknown>).dispose();
        } catch (e) {
          error = e;
        }
        expect(error, 'the factory threw a ConfigError').toBeInstanceOf(ConfigError);
        if (c.message !== undefined) expect((error as Error).message).toMatch(c.message);
      });
    }

    /** The error the factory throws for `config`, or undefined. */
    const failure = (config: Record<string, unknown>): unknown => {
      try {
        factory(config).dispose();
      } catch (e) {
        return e;
      }
      return undefined;
    };

    it('rejects old field names with a ConfigError naming the field that replaced each, in one line', () => {
      const definition = getVariant(name);
      expect(definition, `variant '${name}' is registered`).toBeDefined();
      const renamed = renamedFieldsOf((definition as NonNullable<typeof definition>).schema);
      expect(Object.keys(renamed).length, 'the config schema is marked with withRenamedFields').toBeGreaterThan(0);
      const base = configs[0].config;
      let checked = 0;
      for (const [old, r] of Object.entries(renamed)) {
        const config = { ...base, [old]: base[old] ?? 1 };
        if (r.when && !r.when(config)) continue;
        const error = failure(config);
        expect(error, `"${old}" is rejected`).toBeInstanceOf(ConfigError);
        const message = (error as Error).message;
        expect(message).toContain(`field "${old}" was renamed: use "${r.to}"`);
        expect(message).not.toContain('\n');
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });

    it('rejects bad layer widths with a ConfigError naming the field', () => {
      const base = configs[0].config;
      for (const field of options.widthFields ?? ['hiddenDims', 'convChannels']) {
        for (const bad of [[], [0], [4, -1], [2.5]]) {
          const error = failure({ ...base, [field]: bad });
          expect(error, `${field}: ${JSON.stringify(bad)} is rejected`).toBeInstanceOf(ConfigError);
          expect((error as Error).message).toContain(`"${field}`);
        }
      }
    });

    it('leaks no tensors over build, loss, train step, sampling, evaluation and dispose', async () => {
      const before = tf.memory().numTensors;
      const m = factory(configs[0].config);
      const batch = makeBatch(m, 6);
      const opt = tf.train.adam(lr);
      tf.dispose(opt.minimize(() => m.loss(batch, { step: 0 }).loss, true, m.parameters()) ?? undefined);
      m.eval();
      const opts = sampleOptions(m, 2);
      // No tf.tidy around these calls: a tidy would also free what a leaking method forgot.
      const mid = tf.memory().numTensors;
      tf.dispose(m.loss(batch, { step: 1 }));
      tf.dispose(m.sample(2, opts));
      tf.dispose(m.reconstruct(batch.x, batch.condition));
      if (m.importanceLogWeights) tf.dispose(m.importanceLogWeights(batch.x, 2, batch.condition));
      const leaked = tf.memory().numTensors - mid;
      if (opts.condition) tf.dispose(opts.condition);
      opt.dispose();
      disposeAll(batch);
      m.dispose();
      // Disposing twice is harmless.
      m.dispose();
      expect(leaked, 'tensors left by loss, sample, reconstruct, importanceLogWeights').toBe(0);
      expect(tf.memory().numTensors, 'tensors left after dispose').toBe(before);
    });
  });
}
