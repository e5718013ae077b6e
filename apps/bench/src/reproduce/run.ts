import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BatchSource, type Callback, fit, type GenerativeModel, Rng, withModelDraws } from '@elbo/core';
import { DSprites, DSpritesSource } from '@elbo/datasets';
import { importanceSampledNll, migOfModel, sapOfModel } from '@elbo/metrics';
import { UsageError } from '../errors';
import { type Flags, intFlag, numberFlag } from '../flags';
import { progressBar } from '../report-progress';
import { buildModel } from '../train-run';
import { mnistTrainSource, type ReproduceMnist, reproduceMnist, TEST_BINARIZATION_SEED } from './data';
import { type Budget, PROTOCOLS, type Protocol, type ProtocolWeights, protocolRecord, WEIGHT_GRID } from './protocols';
import { type CurvePoint, mean, meanPlusMinus, writeReproduceReport } from './report';
import { findTorchPython, runTorchScript, type TorchLine } from './torch';

/** Observers for tests: extra trainer callbacks and a wrapper around each seed's training batches. */
export interface ReproduceProbe {
  callbacks?: Callback[];
  source?: (source: BatchSource, seed: number) => BatchSource;
}

/** What the command line asked for, checked. */
export interface ReproduceOptions {
  protocol: Protocol;
  seeds: number;
  runsDir: string;
  epochs?: number;
  steps?: number;
  trainLimit?: number;
  testLimit?: number;
  nllSamples: number;
  evalEvery: number;
  curveSamples: number;
  curveLimit: number;
  weights: ProtocolWeights;
  /** Model config fields set over the protocol's (--ablate), to measure what a setting contributes; undefined runs the protocol as written. */
  ablate?: Record<string, unknown>;
  reference?: 'pytorch';
  mnistDir?: string;
  progress: boolean;
}

/** One seed's outcome (result.json in its folder). */
export interface SeedResult {
  seed: number;
  key: string;
  epochs: number;
  steps: number;
  trainSeconds: number;
  secondsPerEpoch: number;
  /** Wall-clock seconds per optimiser step in this process (resumed steps excluded). */
  secondsPerStep: number;
  /** MNIST protocols: importance-sampled test NLL with `samples` draws on `examples` images. */
  nll?: number;
  /** Minus the Monte-Carlo ELBO over the same draws (nats). */
  negElbo?: number;
  samples?: number;
  examples?: number;
  /** dSprites protocols. */
  mig?: number;
  sap?: number;
}

export const knownProtocols = (): string => Object.keys(PROTOCOLS).join(', ');

/** The protocol a NAME argument names, or a usage error listing the known ones. */
export function protocolByName(rest: string[]): Protocol {
  const name = rest[0];
  if (rest.length !== 1 || name === undefined || !(name in PROTOCOLS)) {
    throw new UsageError(`unknown protocol ${JSON.stringify(rest.join(' '))} for reproduce (protocols: ${knownProtocols()})`);
  }
  return PROTOCOLS[name];
}

