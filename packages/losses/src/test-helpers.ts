// Shared by the tests only (not exported from index.ts).
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** |a - b| <= tol, with a readable failure. */
export function close(a: number, b: number, tol: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol);
}

/** Run fn in tf.tidy and return the scalar it computes as a number. */
export function value(fn: () => tf.Tensor): number {
  return tf.tidy(() => fn().dataSync()[0]);
}

/** Run fn in tf.tidy and return the tensor's values as a plain array. */
export function values(fn: () => tf.Tensor): number[] {
  return tf.tidy(() => Array.from(fn().dataSync()));
}

/** A tf.Variable from nested arrays, without leaving the initial tensor allocated. */
export function variable(data: number[] | number[][], name?: string): tf.Variable {
  const t = tf.tensor(data);
  const v = tf.variable(t, true, name);
  t.dispose();
  return v;
}

/** Assert no tensors leak from each test (call at the top of a describe or file). */
export function expectNoLeaks(beforeEach: (fn: () => void) => void, afterEach: (fn: () => void) => void): void {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });
}
