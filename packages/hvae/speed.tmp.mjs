import * as tf from '@tensorflow/tfjs-core';
import { createHvae } from '@elbo/hvae';
await import('/work/main/packages/core/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js');
await tf.setBackend('wasm');
console.log('backend', tf.getBackend());
const cfgs = [
  { variant: 'hvae', inputShape: [784], latentDims: [32, 16, 8], hiddenDims: [256, 128, 64], blockDepth: 2, seed: 1 },
];
for (const cfg of cfgs) {
  const m = createHvae(cfg);
  const opt = tf.train.adam(1e-3);
  const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([100, 784]), 0.5), 'float32'));
  for (let i = 0; i < 2; i++) opt.minimize(() => m.loss({ x }).loss, true, m.parameters())?.dispose();
  const t0 = performance.now();
  const n = 10;
  for (let i = 0; i < n; i++) opt.minimize(() => m.loss({ x }).loss, true, m.parameters())?.dispose();
  const dt = (performance.now() - t0) / n;
  console.log(JSON.stringify(cfg.latentDims), 'params', m.numParameters(), 'ms/step(100)', dt.toFixed(1), 'samples/s', (100000 / dt).toFixed(0));
}
