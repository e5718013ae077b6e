import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fit, getVariant, Rng } from '@elbo/core';
import { ArrayBatchSource, DSprites } from '@elbo/datasets';
import { migOfModel, sapOfModel } from '@elbo/metrics';
import { loadVariants } from './discover';
import { archSuiteChart, betaSuiteChart, latentSuiteChart } from './charts/suite-charts';
import { UsageError } from './errors';
import { type Flags, intFlag, listFlag, runOptions } from './flags';
import { writeSuiteReport } from './report';
import { suiteProgress } from './report-progress';
import { benchPlan, buildModel, hooksOf, type RunReport, summarize, trainRun } from './train-run';

type SuiteFn = (flags: Flags, log: (line: string) => void) => Promise<number>;
type Config = Record<string, unknown>;

/** A JSON file of apps/bench/configs (model configs live there, not in code). */
export function benchConfigFile<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../configs/${name}`, import.meta.url), 'utf8')) as T;
}

interface SuiteConfigs {
  beta: { label: string; mnist: Config; klWeights: number[]; dsprites: Config; compare?: { label: string; config: Config } };
  arch: { rows: Array<[string, Config]> };
  latent: { mnist: Config; latentDims: number[] };
}

/** Defaults sized for a few minutes per row with the native backend. */
function suiteOptions(flags: Flags, name: string, log: (l: string) => void) {
  return runOptions(flags, { name, epochs: 5, trainLimit: undefined }, log);
}

const suiteDir = (flags: Flags, suite: string) => join(flags.runs ?? 'runs', `suite-${suite}`);

function writeTable(flags: Flags, suite: string, header: string[], rows: string[][], extra: unknown): string {
  const dir = suiteDir(flags, suite);
  mkdirSync(dir, { recursive: true });
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  writeFileSync(join(dir, 'table.md'), `# suite ${suite}\n\n${md}\n`);
  writeFileSync(join(dir, 'table.json'), `${JSON.stringify(extra, null, 2)}\n`);
  return md;
}

const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

async function rowsOf(configs: Array<[string, Config]>, suite: string, flags: Flags, log: (l: string) => void): Promise<RunReport[]> {
  const out: RunReport[] = [];
  const progress = suiteProgress(suite, configs.length);
  for (const [i, [label, config]] of configs.entries()) {
    log(`== ${progress(i, label)}`);
    const opts = suiteOptions(flags, `suite-${suite}/${label}`, log);
    opts.evaluation.fidSamples = intFlag(flags, 'fid-samples', 5000);
    const r = await trainRun({ seed: intFlag(flags, 'seed', 0), ...config }, opts);
    log(summarize(r));
    out.push(r);
  }
  return out;
}

/**
 * MIG and SAP of a model trained on generated dSprites (64x64), with the
 * constant colour factor left out (its entropy is 0). Data-dependent fields
 * come from "$trainCount" in the config or the variant's `completeConfig` hook.
 */
export async function dspritesDisentanglement(config: Config, flags: Flags, log: (l: string) => void): Promise<{ mig: number; sap: number }> {
  const seed = intFlag(flags, 'seed', 0)!;
  const n = intFlag(flags, 'train-limit', 20000)!;
  const epochs = intFlag(flags, 'epochs', 5, 1)!;
  const ds = new DSprites();
  const data = ds.sample(n, new Rng(seed).fork('dsprites-train'));
  const test = ds.sample(Math.min(5000, Math.ceil(n / 4)), new Rng(seed).fork('dsprites-test'));
  await loadVariants();
  const hooks = typeof config.variant === 'string' ? hooksOf(config.variant) : {};
  // "$trainCount" in a suite config stands for the number of training examples (e.g. an estimator's dataset size).
  const full = Object.fromEntries(Object.entries({ ...config, seed }).map(([k, v]) => [k, (v as unknown) === '$trainCount' ? data.count : v]));
  const completed = hooks.completeConfig ? hooks.completeConfig(full, { seed, epochs, trainCount: data.count, batchSize: 128 }) : full;
  const model = await buildModel(completed);
  try {
    const source = new ArrayBatchSource(data, { batchSize: 128, seed, shape: 'flat' });
    await fit(model, source, { epochs, progress: !flags['no-progress'] });
    model.eval();
    const factorsOf = (d: typeof data) => Array.from({ length: d.count }, (_, i) => Array.from(d.factors.subarray(i * 6 + 1, i * 6 + 6)));
    const x = tf.tensor2d(data.images.subarray(0, Math.min(10000, data.count) * 4096), [Math.min(10000, data.count), 4096]);
    const xt = tf.tensor2d(test.images, [test.count, 4096]);
    const fTrain = factorsOf(data).slice(0, x.shape[0]);
    const fTest = factorsOf(test);
    const migResult = migOfModel(model, x, fTrain);
    const sapResult = sapOfModel(model, x, fTrain, xt, fTest);
    tf.dispose([x, xt]);
    log(`dSprites ${model.variant} ${JSON.stringify(config)}: MIG ${migResult.mig.toFixed(3)}, SAP ${sapResult.sap.toFixed(3)}`);
    return { mig: migResult.mig, sap: sapResult.sap };
  } finally {
    model.dispose();
  }
}

