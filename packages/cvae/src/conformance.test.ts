import * as tf from '@tensorflow/tfjs-core';
import { createModel, type GenerativeModel } from '@elbo/core';
import { describeVariant } from '@elbo/core/testing';
import './index';

// The shared variant suite on small class- and vector-conditioned CVAEs. Conditions come with
// every batch (seeded labels / vectors) and with sampling, as the kit's options allow.
const classes = 3;
const vectorDim = 2;

describeVariant(
  'cvae',
  createModel,
  [
    { label: 'mlp, class labels', config: { variant: 'cvae', seed: 1, inputShape: [12], numClasses: classes, hiddenDims: [16], latentDim: 3 } },
    { label: 'mlp, condition vectors, embedded', config: { variant: 'cvae', seed: 2, inputShape: [12], conditionDim: vectorDim, conditionEmbedding: 4, hiddenDims: [16], latentDim: 3, likelihood: 'gaussian' } },
    { label: 'conv, class labels', config: { variant: 'cvae', seed: 3, architecture: 'conv', inputShape: [8, 8, 1], numClasses: classes, convChannels: [4, 8], latentDim: 2 } },
  ],
  {
    makeBatch: (m: GenerativeModel, rng) => {
      const n = 8;
      const x = tf.randomUniform([n, ...m.inputShape], 0, 1, 'float32', rng.nextSeed());
      if (m.config.numClasses !== undefined) return { x, condition: tf.tensor1d(Array.from({ length: n }, (_, i) => i % classes), 'int32') };
      return { x, condition: tf.randomUniform([n, vectorDim], 0, 1, 'float32', rng.nextSeed()) };
    },
    sampleOptions: (m, n) =>
      // Vector models need a condition to sample; class models default to labels 0, 1, 2, ...
      m.config.conditionDim !== undefined ? { condition: tf.tensor2d(Array.from({ length: n * vectorDim }, (_, i) => (i % 5) / 5), [n, vectorDim]) } : {},
    expectedTerms: ['reconstruction', 'kl', 'elbo', 'klWeight'],
    badConfigs: [
      { config: { variant: 'cvae', inputShape: [12], latentDim: 2 }, message: /field "numClasses" or conditionDim is required/ },
      { config: { variant: 'cvae', inputShape: [12], numClasses: 3, conditionDim: 2, latentDim: 2 }, message: /field "conditionDim" cannot be given together/ },
      { config: { variant: 'cvae', inputShape: [12], numClasses: 1, latentDim: 2 }, message: /field "numClasses"/ },
      { config: { variant: 'cvae', architecture: 'conv', inputShape: [12], numClasses: 3, latentDim: 2 }, message: /field "inputShape" must be \[height, width, channels\]/ },
    ],
  },
);