/** Check the flags against the protocol (a bad value names its flag). */
export function reproduceOptions(flags: Flags, rest: string[]): ReproduceOptions {
  const protocol = protocolByName(rest);
  const mnist = protocol.data === 'mnist';
  const reference = flags.reference;
  if (reference !== undefined && reference !== 'pytorch') throw new UsageError(`--reference must be pytorch, got ${JSON.stringify(reference)}`);
  if (reference === 'pytorch' && !protocol.pytorch) {
    const covered = Object.values(PROTOCOLS).filter((p) => p.pytorch).map((p) => p.name);
    throw new UsageError(`--reference pytorch covers ${covered.join(', ')} only, not ${protocol.name}`);
  }
  const epochs = intFlag(flags, 'epochs', undefined, 1);
  const steps = intFlag(flags, 'steps', undefined, 1);
  if (mnist) {
    if (steps !== undefined) throw new UsageError(`--steps is for the dSprites protocols; ${protocol.name} counts epochs (--epochs N, at most ${protocol.fullEpochs})`);
    if (epochs !== undefined && epochs > protocol.fullEpochs!) throw new UsageError(`--epochs must be at most ${protocol.fullEpochs} (the length of ${protocol.name}), got ${epochs}`);
  } else {
    if (epochs !== undefined && steps !== undefined) throw new UsageError('give --steps or --epochs, not both');
    if (steps !== undefined && steps > protocol.fullSteps!) throw new UsageError(`--steps must be at most ${protocol.fullSteps} (the length of ${protocol.name}), got ${steps}`);
  }
  const weights: ProtocolWeights = { ...protocol.weights };
  for (const flag of ['kl-weight', 'tc-weight'] as const) {
    if (flags[flag] === undefined) continue;
    const grid = WEIGHT_GRID[protocol.name];
    if (!grid || grid.flag !== flag) throw new UsageError(`--${flag} does not apply to ${protocol.name}${grid ? ` (it takes --${grid.flag})` : ''}`);
    const v = numberFlag(flags, flag, 1);
    if (!grid.values.includes(v)) throw new UsageError(`--${flag} must be one of the protocol's grid ${grid.values.join(', ')}, got ${v}`);
    weights[flag === 'kl-weight' ? 'klWeight' : 'tcWeight'] = v;
  }
  const ablate = ablateFlag(flags);
  if (ablate && reference) throw new UsageError('--ablate changes the protocol; the PyTorch reference runs it as written (drop one of --ablate, --reference)');
  const evalEvery = intFlag(flags, 'eval-every', 0, 0)!;
  if (!mnist && evalEvery > 0) throw new UsageError('--eval-every draws a test-NLL curve: it is for the MNIST protocols');
  if (!mnist && (flags['nll-samples'] !== undefined || flags['test-limit'] !== undefined)) {
    throw new UsageError(`--nll-samples and --test-limit are for the MNIST protocols; ${protocol.name} is evaluated by MIG and SAP`);
  }
  return {
    protocol,
    seeds: intFlag(flags, 'seeds', 1, 1)!,
    runsDir: flags.runs ?? 'runs',
    epochs,
    steps,
    trainLimit: intFlag(flags, 'train-limit', undefined, 1),
    testLimit: intFlag(flags, 'test-limit', undefined, 1),
    nllSamples: intFlag(flags, 'nll-samples', protocol.evaluation.kind === 'nll' ? protocol.evaluation.samples : 0, 1)!,
    evalEvery,
    curveSamples: intFlag(flags, 'curve-samples', 100, 1)!,
    curveLimit: intFlag(flags, 'curve-limit', 1000, 1)!,
    weights,
    ablate,
    reference: reference as 'pytorch' | undefined,
    mnistDir: flags['mnist-dir'],
    progress: !flags['no-progress'],
  };
}