/** The MNIST config `suite variants` trains a variant with: its bench hook's, else one built from its schema. */
export function variantSuiteConfig(name: string, plan: Parameters<NonNullable<ReturnType<typeof hooksOf>['config']>>[0]): Config {
  const hooks = hooksOf(name);
  if (hooks.config) return { ...hooks.config(plan), variant: name };
  const schema = getVariant(name)?.schema;
  // The base vocabulary's input field, flat or image-shaped, and every other field at its default.
  const candidates: Config[] = [
    { variant: name, inputShape: [784], latentDim: 20 },
    { variant: name, inputShape: [28, 28, 1], latentDim: 20 },
  ];
  // Fields the variant derives from the data (its completeConfig hook) are filled in before the check, as trainRun does.
  const complete = (c: Config): Config => (hooks.completeConfig ? hooks.completeConfig(c, plan) : c);
  for (const c of candidates) if (schema?.safeParse(complete({ ...c, seed: plan.seed })).success) return c;
  throw new UsageError(
    `variant "${name}" has no MNIST config for suite variants: its schema accepts neither ${candidates.map((c) => JSON.stringify(c)).join(' nor ')}; give its bench hooks a config()`,
  );
}

export const SUITES: Record<string, SuiteFn> = {
  /** The KL-weight trade-off: reconstruction vs KL vs disentanglement vs FID. */
  async beta(flags, log) {
    const s = benchConfigFile<SuiteConfigs>('suites.json').beta;
    const weights = s.klWeights;
    const reports = await rowsOf(weights.map((w) => [`beta-${w}`, { ...s.mnist, klWeight: w }]), 'beta', flags, log);
    const dis: Array<{ mig: number; sap: number }> = [];
    for (const w of weights) dis.push(await dspritesDisentanglement({ ...s.dsprites, klWeight: w }, flags, log));
    const rows = reports.map((r, i) => [String(weights[i]), f(r.evaluation.reconstructionMse, 4), f(r.evaluation.terms.kl), f(dis[i].mig, 3), f(dis[i].sap, 3), f(r.evaluation.fid)]);
    // A model compared at one weight on dSprites only, so its MNIST columns stay empty.
    let compared: unknown;
    if (s.compare) {
      const c = await dspritesDisentanglement(s.compare.config, flags, log);
      rows.push([s.compare.label, 'n/a', 'n/a', f(c.mig, 3), f(c.sap, 3), 'n/a']);
      compared = { ...s.compare, ...c };
    }
    const table = writeTable(flags, 'beta', ['KL weight', 'recon MSE', 'KL (nats)', 'MIG (dSprites)', 'SAP (dSprites)', 'FID (MNIST clf)'], rows, { reports, disentanglement: dis, compared });
    log(table);
    const chartRows = reports.map((r, i) => ({ beta: weights[i], mse: r.evaluation.reconstructionMse, kl: r.evaluation.terms.kl, mig: dis[i].mig, fid: r.evaluation.fid, model: s.label }));
    if (s.compare && compared) {
      // The compared model sits at its own weight (its config's KL or TC weight), MIG only.
      const at = Number(s.compare.config.tcWeight ?? s.compare.config.klWeight);
      chartRows.push({ beta: at, mig: (compared as { mig: number }).mig, model: s.compare.label } as (typeof chartRows)[number]);
    }
    await writeSuiteReport(suiteDir(flags, 'beta'), betaSuiteChart(chartRows), table);
    return 0;
  },
  /** MLP 2-layer, MLP 4-layer, conv, residual: parameters, FID, time. */
  async arch(flags, log) {
    // Every row has the same KL warm-up: without it the 4-layer MLP collapses to the prior in a short run (measured: KL 2 nats after 1 epoch).
    const configs = benchConfigFile<SuiteConfigs>('suites.json').arch.rows;
    const reports = await rowsOf(configs, 'arch', flags, log);
    const rows = reports.map((r, i) => [configs[i][0], String(r.config.latentDim), r.parameters.toLocaleString('en-US'), f(-(r.evaluation.terms.elbo ?? Number.NaN)), f(r.evaluation.fid), f(r.trainSeconds, 0), f(r.samplesPerSecond, 0)]);
    const table = writeTable(flags, 'arch', ['architecture', 'latent', 'parameters', 'test -ELBO', 'FID (MNIST clf)', 'train s', 'samples/s'], rows, reports);
    log(table);
    const chartRows = reports.map((r, i) => ({ architecture: configs[i][0], fid: r.evaluation.fid, parameters: r.parameters, negElbo: -(r.evaluation.terms.elbo ?? Number.NaN) }));
    await writeSuiteReport(suiteDir(flags, 'arch'), archSuiteChart(chartRows), table);
    return 0;
  },
  /** Latent size 10 / 20 / 50 / 128. */
  async latent(flags, log) {
    const s = benchConfigFile<SuiteConfigs>('suites.json').latent;
    const reports = await rowsOf(s.latentDims.map((d) => [`latent-${d}`, { ...s.mnist, latentDim: d }]), 'latent', flags, log);
    const rows = reports.map((r, i) => [String(s.latentDims[i]), f(-(r.evaluation.terms.elbo ?? Number.NaN)), f(r.evaluation.reconstructionMse, 4), f(r.evaluation.fid), String(r.evaluation.activeUnits ?? 'n/a')]);
    const table = writeTable(flags, 'latent', ['latent dim', 'test -ELBO', 'recon MSE', 'FID (MNIST clf)', 'active units'], rows, reports);
    log(table);
    const chartRows = reports.map((r, i) => ({ latentDim: s.latentDims[i], negElbo: -(r.evaluation.terms.elbo ?? Number.NaN), fid: r.evaluation.fid, activeUnits: r.evaluation.activeUnits }));
    await writeSuiteReport(suiteDir(flags, 'latent'), latentSuiteChart(chartRows), table);
    return 0;
  },
  /**
   * One row per registered variant (all found, or --variants a,b): trained on MNIST with its bench
   * hooks' config, phases, metrics and pictures, or generically when it registered none.
   */
  async variants(flags, log) {
    const found = await loadVariants();
    for (const s of found.skipped) log(`${s.name}: skipped (${s.reason})`);
    const wanted = listFlag(flags, 'variants');
    for (const w of wanted ?? []) if (!found.variants.includes(w)) throw new UsageError(`--variants: "${w}" is not registered (registered: ${found.variants.join(', ')})`);
    const names = wanted ?? found.variants;
    const seed = intFlag(flags, 'seed', 0)!;
    const rows: string[][] = [];
    const all: Record<string, RunReport> = {};
    const progress = suiteProgress('variants', names.length);
    for (const [i, name] of names.entries()) {
      log(`== ${progress(i, name)}`);
      const opts = suiteOptions(flags, `suite-variants/${name}`, log);
      let config: Config;
      try {
        config = variantSuiteConfig(name, benchPlan(opts, hooksOf(name), seed));
      } catch (e) {
        // Named with --variants: an error; found by discovery: a row saying why it was left out.
        if (wanted || !(e instanceof UsageError)) throw e;
        log(`${name}: skipped (${e.message})`);
        rows.push([name, 'n/a', 'n/a', 'n/a', 'n/a', 'skipped: no MNIST config (its bench hooks give none and its schema has no defaults for one)']);
        continue;
      }
      const r = await trainRun({ ...config, seed }, opts);
      log(summarize(r));
      all[name] = r;
      const e = r.evaluation;
      const extra = Object.entries(e.variant ?? {}).map(([k, v]) => `${k} ${f(v, 3)}`).join(', ');
      rows.push([name, f(e.terms.elbo === undefined ? undefined : -e.terms.elbo), f(e.reconstructionMse, 4), String(e.activeUnits ?? 'n/a'), f(r.trainSeconds, 0), extra || '-']);
    }
    log(writeTable(flags, 'variants', ['variant', 'test -ELBO', 'recon MSE', 'active units', 'train s', 'variant metrics'], rows, all));
    return 0;
  },
};

export async function runSuite(name: string, flags: Flags, log: (l: string) => void): Promise<number> {
  const suite = SUITES[name];
  if (!suite) throw new UsageError(`unknown suite "${name}" (suites: ${Object.keys(SUITES).join(', ')})`);
  return suite(flags, log);
}
