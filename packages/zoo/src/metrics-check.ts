import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { useBackend } from '@elbo/core';
import { measureCard, sharedClassifier } from './evaluate';
import { loadPretrained, pretrainedCard } from './index';

/**
 * Relative tolerance between a card's metrics and the test's re-measurement: the same weights,
 * data and seeds, so only the backend's float rounding differs (the builder may have run on wasm
 * or the native backend, the tests run on tfjs's cpu backend).
 */
export const CARD_TOLERANCE = 0.02;

/** Load a zoo model as a user would, re-measure its card's metrics at the card's evaluation size, compare. */
export async function checkCardMetrics(name: string): Promise<void> {
  const card = pretrainedCard(name);
  // The builder measured on wasm (the backend useBackend('auto') picks here); the same backend keeps the numbers close and the test quick.
  await useBackend('wasm');
  // The classifier stays loaded for the process: load it before counting tensors.
  if (card.data.dataset === 'mnist') await sharedClassifier();
  const before = tf.memory().numTensors;
  const model = await loadPretrained(name);
  try {
    const metrics = await measureCard(model, card.data, card.evaluation);
    for (const [k, v] of Object.entries(card.metrics)) {
      expect(metrics[k], `${name}: ${k} was not re-measured`).toBeDefined();
      const relative = Math.abs(metrics[k] - v) / Math.max(Math.abs(v), 1e-3);
      expect(relative, `${name}: ${k} is ${metrics[k]}, the card says ${v}`).toBeLessThanOrEqual(CARD_TOLERANCE);
    }
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
}
