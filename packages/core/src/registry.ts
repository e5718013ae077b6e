import { z } from 'zod';
import type { BaseModelConfig, GenerativeModel } from './model';

/** Thrown for an invalid model configuration; the message names the field and what is allowed. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface VariantDefinition<C extends BaseModelConfig = BaseModelConfig> {
  /** A zod schema for the variant's config; defaults are filled in by parsing. */
  schema: z.ZodType<C>;
  /** Build a model from a validated config. */
  create: (config: C) => GenerativeModel;
  /** One-line description for listings. */
  description?: string;
}

const variants = new Map<string, VariantDefinition<any>>();

/**
 * Register a variant under a name (done by each variant package on import).
 * @example registerVariant('vae', { schema: vaeConfigSchema, create: createVae })
 */
export function registerVariant<C extends BaseModelConfig>(name: string, definition: VariantDefinition<C>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`registerVariant: invalid name "${name}" (lowercase letters, digits, -)`);
  variants.set(name, definition);
}

export function unregisterVariant(name: string): void {
  variants.delete(name);
}

/** Names of the registered variants. */
export function listVariants(): string[] {
  return [...variants.keys()].sort();
}

export function getVariant(name: string): VariantDefinition | undefined {
  return variants.get(name);
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): { field: string; message: string } {
  const field = issue.path.map(String).join('.') || '(root)';
  let value: unknown = input;
  for (const p of issue.path) value = value == null ? undefined : (value as Record<PropertyKey, unknown>)[p as PropertyKey];
  const got = value === undefined ? 'nothing (missing)' : JSON.stringify(value);
  let message = issue.message;
  if (issue.code === 'invalid_value' && 'values' in issue) {
    message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'unrecognized_keys') {
    return { field: issue.keys.join(', '), message: `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
  }
  return { field, message: `${message}; got ${got}` };
}

/**
 * Validate a config against a schema, returning it with defaults filled in.
 * Throws a ConfigError naming the first bad field and the allowed values.
 */
export function validateConfig<C>(schema: z.ZodType<C>, config: unknown, what = 'config'): C {
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const { field, message } = describeIssue(result.error.issues[0], config);
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
  throw new ConfigError(`Invalid ${what}: field "${field}" ${message}${more}`, field);
}

/**
 * Build any registered variant from a plain JSON config.
 * @example createModel({ variant: 'vae', architecture: 'mlp', inputDim: 784, hiddenDim: 400, latentDim: 20, beta: 1 })
 */
export function createModel(config: unknown): GenerativeModel {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(`Invalid config: expected an object with a "variant" field, got ${JSON.stringify(config)}`, 'variant');
  }
  const variant = (config as { variant?: unknown }).variant;
  const known = listVariants();
  if (typeof variant !== 'string') {
    throw new ConfigError(
      `Invalid config: field "variant" must be a string naming a registered variant (${known.join(', ') || 'none registered: import a variant package such as @elbo/vae'}); got ${JSON.stringify(variant)}`,
      'variant',
    );
  }
  const def = variants.get(variant);
  if (!def) {
    throw new ConfigError(
      `Invalid config: field "variant" is "${variant}", which is not registered (registered: ${known.join(', ') || 'none; import a variant package such as @elbo/vae'})`,
      'variant',
    );
  }
  return def.create(validateConfig(def.schema, config, `${variant} config`));
}

/** Reusable zod pieces for variant configs. */
export const configFields = {
  positiveInt: () => z.number().int().positive(),
  seed: () => z.number().int().nonnegative().default(0),
  beta: () => z.number().nonnegative().default(1),
};
