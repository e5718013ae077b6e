import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, fit, Rng } from '@elbo/core';
import { ArrayBatchSource, DSprites } from '@elbo/datasets';
import { migOfModel, sapOfModel } from '@elbo/metrics';
import type { Flags } from './commands';
import { intFlag, runOptions, summarize } from './commands';
import { UsageError } from './errors';
import { type RunReport, trainRun } from './train-run';
import type { VariantContext, VariantResult } from './variant-context';

type SuiteFn = (flags: Flags, log: (line: string) => void) => Promise<number>;

const mlp = (extra: Record<string, unknown>) => ({ variant: 'vae', architecture: 'mlp', inputDim: 784, hiddenDim: 400, mlpLayers: 2, latentDim: 20, ...extra });

/** Defaults sized for a few minutes per row with the native backend. */
function suiteOptions(flags: Flags, name: string, log: (l: string) => void) {
  return runOptions(flags, { name, epochs: 5, trainLimit: undefined }, log);
}

function writeTable(flags: Flags, suite: string, header: string[], rows: string[][], extra: unknown): string {
  const dir = join(flags.runs ?? 'runs', `suite-${suite}`);
  mkdirSync(dir, { recursive: true });
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  writeFileSync(join(dir, 'table.md'), `# suite ${suite}\n\n${md}\n`);
  writeFileSync(join(dir, 'table.json'), `${JSON.stringify(extra, null, 2)}\n`);
  return md;
}

const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

async function rowsOf(configs: Array<[string, Record<string, unknown>]>, suite: string, flags: Flags, log: (l: string) => void): Promise<RunReport[]> {
  const out: RunReport[] = [];
  for (const [label, config] of configs) {
    log(`== ${suite}: ${label}`);
    const opts = suiteOptions(flags, `suite-${suite}/${label}`, log);
    opts.evaluation.fidSamples = intFlag(flags, 'fid-samples', 5000);
    const r = await trainRun({ seed: intFlag(flags, 'seed', 0), ...config }, opts);
    log(summarize(r));
    out.push(r);
  }
  return out;
}

/**
 * MIG and SAP of a beta-VAE trained on generated dSprites (64x64), with the
 * constant colour factor left out (its entropy is 0).
 */
export async function dspritesDisentanglement(beta: number, flags: Flags, log: (l: string) => void, variant: 'vae' | 'tcvae' = 'vae'): Promise<{ mig: number; sap: number }> {
  const seed = intFlag(flags, 'seed', 0)!;
  const n = intFlag(flags, 'train-limit', 20000)!;
  const ds = new DSprites();
  const data = ds.sample(n, new Rng(seed).fork('dsprites-train'));
  const test = ds.sample(Math.min(5000, Math.ceil(n / 4)), new Rng(seed).fork('dsprites-test'));
  // beta-TCVAE's minibatch-weighted sampling estimator needs the dataset size N.
  const extra = variant === 'tcvae' ? { datasetSize: data.count } : {};
  const model = createModel({ variant, architecture: 'mlp', inputDim: 4096, hiddenDim: 512, mlpLayers: 2, latentDim: 10, beta, seed, ...extra });
  try {
    const source = new ArrayBatchSource(data, { batchSize: 128, seed, shape: 'flat' });
    await fit(model, source, { epochs: intFlag(flags, 'epochs', 5, 1), progress: !flags['no-progress'] });
    model.eval();
    const factorsOf = (d: typeof data) => Array.from({ length: d.count }, (_, i) => Array.from(d.factors.subarray(i * 6 + 1, i * 6 + 6)));
    const x = tf.tensor2d(data.images.subarray(0, Math.min(10000, data.count) * 4096), [Math.min(10000, data.count), 4096]);
    const xt = tf.tensor2d(test.images, [test.count, 4096]);
    const fTrain = factorsOf(data).slice(0, x.shape[0]);
    const fTest = factorsOf(test);
    const migResult = migOfModel(model, x, fTrain);
    const sapResult = sapOfModel(model, x, fTrain, xt, fTest);
    tf.dispose([x, xt]);
    log(`dSprites ${variant} beta ${beta}: MIG ${migResult.mig.toFixed(3)}, SAP ${sapResult.sap.toFixed(3)}`);
    return { mig: migResult.mig, sap: sapResult.sap };
  } finally {
    model.dispose();
  }
}

