import { defaultProgressStream, ProgressBar, type ProgressStream } from './progress-bar';

/** Hooks the trainer calls; every method may be async. */
export interface Callback {
  onTrainBegin?(info: TrainBeginInfo): void | Promise<void>;
  onEpochBegin?(epoch: number, control: TrainerControl): void | Promise<void>;
  /** After every step; `info.values` (loss, terms, gradient norm) only at log points. */
  onStepEnd?(info: StepInfo, control: TrainerControl): void | Promise<void>;
  /**
   * At an epoch's end, once its averages (and validation) are known and before
   * its log is made: where callbacks that change training act (a plateau
   * reduction shows in the log's `lr`).
   */
  onEpochMetrics?(metrics: EpochMetrics, control: TrainerControl): void | Promise<void>;
  onEpochEnd?(log: EpochLog, control: TrainerControl): void | Promise<void>;
  /** A step whose loss or gradient was not finite (the NaN guard skipped it). */
  onNonFinite?(event: NonFiniteEvent): void | Promise<void>;
  onTrainEnd?(result: FitResult): void | Promise<void>;
  /** Bookkeeping saved in checkpoints (under `state.key`) so that a resumed run continues exactly. */
  state?: CallbackState;
}

/** A callback's JSON-serialisable state, saved with the trainer's in checkpoints. */
export interface CallbackState {
  /** Unique among the callbacks of one run. */
  key: string;
  get(): unknown;
  set(value: unknown): void;
}

/** What callbacks may change in the running trainer. */
export interface TrainerControl {
  /** End training after the current step. */
  stop(reason: string): void;
  /** Multiply the learning rate by `factor` from now on (kept in checkpoints); the reduced rate stays at or above `minLr`. */
  reduceLearningRate(factor: number, minLr?: number): void;
}

/** An epoch's per-example averages, as `onEpochMetrics` sees them. */
export interface EpochMetrics {
  epoch: number;
  /** Global step at the end of the epoch. */
  step: number;
  train: Record<string, number>;
  validation?: Record<string, number>;
}

export interface TrainBeginInfo {
  epochs: number;
  /** Epoch and global step training starts from (non-zero after resume). */
  startEpoch: number;
  startStep: number;
  /** Batches per epoch (from the source's size and batch size). */
  stepsPerEpoch: number;
  maxSteps?: number;
}

export interface StepInfo {
  /** Global step just completed (1-based count of updates). */
  step: number;
  epoch: number;
  /** Index of the batch within the epoch (0-based). */
  batch: number;
  /** Learning rate of this step's update. */
  lr: number;
  /** KL weight this step's loss used (when fit was given `klWeight`). */
  klWeight?: number;
  /**
   * This step's values, read back from the device at log points (every
   * `logEvery` steps, an epoch's last step, before a checkpoint, when training
   * stops); absent in between, so that the loop does not wait on the device.
   */
  values?: StepValues;
}

export interface StepValues {
  loss: number;
  terms: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Whether the update was applied (false when the NaN guard skipped it). */
  applied: boolean;
}

