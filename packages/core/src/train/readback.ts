import * as tf from '@tensorflow/tfjs-core';
import type { StepOutput } from './step';

/** Host-side facts about a step, known when it ran. */
export interface StepMeta {
  step: number;
  epoch: number;
  batch: number;
  /** Examples in the batch. */
  size: number;
  lr: number;
  klWeight?: number;
}

/** A step's values after the read-back. */
export interface StepRow extends StepMeta {
  loss: number;
  terms: Record<string, number>;
  /** 'loss' and term names, and their values. */
  termNames: string[];
  termValues: number[];
  gradNorm: number;
  /** Squared gradient norm per parameter. */
  gradSquares: Float32Array;
  /** Loss, terms and gradients all finite (the step's check read 0, not NaN). */
  finite: boolean;
}

/**
 * The steps since the last read-back, whose values wait on the device in one
 * small buffer (a few numbers per step), and their one read: the trainer
 * reads every `logEvery` steps instead of every step, so a GPU backend is not
 * stalled per step. Each step's values are appended to the buffer with a
 * two-input concat (WebGPU binds every input of a kernel at once, so one
 * concat of a whole window of tensors would pass its binding limit).
 */
export class PendingSteps {
  private buffer: tf.Tensor1D | null = null;
  private steps: { meta: StepMeta; termNames: string[]; size: number }[] = [];

  get length(): number {
    return this.steps.length;
  }

  /** Take over `out.packed` (disposed here). */
  push(meta: StepMeta, out: StepOutput): void {
    const prev = this.buffer;
    this.buffer = prev ? (tf.concat([prev, out.packed]) as tf.Tensor1D) : out.packed;
    if (prev) tf.dispose([prev, out.packed]);
    this.steps.push({ meta, termNames: out.termNames, size: out.packed.size });
  }

  /**
   * Read every pending step, and `extra` scalars along with them, in one
   * device read; disposes what it read (`extra` included).
   */
  async read(extra: tf.Tensor[] = []): Promise<{ rows: StepRow[]; extra: number[] }> {
    const steps = this.steps;
    const buffer = this.buffer;
    this.steps = [];
    this.buffer = null;
    let all: Float32Array;
    try {
      if (!buffer) return { rows: [], extra: [] };
      const joined = tf.tidy(() => extra.reduce<tf.Tensor>((acc, t) => tf.concat([acc, tf.reshape(t, [1])]), buffer));
      try {
        all = (await joined.data()) as Float32Array;
      } finally {
        if (joined !== buffer) joined.dispose();
      }
    } finally {
      tf.dispose(buffer ? [buffer, ...extra] : extra);
    }
    let at = 0;
    const rows = steps.map(({ meta, termNames, size }) => {
      const v = all.subarray(at, at + size);
      at += size;
      const k = termNames.length;
      const termValues = Array.from(v.subarray(0, k));
      const terms: Record<string, number> = {};
      for (let i = 1; i < k; i++) terms[termNames[i]] = termValues[i];
      return {
        ...meta,
        loss: termValues[0],
        terms,
        termNames,
        termValues,
        gradNorm: v[k],
        gradSquares: v.slice(k + 1, v.length - 1),
        finite: v[v.length - 1] === 0,
      };
    });
    return { rows, extra: Array.from(all.subarray(at)) };
  }

  dispose(): void {
    this.buffer?.dispose();
    this.buffer = null;
    this.steps = [];
  }
}