export const SUITES: Record<string, SuiteFn> = {
  /** The seed's beta trade-off: reconstruction vs KL vs disentanglement vs FID. */
  async beta(flags, log) {
    const betas = [0.5, 1, 4, 10];
    const reports = await rowsOf(betas.map((b) => [`beta-${b}`, mlp({ beta: b, latentDim: 10 })]), 'beta', flags, log);
    const dis: Array<{ mig: number; sap: number }> = [];
    for (const b of betas) dis.push(await dspritesDisentanglement(b, flags, log));
    const rows = reports.map((r, i) => [String(betas[i]), f(r.evaluation.reconstructionMse, 4), f(r.evaluation.terms.kl), f(dis[i].mig, 3), f(dis[i].sap, 3), f(r.evaluation.fid)]);
    // beta-TCVAE next to beta-VAE at the same beta (4), penalising only the total correlation;
    // it is trained on dSprites only, so the MNIST columns stay empty.
    const tcBeta = 4;
    const tc = await dspritesDisentanglement(tcBeta, flags, log, 'tcvae');
    rows.push([`${tcBeta} (beta-TCVAE)`, 'n/a', 'n/a', f(tc.mig, 3), f(tc.sap, 3), 'n/a']);
    log(writeTable(flags, 'beta', ['beta', 'recon MSE', 'KL (nats)', 'MIG (dSprites)', 'SAP (dSprites)', 'FID (MNIST clf)'], rows, { reports, disentanglement: dis, tcvae: { beta: tcBeta, ...tc } }));
    return 0;
  },
  /** MLP 2-layer, MLP 4-layer, conv, residual: parameters, FID, time. */
  async arch(flags, log) {
    // The same KL warm-up for every row: without it the 4-layer MLP collapses to the prior in a short run (measured: KL 2 nats after 1 epoch).
    const warmup = { betaSchedule: { type: 'linear', annealSteps: 1000 } };
    const configs: Array<[string, Record<string, unknown>]> = [
      ['mlp-2', mlp({ latentDim: 20, ...warmup })],
      ['mlp-4', mlp({ latentDim: 50, mlpLayers: 4, ...warmup })],
      ['conv', { variant: 'vae', architecture: 'conv', inChannels: 1, imageSize: 28, hiddenDims: [32, 64, 128], latentDim: 32, ...warmup }],
      ['resnet', { variant: 'vae', architecture: 'resnet', inChannels: 1, imageSize: 28, hiddenDims: [32, 64], residualBlocks: 1, latentDim: 32, ...warmup }],
    ];
    const reports = await rowsOf(configs, 'arch', flags, log);
    const rows = reports.map((r, i) => [configs[i][0], String(r.config.latentDim), r.parameters.toLocaleString('en-US'), f(-(r.evaluation.terms.elbo ?? Number.NaN)), f(r.evaluation.fid), f(r.trainSeconds, 0), f(r.samplesPerSecond, 0)]);
    log(writeTable(flags, 'arch', ['architecture', 'latent', 'parameters', 'test -ELBO', 'FID (MNIST clf)', 'train s', 'samples/s'], rows, reports));
    return 0;
  },
  /** Latent size 10 / 20 / 50 / 128. */
  async latent(flags, log) {
    const dims = [10, 20, 50, 128];
    const reports = await rowsOf(dims.map((d) => [`latent-${d}`, mlp({ latentDim: d })]), 'latent', flags, log);
    const rows = reports.map((r, i) => [String(dims[i]), f(-(r.evaluation.terms.elbo ?? Number.NaN)), f(r.evaluation.reconstructionMse, 4), f(r.evaluation.fid), String(r.evaluation.activeUnits ?? 'n/a')]);
    log(writeTable(flags, 'latent', ['latent dim', 'test -ELBO', 'recon MSE', 'FID (MNIST clf)', 'active units'], rows, reports));
    return 0;
  },
  /** cvae / vqvae / hvae rows, each from its own evaluation module in src/variants/. */
  async variants(flags, log) {
    const here = dirname(fileURLToPath(import.meta.url));
    const rows: string[][] = [];
    const all: Record<string, unknown> = {};
    for (const name of ['cvae', 'vqvae', 'hvae', 'tcvae']) {
      const candidates = [join(here, 'variants', `${name}.js`), join(here, 'variants', `${name}.ts`)];
      const file = candidates.find((c) => existsSync(c));
      if (!file) {
        log(`${name}: no bench module (apps/bench/src/variants/${name}.ts); skipped`);
        continue;
      }
      const mod = (await import(file)) as { run: (ctx: VariantContext) => Promise<VariantResult> };
      const outDir = join(flags.runs ?? 'runs', 'suite-variants', name);
      mkdirSync(outDir, { recursive: true });
      log(`== variants: ${name}`);
      const result = await mod.run({ seed: intFlag(flags, 'seed', 0)!, epochs: intFlag(flags, 'epochs', 5, 1)!, trainLimit: intFlag(flags, 'train-limit', undefined, 1), outDir, log });
      all[name] = result;
      rows.push([name, Object.entries(result.metrics).map(([k, v]) => `${k} ${f(v, 3)}`).join(', ')]);
    }
    log(writeTable(flags, 'variants', ['variant', 'metrics'], rows, all));
    return 0;
  },
};

export async function runSuite(name: string, flags: Flags, log: (l: string) => void): Promise<number> {
  const suite = SUITES[name];
  if (!suite) throw new UsageError(`unknown suite "${name}" (suites: ${Object.keys(SUITES).join(', ')})`);
  return suite(flags, log);
}
