#!/usr/bin/env node
/**
 * `pnpm create-variant <name> [--dir packages] [--description "..."]`
 *
 * Writes packages/<name>: a working plain-VAE skeleton of a new variant that
 * builds and passes its tests untouched (package.json with the exports map,
 * peer deps and sideEffects; tsup / vitest / tsconfig; a config schema that
 * extends core's base model config, a model built from @elbo/core's blocks
 * whose loss goes through core's objective, the registration in index.ts with an empty bench-hooks object (bench.ts), the
 * shared conformance test) and a changeset.
 * Then: `pnpm install` (links the new workspace package) and edit the model.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = /^[a-z][a-z0-9-]*$/;

/** 'beta-tc' -> 'BetaTc' */
export function pascalCase(name) {
  return name
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** 'beta-tc' -> 'betaTc' */
export function camelCase(name) {
  const p = pascalCase(name);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/**
 * The files of a new variant package, as { relativePath: contents }, relative
 * to the repository root.
 * @param name variant and package name (lowercase letters, digits, '-'; registered as `name`, published as `@elbo/<name>`)
 */
export function variantFiles(name, { dir = 'packages', description } = {}) {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`create-variant: name must be lowercase letters, digits and '-', starting with a letter (e.g. 'tcvae'); got ${JSON.stringify(name)}`);
  }
  const Pascal = pascalCase(name);
  const camel = camelCase(name);
  const pkg = `@elbo/${name}`;
  const desc = description ?? `The ${name} variant for elbo, registered as variant '${name}'.`;
  const base = `${dir}/${name}`;
  const packageJson = {
    name: pkg,
    version: '0.0.0',
    description: desc,
    license: 'Apache-2.0',
    type: 'module',
    // elbo-bench imports every installed package that declares this (and so finds the new variant).
    elbo: { variant: true },
    sideEffects: ['./dist/index.js', './dist/index.cjs', './src/index.ts'],
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': {
        import: { types: './dist/index.d.ts', default: './dist/index.js' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
      './base': {
        import: { types: './dist/base.d.ts', default: './dist/base.js' },
        require: { types: './dist/base.d.cts', default: './dist/base.cjs' },
      },
      './package.json': './package.json',
    },
    files: ['dist', 'src', '!src/**/*.test.ts'],
    engines: { node: '>=20' },
    scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc --noEmit -p .' },
    peerDependencies: { '@tensorflow/tfjs-core': '4.22.0' },
    dependencies: { '@elbo/core': 'workspace:*', '@elbo/losses': 'workspace:*' },
    devDependencies: { '@tensorflow/tfjs-core': '4.22.0' },
  };

  const files = {};
  files[`${base}/package.json`] = `${JSON.stringify(packageJson, null, 2)}\n`;
  files[`${base}/tsconfig.json`] = `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "noEmit": true },
  "include": ["src", "tsup.config.ts", "vitest.config.ts"]
}
`;
  files[`${base}/tsup.config.ts`] = `import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

export default defineConfig(packageOptions({ index: 'src/index.ts', base: 'src/base.ts' }));
`;
  files[`${base}/vitest.config.ts`] = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
`;
  files[`${base}/src/config.ts`] = `import { baseModelConfigSchema, refineBaseConfig, withRenamedFields, z } from '@elbo/core';

/**
 * Config of the ${name} variant, as plain JSON: core's base model config
 * (inputShape, architecture, latentDim, hiddenDims = MLP widths, convChannels,
 * batchNorm, activation, likelihood, likelihoodScale, klWeight, seed) plus the
 * variant's own fields. createModel and create${Pascal} validate with this
 * schema; the error names the bad field, and old names (beta, hiddenDim, ...)
 * name the field that replaced them.
 *
 * @example
 * { variant: '${name}', inputShape: [784], hiddenDims: [256], latentDim: 10 }
 */
export const ${camel}ConfigSchema = withRenamedFields(
  baseModelConfigSchema
    .extend({
      variant: z.literal('${name}'),
      // The variant's own fields go here, e.g. a weight: configFields.weight(1).
    })
    .strict()
    .superRefine(refineBaseConfig),
);

export type ${Pascal}ConfigInput = z.input<typeof ${camel}ConfigSchema>;
export type ${Pascal}Config = z.output<typeof ${camel}ConfigSchema>;
`;
  files[`${base}/src/${name}.ts`] = `import {
  type Batch,
  type BaseModelConfig,
  buildEncoderDecoder,
  LatentVariableModel,
  type LossContext,
  type LossOutput,
  Rng,
  StandardNormalPrior,
  validateConfig,
} from '@elbo/core';
import { type ${Pascal}Config, type ${Pascal}ConfigInput, ${camel}ConfigSchema } from './config';

/**
 * The ${name} variant. The scaffold starts it as a plain VAE (MLP, conv or
 * resnet networks from @elbo/core, loss = -ELBO through core's objective):
 * replace the loss (and the networks) with the variant's own, stated through
 * \`elboObjective\` (see @elbo/losses).
 */
export class ${Pascal} extends LatentVariableModel {
  readonly variant = '${name}';
  /** The loss has a KL term that LossContext.klWeight (fit's klWeight option) scales. */
  readonly usesKlWeight = true;
  declare readonly config: ${Pascal}Config & BaseModelConfig;

  constructor(config: ${Pascal}Config) {
    const rng = new Rng(config.seed);
    const init = rng.fork('init');
    const { encoder, decoder } = buildEncoderDecoder(config, init);
    // Noise draws get their own stream, so initialisation does not depend on how much was sampled.
    super(config as ${Pascal}Config & BaseModelConfig, config.inputShape, encoder, decoder, new StandardNormalPrior([config.latentDim]), rng.fork('noise'));
  }

  /**
   * -ELBO for a batch in nats per example: reconstruction + klWeight * kl,
   * with terms reconstruction, kl, elbo and klWeight (the weight used).
   * @param batch.x [batch, ...inputShape]
   */
  loss(batch: Batch, context: LossContext = {}): LossOutput {
    return this.elbo(batch, { klWeight: this.klWeightFor(context), step: context.step });
  }
}

/**
 * Build a ${name} model from a plain config, validated with the schema createModel uses (defaults filled in).
 * @example
 * const model = create${Pascal}({ inputShape: [784], hiddenDims: [256], latentDim: 10 });
 */
export function create${Pascal}(config: Omit<${Pascal}ConfigInput, 'variant'> & { variant?: '${name}' }): ${Pascal} {
  return new ${Pascal}(validateConfig(${camel}ConfigSchema, { variant: '${name}', ...config }, '${name} config'));
}
`;
  files[`${base}/src/base.ts`] = `/** Pure exports of ${pkg} (no side effects); \`index.ts\` also registers the variant. */
export * from './config';
export * from './${name}';
`;
  files[`${base}/src/bench.ts`] = `import type { VariantBench } from '@elbo/core';
import type { ${Pascal} } from './${name}';

/**
 * What a bench (elbo-bench) needs of ${name} beyond its schema and factory: a default MNIST config,
 * fields that depend on the data, training phases, extra metrics and pictures (see VariantBench in
 * @elbo/core). Every hook is optional; with none the bench trains, evaluates and pictures the model
 * through its generic path.
 */
export const ${camel}Bench: VariantBench<${Pascal}> = {};
`;
  files[`${base}/src/index.ts`] = `import { type GenerativeModel, registerVariant } from '@elbo/core';
import { ${camel}Bench } from './bench';
import { ${camel}ConfigSchema } from './config';
import { ${Pascal} } from './${name}';

export * from './base';

registerVariant('${name}', {
  bench: ${camel}Bench,
  schema: ${camel}ConfigSchema as never,
  create: (config) => new ${Pascal}(config as never) as GenerativeModel,
  description: ${JSON.stringify(desc)},
});
`;
  files[`${base}/src/conformance.test.ts`] = `import { createModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite: builds, shapes, named finite loss terms, the KL weight, learning,
// save/load, seeds, bad configs and old field names, leaks.
describeVariant(
  '${name}',
  createModel,
  [{ label: 'small mlp', config: { variant: '${name}', seed: 1, inputShape: [12], hiddenDims: [16], latentDim: 3 } }],
  {
    expectedTerms: ['reconstruction', 'kl', 'elbo', 'klWeight'],
    badConfigs: [
      { config: { variant: '${name}', inputShape: [12], latentDim: 0 }, message: /field "latentDim"/ },
      { config: { variant: '${name}', latentDim: 2 }, message: /field "inputShape"/ },
      { config: { variant: '${name}', inputShape: [12], latentDim: 2, likelihood: 'poisson' }, message: /field "likelihood" must be one of/ },
    ],
  },
);
`;
  files[`.changeset/${name}.md`] = `---
"${pkg}": minor
---

${pkg}: new variant '${name}' (${desc})
`;
  return files;
}

/** Write the files under `root`; refuses to overwrite an existing package. */
export function createVariant(name, { root = ROOT, dir = 'packages', description, log = console.log } = {}) {
  const files = variantFiles(name, { dir, description });
  const pkgDir = join(root, dir, name);
  if (existsSync(pkgDir)) throw new Error(`create-variant: ${pkgDir} already exists; pick another name or remove it`);
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  log(`created ${dir}/${name} (@elbo/${name}) and .changeset/${name}.md
next: pnpm install && NX_DAEMON=false pnpm nx run @elbo/${name}:test`);
  return Object.keys(files);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opts = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir') opts.dir = args[++i];
    else if (args[i] === '--description') opts.description = args[++i];
    else if (args[i] === '--help' || args[i] === '-h') {
      console.log('usage: pnpm create-variant <name> [--dir packages] [--description "one line"]');
      process.exit(0);
    } else positional.push(args[i]);
  }
  if (positional.length !== 1) {
    console.error('usage: pnpm create-variant <name> [--dir packages] [--description "one line"]');
    process.exit(2);
  }
  try {
    createVariant(positional[0], opts);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
