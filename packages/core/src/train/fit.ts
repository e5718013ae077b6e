import { parameterNames } from '../io/checkpoint';
import { type BatchSource, disposeBatch, type GenerativeModel, type LossContext } from '../model';
import { ConfigError } from '../registry';
import { type Callback, type EpochLog, type FitResult, metricsLogCallback, type NonFiniteEvent, progressCallback, type StepInfo, type TrainerControl } from './callbacks';
import { earlyStopping } from './early-stopping';
import { evaluate } from './evaluate';
import { LearningRateSchedule, valueAt } from './lr-schedule';
import { NanGuard } from './nan-guard';
import { createOptimizer, type Optimizer, type OptimizerConfig } from './optimizers';
import { checkTrainSource, type FitOptions, parseFitOptions, type ResolvedFitOptions } from './options';
import { PendingSteps, type StepRow } from './readback';
import { reduceLrOnPlateau } from './reduce-lr-on-plateau';
import { initialTrainerState, type ResumePoint, resumeFrom, saveTrainingCheckpoint } from './resume';
import { trainStep } from './step';

export type { FitOptions } from './options';
export type { Callback, EpochLog, FitResult, NonFiniteEvent, StepInfo, TrainerControl };

function resolveOptimizer(o: ResolvedFitOptions): { optimizer: Optimizer; config: OptimizerConfig; owned: boolean } {
  if (typeof o.optimizer === 'object') return { optimizer: o.optimizer, config: o.optimizer.config, owned: false };
  const config: OptimizerConfig = o.optimizer === 'adam' ? { kind: 'adam', beta1: o.adamBeta1, beta2: o.adamBeta2, epsilon: o.epsilon } : { kind: 'sgd', momentum: o.momentum };
  return { optimizer: createOptimizer(config, 0), config, owned: true };
}

/** The callbacks a run uses: those its options ask for, then the caller's. */
function runCallbacks(o: ResolvedFitOptions): Callback[] {
  const out: Callback[] = [];
  // First, so that a plateau reduction is in place before the epoch's log is made and the others see it.
  if (o.reduceLrOnPlateau) out.push(reduceLrOnPlateau(o.reduceLrOnPlateau));
  if (o.earlyStopping) out.push(earlyStopping(o.earlyStopping));
  if (o.progress) out.push(progressCallback());
  if (o.metricsLog) out.push(metricsLogCallback(o.metricsLog));
  out.push(...o.callbacks);
  const keys = out.flatMap((cb) => (cb.state ? [cb.state.key] : []));
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw new ConfigError(`Invalid fit options: two callbacks keep their state under the key "${dup}"`, 'callbacks');
  return out;
}

/**
 * Train any GenerativeModel: one loop for every variant.
 *
 * Each step (step.ts) computes `model.loss(batch, { step, klWeight })`, its
 * gradients, clips them, and applies the optimizer with the scheduled learning
 * rate (lr-schedule.ts), gated on the device by the NaN guard (nan-guard.ts).
 * The loop does not wait on the device between log points: every `logEvery`
 * steps, at an epoch's end, before a checkpoint and when training stops, the
 * values of the steps since the last read come back in one read
 * (readback.ts). Plateau and early stopping are callbacks; checkpoints carry
 * the trainer state a resumed run needs to continue exactly (resume.ts).
 *
 * @example
 * const result = await fit(model, trainSource, { epochs: 10, validation: testSource, klWeight: linearWarmup({ annealSteps: 1000 }) });
 */
