import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkModelSize, ConfigError, createModel, getVariant, InputError, listVariants, RENAMED_FIELDS } from '@elbo/core';
import { loadVariants } from './discover';

// Property, for every registered variant: a model config read from a file
// and mutated (wrong types, negative, huge or fractional sizes, unknown and
// renamed fields, deleted fields) either builds a model of that variant or
// throws a ConfigError (an InputError) naming the field; never another
// error, and never a long allocation (a time bound per case; configs over a
// parameter budget are refused by checkModelSize before anything is built).

const runs = Number(process.env.ELBO_FUZZ_RUNS ?? 200);
const caseMs = Number(process.env.ELBO_FUZZ_CASE_MS ?? 10_000);

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, '', 'mlp', 'conv', 'resnet', 'bernoulli', 'gaussian', 'learned', 'relu', -1, 0, 1, 0.5, 2 ** 31, 2 ** 53, 1e308, -1e308, 1e7, 1e9, [], [0], [-1], [1e9], [1e5, 1e5], [28, 28, 1], [3, 3, 3, 3], {}, { type: 'linear', annealSteps: -5 }, { type: 'nope' }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 2 ** 20 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation = { kind: 'set'; key: number; value: unknown } | { kind: 'delete'; key: number } | { kind: 'add'; name: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat(), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('add' as const), name: fc.oneof(fc.constantFrom(...Object.keys(RENAMED_FIELDS), '__proto__', 'constructor'), fc.string({ maxLength: 6 })), value: hostile }),
  },
);

/** A small valid config per variant: the base vocabulary, else a field the variant needs, else its bench config. */
function seedConfig(variant: string): Record<string, unknown> {
  const candidates: Record<string, unknown>[] = [
    { variant, inputShape: [12], latentDim: 3, hiddenDims: [8] },
    { variant, inputShape: [12], latentDim: 3 },
    { variant, inputShape: [12], latentDim: 3, hiddenDims: [8], numClasses: 3 },
  ];
  const hook = getVariant(variant)?.bench?.config;
  if (hook) candidates.push({ ...hook({ seed: 0, epochs: 1, trainCount: 100, batchSize: 8 }), variant });
  const errors: string[] = [];
  for (const c of candidates) {
    // A required field the variant adds (a dataset size, a class count) is filled with a small number.
    for (let tries = 0; tries < 4; tries++) {
      try {
        createModel(c).dispose();
        return c;
      } catch (e) {
        errors.push((e as Error).message);
        const field = (e as ConfigError).field;
        if (!(e instanceof ConfigError) || !field || field in c || !/missing/.test(e.message)) break;
        c[field] = 100;
      }
    }
  }
  throw new Error(`no valid seed config for variant ${variant}: ${errors.join(' | ')}`);
}

function apply(seed: Record<string, unknown>, muts: Mutation[]): Record<string, unknown> {
  // Through JSON, as a config file would arrive.
  const c = JSON.parse(JSON.stringify(seed)) as Record<string, unknown>;
  for (const m of muts) {
    const keys = Object.keys(c);
    if (m.kind === 'add') c[m.name] = m.value;
    else if (keys.length > 0 && m.kind === 'set') c[keys[m.key % keys.length]] = m.value;
    else if (keys.length > 0) delete c[keys[m.key % keys.length]];
  }
  return JSON.parse(JSON.stringify(c) ?? 'null');
}

// Every variant package the bench can find, imported before the tests are collected.
await loadVariants();
const variants = listVariants();

describe('model configs of every registered variant under mutation (fast-check)', () => {
  it('finds registered variants', () => {
    expect(variants.length).toBeGreaterThan(0);
  });

  it.each(variants)(`createModel(%s config): a model of the variant or a ConfigError naming the field (${runs} cases)`, (variant) => {
    const seed = seedConfig(variant);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
        const config = apply(seed, muts);
        const tensors = tf.memory().numTensors;
        const t0 = performance.now();
        try {
          // Oversized configs are refused by checkModelSize (createModel does not call it yet, so it
          // would allocate them); below 2^18 parameters (1 MiB of weights, so 10,000 cases stay light) createModel itself is under test.
          checkModelSize(config, 2 ** 18);
          const model = createModel(config);
          expect(model.variant).toBe(config?.variant);
          model.dispose();
        } catch (e) {
          if (!(e instanceof ConfigError)) throw new Error(`${variant}: expected a ConfigError, got ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
          expect(e).toBeInstanceOf(InputError);
          expect(typeof e.field, `no field in: ${e.message}`).toBe('string');
        }
        const ms = performance.now() - t0;
        expect(ms, `${variant}: createModel took ${ms.toFixed(0)} ms for ${JSON.stringify(config)}`).toBeLessThan(caseMs);
        expect(tf.memory().numTensors).toBe(tensors);
      }),
      { numRuns: runs },
    );
  });
});
