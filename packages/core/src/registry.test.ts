import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './tfjs-setup';
import { type BaseModelConfig, type GenerativeModel, interpolateLatents, withModelDraws } from './model';
import { Rng } from './rng';
import { InputError } from './errors';
import { baseModelConfigSchema, refineBaseConfig } from './model-config';
import { klWeightSchedule } from './objective/kl-weight';
import { ConfigError, RENAMED_FIELDS, configFields, createModel, listVariants, registerVariant, unregisterVariant, validateConfig, withRenamedFields } from './registry';
import { z } from 'zod';

const schema = z
  .object({
    variant: z.literal('toy'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    architecture: z.enum(['mlp', 'conv']),
    hiddenDims: z.array(configFields.positiveInt()).min(1).default([8]),
    klWeight: configFields.weight(1),
  })
  .strict();
type ToyConfig = z.infer<typeof schema> & BaseModelConfig;

let created: ToyConfig | undefined;
beforeAll(() => {
  registerVariant<ToyConfig>('toy', {
    schema: schema as unknown as z.ZodType<ToyConfig>,
    create: (c) => {
      created = c;
      return { variant: 'toy', config: c } as unknown as GenerativeModel;
    },
  });
});
afterAll(() => unregisterVariant('toy'));

describe('registry', () => {
  it('builds a registered variant and fills defaults', () => {
    createModel({ variant: 'toy', latentDim: 4, architecture: 'mlp' });
    expect(created).toEqual({ variant: 'toy', seed: 0, latentDim: 4, architecture: 'mlp', hiddenDims: [8], klWeight: 1 });
    expect(listVariants()).toContain('toy');
  });

  const bad: Array<[unknown, RegExp]> = [
    [{ variant: 'nope', latentDim: 2 }, /field "variant" is "nope", which is not registered \(registered: .*toy/],
    [{ latentDim: 2 }, /field "variant" must be a string/],
    [{ variant: 'toy', architecture: 'mlp' }, /field "latentDim".*missing/],
    [{ variant: 'toy', latentDim: -3, architecture: 'mlp' }, /field "latentDim".*got -3/],
    [{ variant: 'toy', latentDim: 2.5, architecture: 'mlp' }, /field "latentDim".*got 2.5/],
    [{ variant: 'toy', latentDim: 2, architecture: 'transformer' }, /field "architecture" must be one of "mlp", "conv"; got "transformer"/],
    [{ variant: 'toy', latentDim: 2, architecture: 'mlp', hiddenDims: [8, 'x'] }, /field "hiddenDims.1"/],
    [{ variant: 'toy', latentDim: '2', architecture: 'mlp' }, /field "latentDim".*got "2"/],
    [{ variant: 'toy', latentDim: 2, architecture: 'mlp', latentdim: 3 }, /unknown field\(s\) "latentdim"/],
    [null, /expected an object/],
  ];
  it.each(bad)('rejects %j with a clear error', (config, message) => {
    let error: unknown;
    try {
      createModel(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
  });

  it('validateConfig names the field', () => {
    expect(() => validateConfig(schema, { variant: 'toy', latentDim: 0, architecture: 'mlp' })).toThrow(ConfigError);
    try {
      validateConfig(schema, { variant: 'toy', latentDim: 0, architecture: 'mlp' });
    } catch (e) {
      expect((e as ConfigError).field).toBe('latentDim');
    }
  });
});

// A variant on the base schema, as a variant package writes it.
const based = withRenamedFields(
  baseModelConfigSchema
    .extend({ variant: z.literal('based'), tcWeight: configFields.weight(1) })
    .strict()
    .superRefine(refineBaseConfig),
  { beta: { to: 'tcWeight', hint: 'the total-correlation weight' } },
);

describe('base config schema and renamed fields', () => {
  it('fills the base defaults', () => {
    expect(validateConfig(based, { variant: 'based', inputShape: [6], latentDim: 2 })).toEqual({
      variant: 'based',
      seed: 0,
      inputShape: [6],
      architecture: 'mlp',
      latentDim: 2,
      hiddenDims: [400, 400],
      convChannels: [32, 64],
      batchNorm: true,
      likelihood: 'bernoulli',
      likelihoodScale: 0,
      klWeight: 1,
      tcWeight: 1,
    });
  });

  const cfg = { variant: 'based', inputShape: [6], latentDim: 2 };
  // One case per old name: the error names the field that replaced it, in one line.
  const renamed: Array<[string, unknown, string]> = [
    ['betaSchedule', { type: 'linear', annealSteps: 10 }, 'klWeight'],
    ['klWarmupSteps', 100, 'klWeight'],
    ['hiddenDim', 400, 'hiddenDims'],
    ['mlpLayers', 2, 'hiddenDims'],
    ['likelihoodOptions', { logScale: 0 }, 'likelihoodScale'],
    ['inputDim', 6, 'inputShape'],
    ['inChannels', 1, 'inputShape'],
    ['imageSize', 28, 'inputShape'],
    ['beta', 6, 'tcWeight'],
  ];
  it.each(renamed)('an old field %s fails naming the new one', (old, value, now) => {
    let error: unknown;
    try {
      validateConfig(based, { ...cfg, [old]: value }, 'based config');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(old);
    const message = (error as Error).message;
    expect(message).toContain(`field "${old}" was renamed: use "${now}"`);
    expect(message).not.toContain('\n');
  });

  it('every common old name is covered above or by the variant override', () => {
    for (const old of Object.keys(RENAMED_FIELDS)) if (old !== 'hiddenDims') expect(renamed.map((r) => r[0])).toContain(old);
  });

  it('the common beta means klWeight for a variant that does not rename it', () => {
    const plain = withRenamedFields(baseModelConfigSchema.extend({ variant: z.literal('plain') }).strict());
    expect(() => validateConfig(plain, { variant: 'plain', inputShape: [6], latentDim: 2, beta: 4 })).toThrow(/field "beta" was renamed: use "klWeight"/);
    expect(() => validateConfig(plain, { variant: 'plain', inputShape: [6], latentDim: 2, beta: 4, klWeight: 4 })).toThrow(/field "beta" was renamed: use "klWeight"/);
  });

  it('hiddenDims on a conv network fails naming convChannels; on an MLP it is the widths', () => {
    expect(() => validateConfig(based, { ...cfg, inputShape: [8, 8, 1], architecture: 'conv', hiddenDims: [32, 64] })).toThrow(
      /field "hiddenDims" was renamed: use "convChannels"/,
    );
    expect(validateConfig(based, { ...cfg, hiddenDims: [16] }).hiddenDims).toEqual([16]);
    const conv = validateConfig(based, { ...cfg, inputShape: [8, 8, 1], architecture: 'conv', convChannels: [4] });
    expect(conv.convChannels).toEqual([4]);
    // A validated config (as a checkpoint stores it) carries both lists and validates again.
    expect(validateConfig(based, conv)).toEqual(conv);
  });

  it('bad widths, shapes and KL weights name the field', () => {
    expect(() => validateConfig(based, { ...cfg, hiddenDims: [] })).toThrow(/field "hiddenDims"/);
    expect(() => validateConfig(based, { ...cfg, hiddenDims: [16, 0] })).toThrow(/field "hiddenDims.1"/);
    expect(() => validateConfig(based, { ...cfg, hiddenDims: 400 })).toThrow(/field "hiddenDims"/);
    expect(() => validateConfig(based, { ...cfg, architecture: 'conv', convChannels: [4] })).toThrow(/field "inputShape" must be \[height, width, channels\]/);
    expect(() => validateConfig(based, { ...cfg, klWeight: -1 })).toThrow(/field "klWeight"/);
    expect(() => validateConfig(based, { ...cfg, klWeight: { type: 'linear' } })).toThrow(/field "klWeight/);
    expect(validateConfig(based, { ...cfg, klWeight: { type: 'linear', annealSteps: 10 } }).klWeight).toEqual({ type: 'linear', annealSteps: 10, weight: 1 });
  });

  it('klWeightSchedule turns a number or a schedule description into a schedule', () => {
    expect(klWeightSchedule(0.5)(123)).toBe(0.5);
    expect(klWeightSchedule({ type: 'linear', annealSteps: 1000, weight: 4 })(500)).toBe(2);
    expect(klWeightSchedule({ type: 'constant', weight: 3 })(7)).toBe(3);
    expect(klWeightSchedule({ type: 'cyclical', period: 100 })(125)).toBe(0.5);
    expect(klWeightSchedule({ type: 'sigmoid', midpoint: 1000 })(1000)).toBe(0.5);
    expect(() => klWeightSchedule({ type: 'linear', annealSteps: 0 } as never)).toThrow(ConfigError);
    expect(() => klWeightSchedule({ type: 'linear', annealSteps: 0 } as never)).toThrow(/klWeight\.annealSteps/);
  });
});

describe('interpolateLatents', () => {
  it('linear hits both ends; spherical keeps the norm between equal-norm ends', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const a = tf.tensor2d([[1, 0]]);
      const b = tf.tensor2d([[0, 1]]);
      const lin = interpolateLatents(a, b, 3).arraySync();
      expect(lin).toEqual([[1, 0], [0.5, 0.5], [0, 1]]);
      const sph = interpolateLatents(a, b, 5, 'spherical').arraySync();
      for (const row of sph) expect(Math.abs(Math.hypot(...row) - 1)).toBeLessThan(1e-5);
      expect(() => interpolateLatents(a, b, 1)).toThrow(/steps/);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('withModelDraws', () => {
  const modelWith = (rng: Rng) => ({ rng }) as unknown as GenerativeModel;

  it('draws the given stream whatever state the model was in, and puts the model back', () => {
    const draws = (m: GenerativeModel) => withModelDraws(m, new Rng(7).fork('fid'), () => [m.rng.next(), m.rng.next()]);
    const a = modelWith(new Rng(1));
    const b = modelWith(new Rng(2));
    b.rng.next();
    const before = a.rng.getState();
    expect(draws(a)).toEqual(draws(b));
    expect(a.rng.getState()).toEqual(before);
    const expected = new Rng(7).fork('fid');
    expect(draws(a)).toEqual([expected.next(), expected.next()]);
  });

  it('puts the model back when fn throws and when its promise settles', async () => {
    const m = modelWith(new Rng(3));
    const before = m.rng.getState();
    expect(() => withModelDraws(m, new Rng(9), () => { m.rng.next(); throw new Error('boom'); })).toThrow('boom');
    expect(m.rng.getState()).toEqual(before);
    const value = await withModelDraws(m, new Rng(9), async () => {
      await Promise.resolve();
      return m.rng.next();
    });
    expect(value).toBe(new Rng(9).next());
    expect(m.rng.getState()).toEqual(before);
    await expect(withModelDraws(m, new Rng(9), async () => { m.rng.next(); throw new Error('late'); })).rejects.toThrow('late');
    expect(m.rng.getState()).toEqual(before);
  });
});
