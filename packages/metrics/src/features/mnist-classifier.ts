import * as tf from '@tensorflow/tfjs-core';
import { Dense, Module, Rng } from '@elbo/core';
import type { FeatureExtractor } from './feature-extractor';
import { maxPool2x2 } from './patch-ops';
import { Im2colConv2d } from './im2col-conv2d';

/** Architecture of the shipped MNIST classifier (stored in model.json's modelTopology). */
export interface MnistClassifierConfig {
  /** Channels of the two 3x3 conv layers (each followed by 2x2 max pooling). */
  channels: [number, number];
  /** Width of the penultimate (feature) layer. */
  featureDim: number;
}

export const DEFAULT_MNIST_CLASSIFIER_CONFIG: MnistClassifierConfig = { channels: [16, 32], featureDim: 128 };

/**
 * A small convnet for 28x28 grey images in [0, 1] (MNIST-like data):
 * conv3x3(c1)-relu-maxpool2 -> conv3x3(c2)-relu-maxpool2 -> dense(featureDim)-relu -> dense(10).
 * The penultimate activations are the features of "FID (MNIST classifier)",
 * as TF-GAN's `mnist_frechet_distance` uses its MNIST classifier.
 */
export class MnistClassifier extends Module implements FeatureExtractor {
  readonly name = 'mnist-classifier';
  /** Training facts stored with the weights (testAccuracy, epochs, seed, ...). */
  metadata: Record<string, unknown> = {};
  readonly conv1: Im2colConv2d;
  readonly conv2: Im2colConv2d;
  readonly fc1: Dense;
  readonly fc2: Dense;

  constructor(
    readonly config: MnistClassifierConfig = DEFAULT_MNIST_CLASSIFIER_CONFIG,
    rng: Rng = new Rng(0),
  ) {
    super();
    const [c1, c2] = config.channels;
    this.conv1 = this.addModule('conv1', new Im2colConv2d(1, c1, 3, rng));
    this.conv2 = this.addModule('conv2', new Im2colConv2d(c1, c2, 3, rng));
    this.fc1 = this.addModule('fc1', new Dense(7 * 7 * c2, config.featureDim, rng, { activation: 'relu', init: 'heNormal' }));
    this.fc2 = this.addModule('fc2', new Dense(config.featureDim, 10, rng, { init: 'glorotUniform' }));
  }

  /** Accepts [n, 784], [n, 28, 28] or [n, 28, 28, 1] with pixel values in [0, 1]. */
  private toImages(x: tf.Tensor): tf.Tensor4D {
    const n = x.shape[0];
    if (x.size !== n * 784 || !(x.rank >= 2 && x.rank <= 4)) {
      throw new Error(`MnistClassifier: images must be [n, 784], [n, 28, 28] or [n, 28, 28, 1], got [${x.shape.join(', ')}]`);
    }
    return tf.reshape(tf.cast(x, 'float32'), [n, 28, 28, 1]) as tf.Tensor4D;
  }

  /**
   * Penultimate-layer activations.
   * @param x [n, 784] | [n, 28, 28] | [n, 28, 28, 1] in [0, 1]
   * @returns [n, featureDim]
   */
  features(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor = this.toImages(x);
      h = maxPool2x2(this.conv1.apply(h));
      h = maxPool2x2(this.conv2.apply(h));
      return this.fc1.apply(tf.reshape(h, [h.shape[0], -1])) as tf.Tensor2D;
    });
  }

  /** Class logits. @param x as in `features` @returns [n, 10] */
  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.fc2.apply(this.features(x)) as tf.Tensor2D);
  }

  /** Class probabilities. @returns [n, 10] */
  probabilities(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)) as tf.Tensor2D);
  }

  /** Predicted digits. @returns [n] int32 */
  classify(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => tf.argMax(this.logits(x), 1) as tf.Tensor1D);
  }
}
