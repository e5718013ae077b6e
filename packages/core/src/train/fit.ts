import * as tf from '@tensorflow/tfjs-core';
import { type CheckpointTarget, loadCheckpoint, parameterNames, saveCheckpoint } from '../io/checkpoint';
import { type Batch, type BatchSource, disposeBatch, type GenerativeModel, type Schedule } from '../model';
import { type Callback, type EpochLog, type FitResult, metricsLogCallback, type NonFiniteEvent, progressCallback, type StepInfo, type TrainerControl } from './callbacks';
import { createOptimizer, type Optimizer, type OptimizerConfig } from './optimizers';

export interface FitOptions {
  /** Passes over the training source (default 1). */
  epochs?: number;
  /**
   * Default 'adam'. An `Optimizer` instance (e.g. a backend's fused Adam
   * implementing the interface) is used as given and stays the caller's to
   * dispose; its `learningRate` is set every step.
   */
  optimizer?: 'adam' | 'sgd' | Optimizer;
  /** Base learning rate or a schedule of the global step (default 1e-3). */
  learningRate?: number | Schedule;
  /** Adam's moment decay rates and epsilon (defaults 0.9, 0.999, 1e-7 as tfjs). */
  adamBeta1?: number;
  adamBeta2?: number;
  epsilon?: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** KL weight passed to `model.loss(batch, { step, beta })`: a number or a schedule (e.g. from @elbo/losses). */
  beta?: number | Schedule;
  /** Clip gradients to this global L2 norm. */
  clipNorm?: number;
  /** Linear learning-rate warm-up from lr/warmupSteps to lr over this many steps. */
  warmupSteps?: number;
  /** Multiply the learning rate by `factor` when the monitored value has not improved for `patience` epochs. */
  reduceLrOnPlateau?: { patience: number; factor: number; minLr?: number; minDelta?: number; monitor?: string };
  /** Evaluated at the end of every epoch (model in eval mode). */
  validation?: BatchSource;
  callbacks?: Callback[];
  /** Progress bar on a TTY, plain epoch lines otherwise (default true). */
  progress?: boolean;
  /** JSON-lines metrics log path (Node). */
  metricsLog?: string;
  /** Save a checkpoint to `dir` every N epochs and/or steps, and when training ends (`atEnd`, default true). */
  checkpoint?: { dir: CheckpointTarget; everyEpochs?: number; everySteps?: number; atEnd?: boolean };
  /** Continue from a checkpoint (weights, optimizer, step, epoch, RNG, trainer state). */
  resume?: CheckpointTarget;
  /** Stop when the monitored value (default 'loss', validation if given else train) stops improving. */
  earlyStopping?: { patience: number; minDelta?: number; monitor?: string };
  /**
   * Skip steps whose loss, any term or any gradient is not finite, name the
   * culprits, and restore the last good weights if they had become non-finite
   * (default true; `maxConsecutive` such steps, default 10, end training).
   */
  nanGuard?: boolean | { maxConsecutive?: number };
  /** Stop after this many global steps. */
  maxSteps?: number;
  signal?: AbortSignal;
}

export type { Callback, EpochLog, FitResult, NonFiniteEvent, StepInfo, TrainerControl };

/** Trainer bookkeeping stored in checkpoints so a resumed run continues exactly. */
interface TrainerState {
  lrScale: number;
  /** best is null until the first epoch (JSON has no Infinity, and this state is saved in checkpoints). */
  plateau: { best: number | null; wait: number };
  early: { best: number | null; wait: number };
  history: EpochLog[];
  /** Batches of the current epoch already done (mid-epoch checkpoints). */
  batchInEpoch: number;
  acc: EpochAccumulator;
  consecutiveNonFinite: number;
}

interface EpochAccumulator {
  sums: Record<string, number>;
  count: number;
  seconds: number;
}

function fail(field: string, message: string): never {
  throw new Error(`fit: option "${field}" ${message}`);
}