/** --ablate '{"batchNorm":false}': a JSON object of model config fields, or undefined. */
function ablateFlag(flags: Flags): Record<string, unknown> | undefined {
  const text = flags.ablate;
  if (text === undefined) return undefined;
  const usage = `--ablate must be a JSON object of model config fields, e.g. '{"batchNorm":false}', got ${JSON.stringify(text)}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(usage);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) throw new UsageError(usage);
  if ('variant' in value || 'seed' in value) throw new UsageError('--ablate cannot change variant or seed (a protocol fixes its model family; --seeds sets the seeds)');
  return value as Record<string, unknown>;
}

/** `batchNorm=false, klWeight=1`: an ablation's fields as printed. */
export function ablationText(ablate: Record<string, unknown>): string {
  return Object.entries(ablate)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}

/** The model config of one seed: the protocol's, with any --ablate fields over it. */
export function seedConfig(o: ReproduceOptions, seed: number, budget: Budget): Record<string, unknown> {
  return { ...o.protocol.config(seed, budget, o.weights), ...o.ablate };
}

/** A run's folder: runs/reproduce-NAME, or runs/reproduce-NAME-ablate-FIELD-VALUE... for an ablation, so it never resumes the protocol's own run. */
export function runFolder(o: ReproduceOptions): string {
  const base = `reproduce-${o.protocol.name}`;
  if (!o.ablate) return join(o.runsDir, base);
  const slug = Object.entries(o.ablate)
    .map(([k, v]) => `${k}-${JSON.stringify(v)}`)
    .join('-')
    .replace(/[^A-Za-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return join(o.runsDir, `${base}-ablate-${slug}`);
}

/** Epoch and step recorded in a checkpoint folder, or undefined when there is none. */
function checkpointPoint(dir: string): { epoch: number; step: number } | undefined {
  const file = join(dir, 'model.json');
  if (!existsSync(file)) return undefined;
  const meta = JSON.parse(readFileSync(file, 'utf8')) as { userDefinedMetadata?: { elbo?: { epoch?: number; step?: number } } };
  return { epoch: meta.userDefinedMetadata?.elbo?.epoch ?? 0, step: meta.userDefinedMetadata?.elbo?.step ?? 0 };
}

const readJsonFile = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);

/**
 * The settings that must match for a rerun to resume a seed: everything of the
 * run except its length when the protocol's schedule does not depend on it
 * (a shorter Burda run is a prefix of a longer one).
 */
function resumeKey(o: ReproduceOptions, config: unknown, budget: Budget): string {
  const length = o.protocol.prefixSchedule ? {} : { epochs: budget.epochs, steps: budget.steps };
  return JSON.stringify({ protocol: o.protocol.name, config, trainCount: budget.trainCount, batchSize: o.protocol.batchSize, ...length });
}

function formatBudget(o: ReproduceOptions, budget: Budget): string {
  const p = o.protocol;
  if (p.data === 'dsprites') return `${budget.steps!.toLocaleString('en-US')} of ${p.fullSteps!.toLocaleString('en-US')} steps`;
  return `${budget.epochs} of ${p.fullEpochs!.toLocaleString('en-US')} epochs`;
}

/** What a run trains on and for how long, before any seed starts. */
interface RunPlan {
  budget: Budget;
  /** MNIST protocols: the data. */
  mnist?: ReproduceMnist;
  /** dSprites protocols: each seed's training batches. */
  dspritesTrain?: (seed: number) => DSpritesSource;
  /** What of the schedule the budget changed (empty when nothing). */
  note: string;
}

function planRun(o: ReproduceOptions): RunPlan {
  const p = o.protocol;
  if (p.data === 'mnist') {
    const mnist = reproduceMnist({ mnistDir: o.mnistDir, trainLimit: o.trainLimit, testLimit: o.testLimit });
    const budget: Budget = { epochs: o.epochs ?? p.fullEpochs!, stepsPerEpoch: Math.ceil(mnist.train.count / p.batchSize), trainCount: mnist.train.count };
    return { budget, mnist, note: p.budgetNote(budget) };
  }
  const dspritesTrain = (seed: number) => new DSpritesSource({ batchSize: p.batchSize, seed, shape: 'image', ...(o.trainLimit !== undefined ? { sample: o.trainLimit } : {}) });
  const { numBatches: stepsPerEpoch, size: trainCount } = dspritesTrain(0);
  const steps = o.steps ?? (o.epochs !== undefined ? Math.min(o.epochs * stepsPerEpoch, p.fullSteps!) : p.fullSteps!);
  const budget: Budget = { epochs: Math.ceil(steps / stepsPerEpoch), steps, stepsPerEpoch, trainCount };
  return { budget, dspritesTrain, note: p.budgetNote(budget) };
}

/** The printed protocol line: every setting and the budget actually run. */
function protocolLine(o: ReproduceOptions, plan: RunPlan): string {
  const p = o.protocol;
  const { budget, note, mnist } = plan;
  const evalText =
    p.evaluation.kind === 'nll'
      ? `test NLL with k=${o.nllSamples} on ${mnist!.test.count.toLocaleString('en-US')} test images`
      : `MIG on ${p.evaluation.migPoints.toLocaleString('en-US')} points, SAP on ${p.evaluation.sapTrain.toLocaleString('en-US')} train / ${p.evaluation.sapTest.toLocaleString('en-US')} test`;
  return (
    `reproduce ${p.name}: ${p.architecture}; batch ${p.batchSize}; Adam (${p.adam.beta1}, ${p.adam.beta2}, eps ${p.adam.epsilon}); lr ${p.learningRateText}; ` +
    `${formatBudget(o, budget)}${note ? ` (${note})` : ''}; ${budget.trainCount.toLocaleString('en-US')} training images; ${evalText}; ${o.seeds} seed(s)` +
    (o.ablate ? `; ablation, not the protocol: ${ablationText(o.ablate)}` : '')
  );
}

/** protocol.json: every setting of the protocol, the budget actually run and the paper figure with its citation. */
function writeProtocolFile(dir: string, o: ReproduceOptions, plan: RunPlan): void {
  const { budget, note, mnist } = plan;
  const record = {
    ...protocolRecord(o.protocol),
    budget: {
      ...budget,
      batchSize: o.protocol.batchSize,
      budgetNote: note || undefined,
      ...(mnist
        ? { testImages: mnist.test.count, nllSamples: o.nllSamples, trainImages: 'the first N of the training set', testBinarization: `one Bernoulli draw (seed ${TEST_BINARIZATION_SEED}), then the first N` }
        : {}),
      seeds: Array.from({ length: o.seeds }, (_, s) => s),
      weights: o.weights,
      ...(o.ablate ? { ablation: o.ablate } : {}),
    },
  };
  writeFileSync(join(dir, 'protocol.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/** `reproduce NAME`: train the protocol for each seed (resuming where a checkpoint is), evaluate, compare. */
export async function runReproduce(o: ReproduceOptions, log: (line: string) => void, probe: ReproduceProbe = {}): Promise<number> {
  const p = o.protocol;
  const torch = o.reference === 'pytorch' ? findTorchPython() : undefined;
  const dir = runFolder(o);
  mkdirSync(dir, { recursive: true });
  const plan = planRun(o);
  const { budget, mnist, dspritesTrain, note } = plan;
  log(protocolLine(o, plan));
  // The PyTorch reference evaluates on exactly these binarised test images.
  if (mnist) writeFileSync(join(dir, 'test-binarized.u8'), Uint8Array.from(mnist.test.images, (v) => (v > 0.5 ? 1 : 0)));
  writeProtocolFile(dir, o, plan);

  const results: SeedResult[] = [];
  const curve: CurvePoint[] = [];
  for (let seed = 0; seed < o.seeds; seed++) {
    const r = await runSeed(o, seed, budget, dir, mnist, dspritesTrain, probe, log, curve);
    results.push(r);
    log(seedLine(p, r, budget));
  }

  let pytorch: SeedResult[] | undefined;
  if (torch && mnist) {
    pytorch = [];
    for (let seed = 0; seed < o.seeds; seed++) {
      const r = await runTorchSeed(torch.python, o, seed, budget, dir, mnist.dir, mnist.test.count, log, curve);
      pytorch.push(r);
      log(`pytorch ${torch.version} seed ${seed}: NLL ${r.nll!.toFixed(2)} (k=${r.samples}, ${r.examples} test images) | ${r.epochs} epochs, ${r.secondsPerEpoch.toFixed(1)} s/epoch`);
    }
  }

  const curveFile = join(dir, 'nll-curve.jsonl');
  rmSync(curveFile, { force: true });
  for (const c of curve) appendFileSync(curveFile, `${JSON.stringify(c)}\n`);
  const files = await writeReproduceReport(dir, { protocol: p, ablation: o.ablate && ablationText(o.ablate), budget, budgetText: formatBudget(o, budget), note, results, pytorch, curve, nllSamples: o.nllSamples, testImages: mnist?.test.count });
  log(finalLine(p, o, budget, results, pytorch, mnist?.test.count));
  log(`wrote ${dir}/ (config.json, protocol.json, metrics.json, report.md${files.length ? `, ${files.join(', ')}` : ''})`);
  return 0;
}

function seedLine(p: Protocol, r: SeedResult, budget: Budget): string {
  if (r.nll !== undefined) {
    const time = `${r.epochs} epochs, ${r.steps} steps, ${r.trainSeconds.toFixed(0)} s (${r.secondsPerEpoch.toFixed(1)} s/epoch)`;
    return `elbo seed ${r.seed}: NLL ${r.nll.toFixed(2)} (k=${r.samples}, ${r.examples} test images), -ELBO ${r.negElbo!.toFixed(2)} | ${time}`;
  }
  return `elbo seed ${r.seed}: MIG ${r.mig!.toFixed(3)}, SAP ${r.sap!.toFixed(3)} | ${r.steps} of ${budget.steps} steps (${(1000 * r.secondsPerStep).toFixed(0)} ms/step) (${p.name})`;
}

const pm = meanPlusMinus;

/** `reproduce burda-vae: NLL 9x.xx ± y.yy (k=5000, n test, N of 3280 epochs, S seeds); paper 86.76` (+ PyTorch). */
export function finalLine(p: Protocol, o: ReproduceOptions, budget: Budget, results: SeedResult[], pytorch: SeedResult[] | undefined, testImages?: number): string {
  const seeds = `${results.length} seed${results.length === 1 ? '' : 's'}`;
  if (p.evaluation.kind === 'nll') {
    const nll = results.map((r) => r.nll!);
    let line = `reproduce ${p.name}${o.ablate ? ` (ablation ${ablationText(o.ablate)})` : ''}: NLL ${pm(nll, 2)} (k=${o.nllSamples}, ${testImages} test, ${budget.epochs} of ${p.fullEpochs} epochs, ${seeds}); ${p.paper ? `paper ${p.paper.value.toFixed(2)}` : 'no paper figure (a baseline)'}`;
    if (pytorch) {
      const t = pytorch.map((r) => r.nll!);
      line += `; pytorch ${pm(t, 2)} at equal budget (elbo - pytorch ${(mean(nll) - mean(t)).toFixed(2)} nats)`;
    }
    return line;
  }
  return `reproduce ${p.name}: MIG ${pm(results.map((r) => r.mig!), 3)}, SAP ${pm(results.map((r) => r.sap!), 3)} (${budget.steps} of ${p.fullSteps} steps, ${seeds}); paper: distributions over 50 seeds, no single figure`;
}

async function runSeed(
  o: ReproduceOptions,
  seed: number,
  budget: Budget,
  dir: string,
  mnist: ReproduceMnist | undefined,
  dspritesTrain: ((seed: number) => DSpritesSource) | undefined,
  probe: ReproduceProbe,
  log: (line: string) => void,
  curve: CurvePoint[],
): Promise<SeedResult> {
  const p = o.protocol;
  const seedDir = join(dir, `seed-${seed}`);
  mkdirSync(seedDir, { recursive: true });
  const config = seedConfig(o, seed, budget);
  const key = resumeKey(o, config, budget);
  const checkpointDir = join(seedDir, 'checkpoint');
  const evalKey = JSON.stringify({ epochs: budget.epochs, steps: budget.steps, samples: o.nllSamples, examples: mnist?.test.count });

  // A seed finished earlier with the same settings is not run again.
  const done = readJsonFile<SeedResult & { evalKey: string }>(join(seedDir, 'result.json'));
  const oldCurve = readJsonFile<CurvePoint[]>(join(seedDir, 'curve.json')) ?? [];
  if (done && done.key === key && done.evalKey === evalKey) {
    log(`seed ${seed}: done earlier with these settings (${join(seedDir, 'result.json')})`);
    curve.push(...oldCurve);
    return done;
  }
  const started = readJsonFile<{ key: string }>(join(seedDir, 'run.json'));
  const point = checkpointPoint(checkpointDir);
  const resumeAt = point?.epoch;
  if (point !== undefined) {
    if (!started || started.key !== key) {
      throw new UsageError(`${seedDir} holds a checkpoint of other settings (another budget, data limit or weights); use another --runs folder or delete it`);
    }
    if (point.epoch > budget.epochs) throw new UsageError(`${seedDir} holds a checkpoint at epoch ${point.epoch}, past this run's ${budget.epochs} epochs; use another --runs folder`);
    if (budget.steps !== undefined && point.step > budget.steps) throw new UsageError(`${seedDir} holds a checkpoint at step ${point.step}, past this run's ${budget.steps} steps; use another --runs folder`);
  }
  writeFileSync(join(seedDir, 'run.json'), `${JSON.stringify({ key, config }, null, 2)}\n`);

  const model = await buildModel(config);
  try {
    // The model config of seed 0 with every default filled in (the other seeds differ only in `seed`).
    if (seed === 0) writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
    log(`seed ${seed}: ${model.variant}, ${model.numParameters().toLocaleString('en-US')} parameters${point ? `; resuming from the checkpoint at epoch ${point.epoch}${budget.steps !== undefined ? ` (step ${point.step})` : ''}` : ''}`);
    let source: BatchSource = mnist ? mnistTrainSource(mnist.train, p.batchSize, seed) : dspritesTrain!(seed);
    if (probe.source) source = probe.source(source, seed);
    const seedCurve = oldCurve.filter((c) => resumeAt !== undefined && c.epoch <= resumeAt);
    let startStep = 0;
    const callbacks: Callback[] = [{ onTrainBegin: (info) => void (startStep = info.startStep) }, ...(probe.callbacks ?? [])];
    if (mnist && o.evalEvery > 0) {
      const limit = Math.min(o.curveLimit, mnist.test.count);
      callbacks.push({
        onEpochEnd: (e) => {
          if ((e.epoch + 1) % o.evalEvery !== 0) return;
          const t0 = performance.now();
          model.eval();
          const x = tf.tensor2d(mnist.test.images.subarray(0, limit * 784), [limit, 784]);
          const rng = new Rng(seed).fork(`nll-curve-${e.epoch + 1}`);
          const r = withModelDraws(model, rng, () => importanceSampledNll(model, x, { samples: o.curveSamples, rng, batchSize: 20, chunk: 250 }));
          x.dispose();
          model.train(true);
          const point: CurvePoint = { framework: 'elbo', seed, epoch: e.epoch + 1, step: e.step, nll: r.nll, samples: o.curveSamples, examples: limit, trainLoss: e.train.loss, seconds: (performance.now() - t0) / 1000 };
          seedCurve.push(point);
          writeFileSync(join(seedDir, 'curve.json'), `${JSON.stringify(seedCurve)}\n`);
        },
      });
    }
    const t0 = performance.now();
    const result = await fit(model, source, {
      epochs: budget.epochs,
      ...(budget.steps !== undefined ? { maxSteps: budget.steps } : {}),
      learningRate: p.learningRate(budget),
      adamBeta1: p.adam.beta1,
      adamBeta2: p.adam.beta2,
      epsilon: p.adam.epsilon,
      progress: o.progress,
      metricsLog: join(seedDir, 'metrics.jsonl'),
      // Every epoch, and every 2,000 steps for the dSprites runs (an epoch of the full grid is 11,520 steps).
      checkpoint: { dir: checkpointDir, everyEpochs: 1, ...(p.data === 'dsprites' ? { everySteps: 2000 } : {}) },
      ...(resumeAt !== undefined ? { resume: checkpointDir } : {}),
      callbacks,
    });
    const wall = (performance.now() - t0) / 1000;
    const trained = result.history.reduce((s, h) => s + h.seconds, 0);
    const epochsRun = result.history.length;
    curve.push(...seedCurve);
    const base: SeedResult = {
      seed,
      key,
      epochs: result.epochs,
      steps: result.steps,
      trainSeconds: trained || wall,
      secondsPerEpoch: epochsRun > 0 ? trained / epochsRun : 0,
      secondsPerStep: result.steps > startStep ? wall / (result.steps - startStep) : 0,
    };
    model.eval();
    const evaluated = mnist
      ? evaluateNll(model, mnist.test.images, mnist.test.count, o.nllSamples, seed, join(seedDir, 'nll-partial.json'), `${key} ${evalKey} ${result.steps}`)
      : evaluateDisentanglement(model, p, seed);
    const out = { ...base, ...evaluated };
    writeFileSync(join(seedDir, 'result.json'), `${JSON.stringify({ ...out, evalKey }, null, 2)}\n`);
    return out;
  } finally {
    model.dispose();
  }
}

