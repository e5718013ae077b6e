import { z } from 'zod';
import { InputError, type InputErrorDetails } from './errors';
import type { BaseModelConfig, GenerativeModel } from './model';
import type { VariantBench } from './variant-bench';

/**
 * Thrown for an invalid model configuration; the message names the field and what is allowed.
 * @param fieldOrDetails the bad field (e.g. "latentDim" or "klWeight.annealSteps"), or `{ field, file }`
 */
export class ConfigError extends InputError {
  constructor(message: string, fieldOrDetails?: string | InputErrorDetails) {
    super(message, typeof fieldOrDetails === 'string' ? { field: fieldOrDetails } : fieldOrDetails);
    this.name = 'ConfigError';
  }
}

/** A config field that was renamed: the field that replaced it and, optionally, how to write it. */
export interface RenamedField {
  /** The field to use instead. */
  to: string;
  /** What to write there, e.g. 'a list of MLP widths such as [400, 400]'. */
  hint?: string;
  /** Only when this holds for the raw config (e.g. hiddenDims only for conv networks). */
  when?: (config: Record<string, unknown>) => boolean;
}

/**
 * Old model-config field names every variant rejects, with the field that
 * replaced each. `validateConfig` checks them before the schema, so an old
 * config fails with one line naming the new field instead of "unknown field".
 */
export const RENAMED_FIELDS: Readonly<Record<string, RenamedField>> = {
  beta: { to: 'klWeight', hint: 'a number, or a schedule such as { "type": "linear", "annealSteps": 1000, "weight": 1 }' },
  betaSchedule: { to: 'klWeight', hint: 'a schedule such as { "type": "linear", "annealSteps": 1000, "weight": 1 } (its "weight" is the old beta)' },
  klWarmupSteps: { to: 'klWeight', hint: '{ "type": "linear", "annealSteps": <steps> }' },
  hiddenDim: { to: 'hiddenDims', hint: 'the list of MLP widths, e.g. [400, 400] for two layers of 400' },
  mlpLayers: { to: 'hiddenDims', hint: 'the list of MLP widths, one entry per layer, e.g. [400, 400]' },
  likelihoodOptions: { to: 'likelihoodScale', hint: "a fixed log-scale (number) or 'learned'" },
  inputDim: { to: 'inputShape', hint: '[d] for flat data' },
  inChannels: { to: 'inputShape', hint: '[height, width, channels] for images' },
  imageSize: { to: 'inputShape', hint: '[height, width, channels] for images' },
  // hiddenDims once meant conv channels; now it lists MLP widths, which conv and resnet networks do not have.
  hiddenDims: {
    to: 'convChannels',
    hint: "conv channels per stage, e.g. [32, 64]; hiddenDims lists MLP widths, which architecture 'conv' and 'resnet' do not use",
    // A validated config (e.g. a checkpoint's) carries both lists, the MLP widths at their default.
    when: (c) => (c.architecture === 'conv' || c.architecture === 'resnet') && !Object.hasOwn(c, 'convChannels'),
  },
};

/** Renamed fields per config schema (the common ones plus a variant's own). */
const renamedBySchema = new WeakMap<object, Record<string, RenamedField>>();

/**
 * Mark `schema` as a model config schema whose old field names fail with a
 * ConfigError naming the new field: the common RENAMED_FIELDS plus the
 * variant's own (a string is the new field's name; `null` lifts a common one,
 * for a variant that gives the old name a meaning of its own). Returns the
 * schema, so `createX` and `createModel` validate with the same object.
 *
 * @example
 * export const tcvaeConfigSchema = withRenamedFields(schema, { beta: { to: 'tcWeight', hint: 'the total-correlation weight' } });
 */
export function withRenamedFields<S extends object>(schema: S, own: Record<string, RenamedField | string | null> = {}): S {
  const map: Record<string, RenamedField> = { ...RENAMED_FIELDS };
  for (const [from, to] of Object.entries(own)) {
    if (to === null) delete map[from];
    else map[from] = typeof to === 'string' ? { to } : to;
  }
  renamedBySchema.set(schema, map);
  return schema;
}

/** The renamed fields `validateConfig` checks for a schema (empty for a schema never marked). */
export function renamedFieldsOf(schema: object): Readonly<Record<string, RenamedField>> {
  return renamedBySchema.get(schema) ?? {};
}

/** One line for an old field name found in a config, or undefined. */
function renamedFieldProblem(schema: object, config: unknown): { field: string; message: string } | undefined {
  const renamed = renamedBySchema.get(schema);
  if (!renamed || config === null || typeof config !== 'object' || Array.isArray(config)) return undefined;
  const c = config as Record<string, unknown>;
  for (const [from, r] of Object.entries(renamed)) {
    if (!Object.hasOwn(c, from) || (r.when && !r.when(c))) continue;
    return { field: from, message: `was renamed: use "${r.to}"${r.hint ? ` (${r.hint})` : ''}` };
  }
  return undefined;
}

export interface VariantDefinition<C extends BaseModelConfig = BaseModelConfig> {
  /**
   * A zod schema for the variant's config; defaults are filled in by parsing.
   * Extend `baseModelConfigSchema` and mark it with `withRenamedFields` so
   * old field names fail naming the new ones.
   */
  schema: z.ZodType<C>;
  /** Build a model from a validated config. */
  create: (config: C) => GenerativeModel;
  /** What a bench needs to train, evaluate and picture the variant beyond the generic path (all optional). */
  bench?: VariantBench<any>;
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
 * Throws a ConfigError naming the first bad field and the allowed values; an
 * old field name (see `withRenamedFields`) fails naming the field that replaced it.
 */
export function validateConfig<C>(schema: z.ZodType<C>, config: unknown, what = 'config'): C {
  const renamed = renamedFieldProblem(schema, config);
  if (renamed) throw new ConfigError(`Invalid ${what}: field "${renamed.field}" ${renamed.message}`, renamed.field);
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const { field, message } = describeIssue(result.error.issues[0], config);
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
  throw new ConfigError(`Invalid ${what}: field "${field}" ${message}${more}`, field);
}

/**
 * Build any registered variant from a plain JSON config.
 * @example createModel({ variant: 'vae', inputShape: [784], hiddenDims: [400], latentDim: 20, klWeight: 1 })
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

/** Reusable zod pieces for variant configs (see also `baseModelConfigSchema`). */
export const configFields = {
  positiveInt: () => z.number().int().positive(),
  seed: () => z.number().int().nonnegative().default(0),
  /** A list of layer widths or channels: positive integers, at least one. */
  widths: () => z.array(z.number().int().positive()).min(1),
  /** A non-negative weight of a loss term, with its default. */
  weight: (defaultValue: number) => z.number().nonnegative().default(defaultValue),
};
