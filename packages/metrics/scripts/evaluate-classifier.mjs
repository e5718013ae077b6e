/**
 * Re-measures the shipped MNIST classifier's test accuracy on all 10,000 MNIST
 * t10k images with the default (cpu) backend, through the built package
 * (run `pnpm build` first): node scripts/evaluate-classifier.mjs
 * Measured: 0.9914 (the same as the wasm-trained run reported in model.json).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@elbo/core';
import { mnistDataDir, readIdxFile } from '@elbo/datasets';
import { mnistClassifier } from '../dist/index.js';
const img = readIdxFile(join(mnistDataDir(), 't10k-images-idx3-ubyte')).data;
const lab = readIdxFile(join(mnistDataDir(), 't10k-labels-idx1-ubyte')).data;
const clf = await mnistClassifier();
let correct = 0; const t0 = Date.now();
for (let s = 0; s < 10000; s += 500) {
  const x = tf.tensor2d(Float32Array.from(img.subarray(s * 784, (s + 500) * 784), (v) => v / 255), [500, 784]);
  const p = clf.classify(x); const d = p.dataSync();
  for (let i = 0; i < 500; i++) if (d[i] === lab[s + i]) correct++;
  tf.dispose([x, p]);
}
console.log(`backend ${tf.getBackend()} accuracy ${correct / 10000} (${(Date.now() - t0) / 1000} s), tensors ${tf.memory().numTensors}`);
