import type * as tf from '@tensorflow/tfjs-core';

/**
 * What the generation metrics need from a network: features for the Fréchet
 * distance and precision/recall, class probabilities for the Inception Score.
 * Any object of this shape plugs in (an Inception network where one is available,
 * the shipped MNIST classifier by default for MNIST-like data).
 */
export interface FeatureExtractor {
  /** A short name reported with the scores, e.g. 'mnist-classifier'. */
  readonly name: string;
  /** @param x [n, ...imageShape] -> [n, featureDim] (tidy: returns only its output) */
  features(x: tf.Tensor): tf.Tensor2D;
  /** Class probabilities, [n, classes], for the Inception Score. */
  probabilities?(x: tf.Tensor): tf.Tensor2D;
}