function checkPositiveInt(field: string, v: unknown, allowZero = false): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || (v as number) < (allowZero ? 0 : 1)) fail(field, `must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
}

function checkOptions(o: FitOptions): void {
  const known = new Set([
    'epochs', 'optimizer', 'learningRate', 'adamBeta1', 'adamBeta2', 'epsilon', 'momentum', 'beta', 'clipNorm', 'warmupSteps',
    'reduceLrOnPlateau', 'validation', 'callbacks', 'progress', 'metricsLog', 'checkpoint', 'resume', 'earlyStopping', 'nanGuard', 'maxSteps', 'signal',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(k, `is unknown (allowed: ${[...known].join(', ')})`);
  checkPositiveInt('epochs', o.epochs);
  checkPositiveInt('maxSteps', o.maxSteps);
  checkPositiveInt('warmupSteps', o.warmupSteps, true);
  const opt = o.optimizer;
  if (opt !== undefined && opt !== 'adam' && opt !== 'sgd' && !(typeof opt === 'object' && opt !== null && typeof opt.apply === 'function')) {
    fail('optimizer', `must be 'adam', 'sgd' or an Optimizer instance, got ${JSON.stringify(opt)}`);
  }
  if (o.learningRate !== undefined && typeof o.learningRate !== 'function' && !(typeof o.learningRate === 'number' && o.learningRate > 0)) {
    fail('learningRate', `must be a positive number or a (step) => number schedule, got ${JSON.stringify(o.learningRate)}`);
  }
  if (o.beta !== undefined && typeof o.beta !== 'function' && !(typeof o.beta === 'number' && o.beta >= 0)) {
    fail('beta', `must be a number >= 0 or a (step) => number schedule, got ${JSON.stringify(o.beta)}`);
  }
  if (o.clipNorm !== undefined && !(typeof o.clipNorm === 'number' && o.clipNorm > 0)) fail('clipNorm', `must be a positive number, got ${JSON.stringify(o.clipNorm)}`);
  const p = o.reduceLrOnPlateau;
  if (p !== undefined) {
    checkPositiveInt('reduceLrOnPlateau.patience', p.patience);
    if (p.patience === undefined) fail('reduceLrOnPlateau.patience', 'is required');
    if (!(p.factor > 0 && p.factor < 1)) fail('reduceLrOnPlateau.factor', `must be in (0, 1), got ${JSON.stringify(p.factor)}`);
  }
  const e = o.earlyStopping;
  if (e !== undefined) {
    if (e.patience === undefined) fail('earlyStopping.patience', 'is required');
    checkPositiveInt('earlyStopping.patience', e.patience);
  }
  const c = o.checkpoint;
  if (c !== undefined) {
    if (c.dir === undefined) fail('checkpoint.dir', 'is required');
    checkPositiveInt('checkpoint.everyEpochs', c.everyEpochs);
    checkPositiveInt('checkpoint.everySteps', c.everySteps);
  }
  if (typeof o.nanGuard === 'object') checkPositiveInt('nanGuard.maxConsecutive', o.nanGuard.maxConsecutive);
}

function checkSource(name: string, s: BatchSource | undefined): void {
  if (s === undefined) return;
  if (s === null || typeof s !== 'object' || typeof s.batches !== 'function') fail(name, 'must be a BatchSource ({ size, batchSize, batches(epoch) })');
}

function valueAt(v: number | Schedule, step: number, what: string): number {
  const x = typeof v === 'function' ? v(step) : v;
  if (typeof x !== 'number' || Number.isNaN(x)) throw new Error(`fit: the ${what} schedule returned ${JSON.stringify(x)} at step ${step}`);
  return x;
}

/** Per-example averages of loss and terms over a source, in eval mode, one sync per batch. */
async function evaluate(model: GenerativeModel, source: BatchSource, context: { step: number; beta?: number }): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  let count = 0;
  for (const batch of source.batches(0)) {
    try {
      const n = batch.x.shape[0];
      let names: string[] = [];
      const packed = tf.tidy(() => {
        const out = model.loss(batch, context);
        names = ['loss', ...Object.keys(out.terms)];
        return tf.stack([out.loss, ...Object.values(out.terms)].map((t) => tf.reshape(t, [])));
      });
      const values = await packed.data();
      packed.dispose();
      names.forEach((k, i) => {
        sums[k] = (sums[k] ?? 0) + values[i] * n;
      });
      count += n;
    } finally {
      disposeBatch(batch);
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([k, s]) => [k, s / Math.max(1, count)]));
}

interface Snapshot {
  params: tf.Tensor[];
  opt: tf.Tensor[];
  iterations: number;
}

/**
 * Train any GenerativeModel: one loop for every variant.
 *
 * Each step computes `model.loss(batch, { step, beta })`, its gradients with
 * respect to `model.parameters()`, clips them by global norm, applies Adam or
 * SGD with the scheduled learning rate, and disposes the batch. Loss, terms
 * and gradient norms are read with one device sync per step.
 *
 * @example
 * const result = await fit(model, trainSource, { epochs: 10, validation: testSource, beta: linearWarmup(0, 1, 1000) });
 */
export async function fit(model: GenerativeModel, train: BatchSource, options: FitOptions = {}): Promise<FitResult> {
  checkOptions(options);
  checkSource('train', train);
  checkSource('validation', options.validation);
  const epochs = options.epochs ?? 1;
  const baseLr = options.learningRate ?? 1e-3;
  const warmup = options.warmupSteps ?? 0;
  const guard = options.nanGuard ?? true;
  const maxConsecutive = typeof guard === 'object' ? (guard.maxConsecutive ?? 10) : 10;
  const callbacks: Callback[] = [];
  if (options.progress ?? true) callbacks.push(progressCallback());
  if (options.metricsLog) callbacks.push(metricsLogCallback(options.metricsLog));
  callbacks.push(...(options.callbacks ?? []));

  const params = model.parameters();
  if (params.length === 0) throw new Error('fit: the model has no trainable parameters');
  const names = parameterNames(model);
  const given = typeof options.optimizer === 'object' ? options.optimizer : null;
  const optConfig: OptimizerConfig = given
    ? given.config
    : (options.optimizer ?? 'adam') === 'adam'
      ? { kind: 'adam', beta1: options.adamBeta1 ?? 0.9, beta2: options.adamBeta2 ?? 0.999, epsilon: options.epsilon ?? 1e-7 }
      : { kind: 'sgd', momentum: options.momentum ?? 0 };
  const optimizer: Optimizer = given ?? createOptimizer(optConfig, 0);

  let step = 0;
  let startEpoch = 0;
  const state: TrainerState = {
    lrScale: 1,
    plateau: { best: null, wait: 0 },
    early: { best: null, wait: 0 },
    history: [],
    batchInEpoch: 0,
    acc: { sums: {}, count: 0, seconds: 0 },
    consecutiveNonFinite: 0,
  };
  const nonFinite: NonFiniteEvent[] = [];
  let snapshot: Snapshot | null = null;
  const disposeSnapshot = () => {
    if (snapshot) tf.dispose([...snapshot.params, ...snapshot.opt]);
    snapshot = null;
  };

  try {
    if (options.resume !== undefined) {
      const ck = await loadCheckpoint(options.resume, model);
      step = ck.step;
      startEpoch = ck.epoch;
      if (ck.trainer) Object.assign(state, JSON.parse(JSON.stringify(ck.trainer)) as TrainerState);
      if (ck.optimizer) {
        try {
          if (ck.optimizer.config.kind !== optConfig.kind) {
            throw new Error(`fit: the checkpoint's optimizer is ${ck.optimizer.config.kind}, the options ask for ${optConfig.kind}`);
          }
          optimizer.setState(params, names, ck.optimizer.iterations, ck.optimizer.state);
        } finally {
          ck.optimizer.dispose();
        }
      }
    }
    optimizer.init(params);

    const betaAt = (s: number): number | undefined => (options.beta === undefined ? undefined : valueAt(options.beta, s, 'beta'));

    let stopReason: string | undefined;
    const control: TrainerControl = {
      stop(reason: string) {
        stopReason = stopReason ?? reason;
      },
    };
    const stepsPerEpoch = Math.ceil(train.size / train.batchSize);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, startEpoch, startStep: step, stepsPerEpoch, maxSteps: options.maxSteps });

    let lastSavedStep = -1;
    const save = async () => {
      if (!options.checkpoint || lastSavedStep === step) return;
      await saveCheckpoint(model, options.checkpoint.dir, { step, epoch: currentEpoch, optimizer, trainer: state });
      lastSavedStep = step;
    };
    let currentEpoch = startEpoch;
    let completedEpochs = startEpoch;

    const shouldStopBeforeStep = (): boolean => {
      if (options.signal?.aborted) control.stop('aborted');
      if (options.maxSteps !== undefined && step >= options.maxSteps) control.stop(`maxSteps (${options.maxSteps}) reached`);
      return stopReason !== undefined;
    };

    for (let epoch = startEpoch; epoch < epochs && !shouldStopBeforeStep(); epoch++) {
      currentEpoch = epoch;
      model.train(true);
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, control);
      const skip = state.batchInEpoch;
      const it = train.batches(epoch)[Symbol.iterator]();
      let complete = false;
      try {
        for (let b = 0; ; b++) {
          if (b >= skip && shouldStopBeforeStep()) {
            // Stopped inside the epoch: it is complete only if no batch is left (peek at one).
            const r = it.next();
            if (r.done) complete = true;
            else disposeBatch(r.value);
            break;
          }
          // Throughput counts producing the batch too.
          const t0 = Date.now();
          const r = it.next();
          if (r.done) {
            complete = true;
            break;
          }
          if (b < skip) {
            // Resumed mid-epoch: these batches were trained on before the checkpoint.
            disposeBatch(r.value);
            continue;
          }
          const info = await trainStep(r.value, epoch, b);
          state.acc.seconds += (Date.now() - t0) / 1000;
          state.batchInEpoch = b + 1;
          for (const cb of callbacks) await cb.onStepEnd?.(info, control);
          if (!info.applied && state.consecutiveNonFinite >= maxConsecutive) control.stop(`non-finite loss or gradients in ${maxConsecutive} consecutive steps`);
          if (options.checkpoint?.everySteps && step % options.checkpoint.everySteps === 0) await save();
        }
      } finally {
        it.return?.();
      }
      // An unfinished epoch gets no log; its accumulators stay in the state a checkpoint resumes from.
      if (!complete) break;
      const t0 = Date.now();
      const acc = state.acc;
      const trainAvg = Object.fromEntries(Object.entries(acc.sums).map(([k, s]) => [k, s / Math.max(1, acc.count)]));
      let validation: Record<string, number> | undefined;
      if (options.validation) {
        model.train(false);
        validation = await evaluate(model, options.validation, { step, beta: betaAt(step) });
        model.train(true);
      }
      const monitored = (monitor = 'loss'): number => {
        const src = validation ?? trainAvg;
        const v = src[monitor];
        if (v === undefined) throw new Error(`fit: monitored value "${monitor}" is not a loss term (have: ${Object.keys(src).join(', ')})`);
        return v;
      };
      const plateau = options.reduceLrOnPlateau;
      if (plateau) {
        const v = monitored(plateau.monitor);
        if (state.plateau.best === null || v < state.plateau.best - (plateau.minDelta ?? 0)) {
          state.plateau = { best: v, wait: 0 };
        } else if (++state.plateau.wait >= plateau.patience) {
          state.lrScale *= plateau.factor;
          state.plateau.wait = 0;
        }
      }
      const es = options.earlyStopping;
      if (es) {
        const v = monitored(es.monitor);
        if (state.early.best === null || v < state.early.best - (es.minDelta ?? 0)) {
          state.early = { best: v, wait: 0 };
        } else if (++state.early.wait >= es.patience) {
          control.stop(`early stopping: ${es.monitor ?? 'loss'} did not improve by more than ${es.minDelta ?? 0} for ${es.patience} epochs`);
        }
      }
      const seconds = acc.seconds + (Date.now() - t0) / 1000;
      const log: EpochLog = {
        epoch,
        step,
        train: trainAvg,
        ...(validation ? { validation } : {}),
        // The rate the next epoch starts with (after any plateau reduction).
        lr: lrAt(step),
        seconds,
        samplesPerSecond: acc.count / Math.max(1e-9, acc.seconds),
      };
      state.history.push(log);
      state.acc = { sums: {}, count: 0, seconds: 0 };
      state.batchInEpoch = 0;
      completedEpochs = epoch + 1;
      currentEpoch = epoch + 1;

      for (const cb of callbacks) await cb.onEpochEnd?.(log, control);
      if (options.checkpoint?.everyEpochs && completedEpochs % options.checkpoint.everyEpochs === 0) await save();
    }

    const result: FitResult = {
      history: state.history,
      steps: step,
      epochs: completedEpochs,
      stoppedEarly: stopReason !== undefined && completedEpochs < epochs,
      ...(stopReason !== undefined ? { reason: stopReason } : {}),
      nonFinite,
    };
    if (options.checkpoint && (options.checkpoint.atEnd ?? true)) await save();
    for (const cb of callbacks) await cb.onTrainEnd?.(result);
    return result;
  } finally {
    disposeSnapshot();
    if (!given) optimizer.dispose();
  }

  /** One update; returns what callbacks see. */
  async function trainStep(batch: Batch, epoch: number, batchIndex: number): Promise<StepInfo> {
    const lr = lrAt(step);
    const beta = options.beta === undefined ? undefined : valueAt(options.beta, step, 'beta');
    const n = batch.x.shape[0];
    let termNames: string[] = [];
    let grads: tf.Tensor[] = [];
    let packed: tf.Tensor1D;
    try {
      const out = tf.tidy(() => {
        let terms: tf.Tensor | null = null;
        const { value, grads: named } = tf.variableGrads(() => {
          const o = model.loss(batch, { step, ...(beta !== undefined ? { beta } : {}) });
          termNames = ['loss', ...Object.keys(o.terms)];
          terms = tf.keep(tf.stack([o.loss, ...Object.values(o.terms)].map((t) => tf.reshape(t, []))));
          return o.loss;
        }, params);
        value.dispose();
        const g = params.map((p) => named[p.name] ?? tf.zerosLike(p));
        // Squared norm per parameter: gives the global norm for clipping and tells which gradients are not finite.
        const sq = tf.stack(g.map((t) => tf.sum(tf.square(t))));
        const norm = tf.sqrt(tf.sum(sq));
        let clipped = g;
        if (options.clipNorm !== undefined) {
          const scale = tf.div(options.clipNorm, tf.maximum(norm, options.clipNorm));
          clipped = g.map((t) => tf.mul(t, scale));
        }
        const all = tf.concat([terms as unknown as tf.Tensor1D, tf.reshape(norm, [1]), sq]);
        (terms as unknown as tf.Tensor).dispose();
        return { all, clipped };
      });
      grads = out.clipped;
      packed = out.all as tf.Tensor1D;
    } catch (e) {
      disposeBatch(batch);
      throw e;
    }
    disposeBatch(batch);
    const values = await packed.data();
    packed.dispose();
    const k = termNames.length;
    const terms: Record<string, number> = {};
    for (let i = 1; i < k; i++) terms[termNames[i]] = values[i];
    const loss = values[0];
    const gradNorm = values[k];
    step += 1;
    let applied = true;
    const badTerms = termNames.filter((_, i) => !Number.isFinite(values[i]));
    const badGrads = names.filter((_, i) => !Number.isFinite(values[k + 1 + i]));
    if (guard && (badTerms.length > 0 || badGrads.length > 0)) {
      applied = false;
      tf.dispose(grads);
      state.consecutiveNonFinite += 1;
      const restored = await restoreIfCorrupted();
      const what = [
        badTerms.length > 0 ? `term${badTerms.length > 1 ? 's' : ''} ${badTerms.map((t) => `"${t}" = ${values[termNames.indexOf(t)]}`).join(', ')}` : '',
        badGrads.length > 0 ? `gradient of ${badGrads.slice(0, 5).map((g) => `"${g}"`).join(', ')}${badGrads.length > 5 ? ` and ${badGrads.length - 5} more` : ''}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      const event: NonFiniteEvent = {
        step,
        epoch,
        terms: badTerms,
        gradients: badGrads,
        restored,
        message: `NaN guard: step ${step} (epoch ${epoch + 1}): non-finite ${what}; skipped the update and ${restored ? 'restored the last good weights' : 'kept the current (finite) weights'}`,
      };
      nonFinite.push(event);
      for (const cb of callbacks) await cb.onNonFinite?.(event);
    } else {
      state.consecutiveNonFinite = 0;
      if (guard) {
        // Zero-copy on backends whose clone shares the buffer (cpu): assign() swaps buffers, the snapshot keeps the old one.
        disposeSnapshot();
        snapshot = { params: params.map((p) => tf.clone(p)), opt: optimizer.stateVariables().map((v) => tf.clone(v)), iterations: optimizer.iterations };
      }
      optimizer.learningRate = lr;
      optimizer.apply(params, grads);
      tf.dispose(grads);
      if (Number.isFinite(loss)) {
        state.acc.sums.loss = (state.acc.sums.loss ?? 0) + loss * n;
        for (const [t, v] of Object.entries(terms)) state.acc.sums[t] = (state.acc.sums[t] ?? 0) + v * n;
        state.acc.count += n;
      }
    }
    return { step, epoch, batch: batchIndex, loss, terms, gradNorm, lr, ...(beta !== undefined ? { beta } : {}), applied };
  }

  /** If the weights are no longer finite, put back the snapshot taken before the last applied update. */
  async function restoreIfCorrupted(): Promise<boolean> {
    const check = tf.tidy(() => tf.addN(params.map((p) => tf.sum(tf.mul(p, 0)))));
    const ok = Number.isFinite((await check.data())[0]);
    check.dispose();
    if (ok || !snapshot) return false;
    const snap: Snapshot = snapshot;
    params.forEach((p, i) => p.assign(snap.params[i]));
    optimizer.stateVariables().forEach((v, i) => v.assign(snap.opt[i]));
    optimizer.iterations = snap.iterations;
    return true;
  }

  function lrAt(s: number): number {
    let lr = valueAt(baseLr, s, 'learningRate');
    // minLr bounds the plateau reductions only (as Keras's min_lr), not the warm-up.
    const minLr = options.reduceLrOnPlateau?.minLr;
    if (state.lrScale !== 1) lr = minLr !== undefined ? Math.max(minLr, lr * state.lrScale) : lr * state.lrScale;
    if (warmup > 0) lr *= Math.min(1, (s + 1) / warmup);
    return lr;
  }

}