export interface EpochLog {
  epoch: number;
  /** Global step at the end of the epoch. */
  step: number;
  /** Per-example averages of the loss and each named term over the epoch. */
  train: Record<string, number>;
  /** Same on the validation source, when one is given. */
  validation?: Record<string, number>;
  /** Learning rate at the end of the epoch. */
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface NonFiniteEvent {
  step: number;
  epoch: number;
  /** Names of the loss terms (and 'loss') that were NaN or infinite. */
  terms: string[];
  /** Dotted names of parameters whose gradient was not finite. */
  gradients: string[];
  /** Whether the weights had become non-finite and were restored from the last good step. */
  restored: boolean;
  message: string;
}

export interface FitResult {
  history: EpochLog[];
  /** Global step count at the end. */
  steps: number;
  /** Completed epochs. */
  epochs: number;
  stoppedEarly: boolean;
  /** Why training ended before `epochs` (early stopping, maxSteps, aborted, non-finite, a callback's reason). */
  reason?: string;
  nonFinite: NonFiniteEvent[];
}

function formatTerms(terms: Record<string, number>): string {
  return Object.entries(terms)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toPrecision(4) : String(v)}`)
    .join('  ');
}

type Stream = ProgressStream;

/**
 * Progress report: a redrawn bar (epoch, step, rate, ETA, latest loss read
 * back; the shared ProgressBar) when the stream is a terminal, plain lines at
 * each epoch end otherwise (CI logs, files), and with `everySteps` a line at
 * log points whose step is a multiple of it.
 * Outside Node it logs epoch lines to the console.
 */
export function progressCallback(options: { stream?: Stream; everySteps?: number } = {}): Callback {
  const stream: Stream = options.stream ?? defaultProgressStream();
  const tty = stream.isTTY === true;
  let total = 0;
  let epochs = 0;
  // The latest loss read back (values arrive at the trainer's log points).
  let loss = Number.NaN;
  // Drawn only on a terminal; elsewhere the epoch lines below say it.
  const bar = new ProgressBar('epoch', 0, { stream, unit: 'steps', enabled: tty });
  return {
    onTrainBegin(info) {
      total = info.stepsPerEpoch;
      epochs = info.epochs;
    },
    onEpochBegin(epoch) {
      bar.reset(`epoch ${epoch + 1}/${epochs}`, total);
    },
    onStepEnd(info) {
      if (info.values) loss = info.values.loss;
      if (!tty) {
        if (info.values && options.everySteps && info.step % options.everySteps === 0) {
          stream.write(`epoch ${info.epoch + 1}/${epochs} step ${info.step}  loss ${info.values.loss.toPrecision(4)}  ${formatTerms(info.values.terms)}\n`);
        }
        return;
      }
      // No loss until the first read-back (every logEvery steps): say nothing rather than NaN.
      bar.update(info.batch + 1, Number.isFinite(loss) ? `loss ${loss.toPrecision(4)}` : undefined);
    },
    onEpochEnd(log) {
      const val = log.validation ? `  | val ${formatTerms(log.validation)}` : '';
      const line = `epoch ${log.epoch + 1}/${epochs}  step ${log.step}  ${formatTerms(log.train)}${val}  lr ${log.lr.toPrecision(3)}  ${log.seconds.toFixed(1)}s  ${log.samplesPerSecond.toFixed(0)} samples/s`;
      stream.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
    onNonFinite(event) {
      stream.write(`${tty ? '\r\x1b[2K' : ''}${event.message}\n`);
    },
    onTrainEnd(result) {
      if (result.reason) stream.write(`training stopped: ${result.reason}\n`);
    },
  };
}

/**
 * Append one JSON object per line to `path` (Node): `{"type":"step",...}` at
 * the trainer's log points whose step is a multiple of `everySteps` (default
 * 1: every log point; 0 = none) and `{"type":"epoch",...}` at each epoch end. Lines are buffered and flushed at epoch end and train end.
 */
export function metricsLogCallback(path: string, options: { everySteps?: number } = {}): Callback {
  if (typeof path !== 'string' || path.length === 0) throw new Error(`metricsLog: path must be a non-empty string, got ${JSON.stringify(path)}`);
  const every = options.everySteps ?? 1;
  let lines: string[] = [];
  const flush = async () => {
    if (lines.length === 0) return;
    const fs = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    await fs.mkdir(dirname(path), { recursive: true });
    const text = lines.join('');
    lines = [];
    await fs.appendFile(path, text);
  };
  const time = () => new Date().toISOString();
  return {
    onStepEnd(info) {
      const v = info.values;
      if (v && every > 0 && info.step % every === 0) {
        lines.push(`${JSON.stringify({ type: 'step', time: time(), step: info.step, epoch: info.epoch, loss: v.loss, terms: v.terms, gradNorm: v.gradNorm, lr: info.lr, klWeight: info.klWeight, applied: v.applied })}\n`);
      }
    },
    async onEpochEnd(log) {
      lines.push(`${JSON.stringify({ type: 'epoch', time: time(), ...log })}\n`);
      await flush();
    },
    onNonFinite(event) {
      lines.push(`${JSON.stringify({ type: 'non-finite', time: time(), ...event })}\n`);
    },
    async onTrainEnd(result) {
      lines.push(`${JSON.stringify({ type: 'end', time: time(), steps: result.steps, epochs: result.epochs, stoppedEarly: result.stoppedEarly, reason: result.reason })}\n`);
      await flush();
    },
  };
}