/** Test images per block of the final NLL: the unit a killed evaluation resumes from. */
const NLL_BLOCK = 200;

/**
 * Importance-sampled NLL (Burda et al.'s estimator) on the binarised test
 * images, with a progress bar. k = 5000 on 10,000 images is about an hour on
 * two cores, so it runs in blocks of 200 images, each with its own draws
 * (seed forked by block), and keeps the finished blocks' sums in `partialFile`:
 * a killed evaluation resumes at the next block and ends with the same figure.
 */
function evaluateNll(model: GenerativeModel, images: Float32Array, n: number, samples: number, seed: number, partialFile: string, key: string): Partial<SeedResult> {
  type Partial = { key: string; blocks: number; logLik: number; elbo: number; count: number; samples?: number };
  const saved = readJsonFile<Partial>(partialFile);
  const state: Partial = saved && saved.key === key ? saved : { key, blocks: 0, logLik: 0, elbo: 0, count: 0 };
  // Each step decodes chunk x batch rows: 5,000 here. Measured on the native backend (burda-vae, 2 cores),
  // 4,000-5,000 rows ran 4x faster per draw than the metric's default 250 x 50 = 12,500.
  const batchSize = 20;
  const blocks = Math.ceil(n / NLL_BLOCK);
  const bar = progressBar(`NLL (k=${samples})`, n, 'images');
  bar.update(Math.min(n, state.blocks * NLL_BLOCK));
  for (let b = state.blocks; b < blocks; b++) {
    const start = b * NLL_BLOCK;
    const m = Math.min(NLL_BLOCK, n - start);
    const x = tf.tensor2d(images.subarray(start * 784, (start + m) * 784), [m, 784]);
    try {
      const rng = new Rng(seed).fork(`nll-block-${b}`);
      const r = withModelDraws(model, rng, () => importanceSampledNll(model, x, { samples, rng, batchSize, chunk: 250 }));
      state.logLik += -r.nll * r.count;
      state.elbo += r.elbo * r.count;
      state.count += r.count;
      // What the estimator reports it drew (the same in every block).
      state.samples = r.samples;
    } finally {
      x.dispose();
    }
    state.blocks = b + 1;
    writeFileSync(partialFile, `${JSON.stringify(state)}\n`);
    bar.update(start + m);
  }
  const nll = -state.logLik / state.count;
  bar.finish(`NLL (k=${state.samples}, ${state.count} images): ${nll.toFixed(2)} nats`);
  return { nll, negElbo: -state.elbo / state.count, samples: state.samples, examples: state.count };
}

