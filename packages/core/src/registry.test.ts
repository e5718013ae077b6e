import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './tfjs-setup';
import { type BaseModelConfig, type GenerativeModel, interpolateLatents } from './model';
import { ConfigError, configFields, createModel, listVariants, registerVariant, unregisterVariant, validateConfig } from './registry';
import { z } from 'zod';

const schema = z
  .object({
    variant: z.literal('toy'),
    seed: configFields.seed(),
    latentDim: configFields.positiveInt(),
    architecture: z.enum(['mlp', 'conv']),
    hiddenDims: z.array(configFields.positiveInt()).min(1).default([8]),
    beta: configFields.beta(),
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
    expect(created).toEqual({ variant: 'toy', seed: 0, latentDim: 4, architecture: 'mlp', hiddenDims: [8], beta: 1 });
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