export async function fit(model: GenerativeModel, train: BatchSource, options: FitOptions = {}): Promise<FitResult> {
  const o = parseFitOptions(options);
  checkTrainSource(train);
  if (o.klWeight !== undefined && !model.usesKlWeight) {
    throw new ConfigError(`Invalid fit options: field "klWeight" is set, but variant "${model.variant}" has no KL term it scales (its usesKlWeight is false)`, 'klWeight');
  }
  const callbacks = runCallbacks(o);
  const params = model.parameters();
  if (params.length === 0) throw new Error('fit: the model has no trainable parameters');
  const names = parameterNames(model);
  const { optimizer, config: optConfig, owned } = resolveOptimizer(o);
  const schedule = new LearningRateSchedule(o.learningRate, o.warmupSteps);
  const klWeightAt = (s: number): number | undefined => (o.klWeight === undefined ? undefined : valueAt(o.klWeight, s, 'klWeight'));
  const contextAt = (s: number): LossContext => {
    const klWeight = klWeightAt(s);
    return klWeight === undefined ? { step: s } : { step: s, klWeight };
  };
  const guard = o.nanGuard === false ? null : new NanGuard(params, optimizer, names, o.nanGuard === true ? 10 : (o.nanGuard.maxConsecutive ?? 10));
  const pending = new PendingSteps();
  const nonFinite: NonFiniteEvent[] = [];
  let point: ResumePoint = { step: 0, epoch: 0, state: initialTrainerState() };

  try {
    if (o.resume !== undefined) point = await resumeFrom(o.resume, model, optimizer, optConfig, names, schedule, callbacks);
    optimizer.init(params);
    guard?.takeSnapshot();
    const state = point.state;
    const startEpoch = point.epoch;

    let stopReason: string | undefined;
    const control: TrainerControl = {
      stop: (reason) => void (stopReason = stopReason ?? reason),
      reduceLearningRate: (factor, minLr) => schedule.reduce(factor, minLr),
    };
    const stepsPerEpoch = Math.ceil(train.size / train.batchSize);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs: o.epochs, startEpoch, startStep: point.step, stepsPerEpoch, maxSteps: o.maxSteps });

    /** Read the pending steps (one device read), add them to the epoch's sums, and let the NaN guard review them. */
    const readBack = async (): Promise<StepRow[]> => {
      if (pending.length === 0) return [];
      const { rows, extra } = await pending.read(guard ? [guard.weightsCheck()] : []);
      for (const r of rows) {
        // Skipped steps, and without the guard non-finite losses, stay out of the averages.
        if ((guard && !r.finite) || !Number.isFinite(r.loss)) continue;
        const acc = state.acc;
        acc.sums.loss = (acc.sums.loss ?? 0) + r.loss * r.size;
        for (const [t, v] of Object.entries(r.terms)) acc.sums[t] = (acc.sums[t] ?? 0) + v * r.size;
        acc.count += r.size;
      }
      if (guard) {
        const review = guard.review(rows, extra[0] === 0, state.consecutiveNonFinite);
        state.consecutiveNonFinite = review.consecutive;
        for (const e of review.events) {
          nonFinite.push(e);
          for (const cb of callbacks) await cb.onNonFinite?.(e);
        }
        if (state.consecutiveNonFinite >= guard.maxConsecutive) control.stop(`non-finite loss or gradients in ${guard.maxConsecutive} consecutive steps`);
      }
      return rows;
    };

    let lastSavedStep = -1;
    const save = async () => {
      if (!o.checkpoint || lastSavedStep === point.step) return;
      await readBack();
      await saveTrainingCheckpoint(o.checkpoint.dir, model, optimizer, point, schedule, callbacks);
      lastSavedStep = point.step;
    };
    let completedEpochs = startEpoch;

    const shouldStopBeforeStep = (): boolean => {
      if (o.signal?.aborted) control.stop('aborted');
      if (o.maxSteps !== undefined && point.step >= o.maxSteps) control.stop(`maxSteps (${o.maxSteps}) reached`);
      return stopReason !== undefined;
    };

    for (let epoch = startEpoch; epoch < o.epochs && !shouldStopBeforeStep(); epoch++) {
      point.epoch = epoch;
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
          const step = point.step;
          const lr = schedule.at(step);
          const context = contextAt(step);
          const size = r.value.x.shape[0];
          const out = trainStep(model, params, optimizer, r.value, { context, learningRate: lr, clipNorm: o.clipNorm, gate: guard !== null });
          point.step = step + 1;
          pending.push({ step: point.step, epoch, batch: b, size, lr, ...(context.klWeight !== undefined ? { klWeight: context.klWeight } : {}) }, out);
          state.batchInEpoch = b + 1;
          const logPoint =
            point.step % o.logEvery === 0 || b + 1 === stepsPerEpoch || (o.maxSteps !== undefined && point.step >= o.maxSteps) || (o.checkpoint?.everySteps !== undefined && point.step % o.checkpoint.everySteps === 0);
          const row = logPoint ? (await readBack()).at(-1) : undefined;
          state.acc.seconds += (Date.now() - t0) / 1000;
          const info: StepInfo = { step: point.step, epoch, batch: b, lr, ...(context.klWeight !== undefined ? { klWeight: context.klWeight } : {}) };
          if (row) info.values = { loss: row.loss, terms: row.terms, gradNorm: row.gradNorm, applied: guard === null || row.finite };
          for (const cb of callbacks) await cb.onStepEnd?.(info, control);
          if (o.checkpoint?.everySteps && point.step % o.checkpoint.everySteps === 0) await save();
        }
      } finally {
        it.return?.();
      }
      const t0 = Date.now();
      await readBack();
      // An unfinished epoch gets no log; its accumulators stay in the state a checkpoint resumes from.
      if (!complete) break;
      const acc = state.acc;
      const trainAvg = Object.fromEntries(Object.entries(acc.sums).map(([k, s]) => [k, s / Math.max(1, acc.count)]));
      let validation: Record<string, number> | undefined;
      if (o.validation) {
        model.train(false);
        validation = await evaluate(model, o.validation, contextAt(point.step));
        model.train(true);
      }
      for (const cb of callbacks) await cb.onEpochMetrics?.({ epoch, step: point.step, train: trainAvg, ...(validation ? { validation } : {}) }, control);
      const log: EpochLog = {
        epoch,
        step: point.step,
        train: trainAvg,
        ...(validation ? { validation } : {}),
        // The rate the next epoch starts with (after any plateau reduction).
        lr: schedule.at(point.step),
        seconds: acc.seconds + (Date.now() - t0) / 1000,
        samplesPerSecond: acc.count / Math.max(1e-9, acc.seconds),
      };
      state.history.push(log);
      state.acc = { sums: {}, count: 0, seconds: 0 };
      state.batchInEpoch = 0;
      completedEpochs = epoch + 1;
      point.epoch = epoch + 1;

      for (const cb of callbacks) await cb.onEpochEnd?.(log, control);
      if (o.checkpoint?.everyEpochs && completedEpochs % o.checkpoint.everyEpochs === 0) await save();
    }

    await readBack();
    const result: FitResult = {
      history: state.history,
      steps: point.step,
      epochs: completedEpochs,
      stoppedEarly: stopReason !== undefined && completedEpochs < o.epochs,
      ...(stopReason !== undefined ? { reason: stopReason } : {}),
      nonFinite,
    };
    if (o.checkpoint?.atEnd) await save();
    for (const cb of callbacks) await cb.onTrainEnd?.(result);
    return result;
  } finally {
    pending.dispose();
    guard?.dispose();
    if (owned) optimizer.dispose();
  }
}