/** MIG and SAP on freshly drawn dSprites points (disentanglement_lib's sizes). */
function evaluateDisentanglement(model: GenerativeModel, p: Protocol, seed: number): Partial<SeedResult> {
  if (p.evaluation.kind !== 'disentanglement') throw new Error('not a disentanglement protocol');
  const { migPoints, sapTrain, sapTest } = p.evaluation;
  const ds = new DSprites();
  const draw = (n: number, label: string) => ds.sample(n, new Rng(seed).fork(label));
  // The colour factor is constant (entropy 0): left out, as disentanglement_lib does.
  const factorsOf = (d: ReturnType<typeof draw>) => Array.from({ length: d.count }, (_, i) => Array.from(d.factors.subarray(i * 6 + 1, i * 6 + 6)));
  const images = (d: ReturnType<typeof draw>) => tf.tensor4d(d.images, [d.count, 64, 64, 1]);
  const bar = progressBar('MIG and SAP', 2, 'metrics');
  const m = draw(migPoints, 'mig');
  const xm = images(m);
  const mig = migOfModel(model, xm, factorsOf(m)).mig;
  xm.dispose();
  bar.update(1);
  const tr = draw(sapTrain, 'sap-train');
  const te = draw(sapTest, 'sap-test');
  const xtr = images(tr);
  const xte = images(te);
  const sap = sapOfModel(model, xtr, factorsOf(tr), xte, factorsOf(te)).sap;
  tf.dispose([xtr, xte]);
  bar.finish(`MIG ${mig.toFixed(3)}, SAP ${sap.toFixed(3)}`);
  return { mig, sap };
}

