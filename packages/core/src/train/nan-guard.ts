import * as tf from '@tensorflow/tfjs-core';
import type { NonFiniteEvent } from './callbacks';
import type { Optimizer } from './optimizers';
import type { StepRow } from './readback';

interface Snapshot {
  params: tf.Tensor[];
  opt: tf.Tensor[];
  iterations: number;
}

/**
 * The NaN guard's host side. The step itself gates its update on the device
 * (see `trainStep`), so a step with a non-finite loss, term or gradient
 * changes nothing without the trainer reading anything. At each log point the
 * guard looks at the steps read back: it names the bad terms and gradients,
 * counts consecutive bad steps, and if the weights have become non-finite
 * anyway (e.g. something outside the trainer wrote them) puts back the last
 * weights and optimizer state it saw finite.
 *
 * The snapshot is taken at log points whose steps were all finite; clones
 * share buffers with the variables (updates assign new ones), so it costs
 * references rather than copies until the next update.
 */
export class NanGuard {
  private snapshot: Snapshot | null = null;

  constructor(
    private readonly params: tf.Variable[],
    private readonly optimizer: Optimizer,
    private readonly paramNames: string[],
    readonly maxConsecutive: number,
  ) {}

  /** A scalar on the device, 0 when every weight is finite, else NaN: read with the steps at a log point. */
  weightsCheck(): tf.Tensor {
    // Pairwise adds, not addN: WebGPU's addN binds every input at once and fails past its binding limit.
    return tf.tidy(() => this.params.map((p) => tf.sum(tf.mul(p, 0))).reduce((a, b) => tf.add(a, b)));
  }

  /** Keep the current weights and optimizer state as the last good ones. */
  takeSnapshot(): void {
    this.disposeSnapshot();
    this.snapshot = {
      params: this.params.map((p) => tf.clone(p)),
      opt: this.optimizer.stateVariables().map((v) => tf.clone(v)),
      iterations: this.optimizer.iterations,
    };
  }

  /**
   * Review the steps read at a log point: returns one event per bad step and
   * the updated count of consecutive bad steps. Restores the snapshot when the
   * weights are not finite (`weightsFinite` as read with the steps).
   */
  review(rows: StepRow[], weightsFinite: boolean, consecutive: number): { events: NonFiniteEvent[]; consecutive: number } {
    const events: NonFiniteEvent[] = [];
    for (const row of rows) {
      if (row.finite) {
        consecutive = 0;
        continue;
      }
      consecutive += 1;
      const badTerms = row.termNames.filter((_, i) => !Number.isFinite(row.termValues[i]));
      const badGrads = this.paramNames.filter((_, i) => !Number.isFinite(row.gradSquares[i]));
      const what = [
        badTerms.length > 0 ? `term${badTerms.length > 1 ? 's' : ''} ${badTerms.map((t) => `"${t}" = ${row.termValues[row.termNames.indexOf(t)]}`).join(', ')}` : '',
        badGrads.length > 0 ? `gradient of ${badGrads.slice(0, 5).map((g) => `"${g}"`).join(', ')}${badGrads.length > 5 ? ` and ${badGrads.length - 5} more` : ''}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      events.push({ step: row.step, epoch: row.epoch, terms: badTerms, gradients: badGrads, restored: false, message: `NaN guard: step ${row.step} (epoch ${row.epoch + 1}): non-finite ${what}; skipped the update` });
    }
    const restored = !weightsFinite && this.restore();
    if (events.length > 0) {
      // The weights are checked once per log point: the last bad step of the window reports what was done.
      const last = events[events.length - 1];
      last.restored = restored;
      last.message += restored ? ' and restored the last good weights' : ' and kept the current (finite) weights';
      for (const e of events.slice(0, -1)) e.message += ' (the weights were unchanged)';
    } else if (weightsFinite) {
      this.takeSnapshot();
    }
    return { events, consecutive };
  }

  private restore(): boolean {
    const snap = this.snapshot;
    if (!snap) return false;
    this.params.forEach((p, i) => p.assign(snap.params[i]));
    this.optimizer.stateVariables().forEach((v, i) => v.assign(snap.opt[i]));
    this.optimizer.iterations = snap.iterations;
    return true;
  }

  private disposeSnapshot(): void {
    if (this.snapshot) tf.dispose([...this.snapshot.params, ...this.snapshot.opt]);
    this.snapshot = null;
  }

  dispose(): void {
    this.disposeSnapshot();
  }
}