/** The PyTorch reference for one seed: the same protocol, data files, test images, k and budget. */
async function runTorchSeed(
  python: string,
  o: ReproduceOptions,
  seed: number,
  budget: Budget,
  dir: string,
  mnistDir: string,
  testCount: number,
  log: (line: string) => void,
  curve: CurvePoint[],
): Promise<SeedResult> {
  const p = o.protocol;
  const seedDir = join(dir, `pytorch-seed-${seed}`);
  mkdirSync(seedDir, { recursive: true });
  const args = [
    '--mnist', mnistDir,
    '--test', join(dir, 'test-binarized.u8'),
    '--test-count', String(testCount),
    '--train-limit', String(budget.trainCount),
    '--epochs', String(budget.epochs),
    '--batch-size', String(p.batchSize),
    ...p.torchArgs!(budget),
    '--nll-samples', String(o.nllSamples),
    '--seed', String(seed),
    '--eval-every', String(o.evalEvery),
    '--curve-samples', String(o.curveSamples),
    '--curve-limit', String(Math.min(o.curveLimit, testCount)),
    '--checkpoint', join(seedDir, 'checkpoint.pt'),
  ];
  const bar = progressBar(`pytorch seed ${seed}`, budget.epochs, 'epochs');
  const lines = await runTorchScript(python, args, (l: TorchLine) => {
    if (l.type === 'epoch') bar.update(Number(l.epoch));
    if (l.type === 'start' && Number(l.resumedEpoch) > 0) log(`pytorch seed ${seed}: resuming from its checkpoint at epoch ${l.resumedEpoch}`);
  });
  writeFileSync(join(seedDir, 'output.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const result = lines.find((l) => l.type === 'result');
  if (!result) throw new Error(`torch_reproduce.py printed no result line (seed ${seed})`);
  bar.finish(`pytorch seed ${seed}: NLL ${Number(result.nll).toFixed(2)}`);
  for (const c of lines.filter((l) => l.type === 'curve')) {
    curve.push({ framework: 'pytorch', seed, epoch: Number(c.epoch), step: Number(c.step), nll: Number(c.nll), samples: Number(c.samples), examples: Number(c.examples), trainLoss: Number(c.trainLoss), seconds: Number(c.seconds) });
  }
  return {
    seed,
    key: 'pytorch',
    epochs: Number(result.epochs),
    steps: Number(result.steps),
    trainSeconds: Number(result.trainSeconds),
    secondsPerEpoch: Number(result.secondsPerEpoch),
    secondsPerStep: Number(result.trainSeconds) / Math.max(1, Number(result.steps)),
    nll: Number(result.nll),
    negElbo: Number(result.negElbo),
    samples: Number(result.samples),
    examples: Number(result.examples),
  };
}
