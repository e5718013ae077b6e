// Train a VAE on MNIST the way an application would: a config for createModel, fit for the loop,
// @elbo/datasets for the data, the fastest backend installed (useBackend('auto'): the native CPU
// backend when @elbo/backend-native loaded, else wasm or cpu). Then the test-set ELBO and a few samples.
//
//   pnpm --filter @elbo/examples train-vae [epochs=1] [trainLimit=10000]
import * as tf from '@tensorflow/tfjs-core';
import { createModel, fit, useBackend } from '@elbo/core';
import { ArrayBatchSource, loadMnist, takeSubset } from '@elbo/datasets';
import '@elbo/vae';

const epochs = Number(process.argv[2] ?? 1);
const trainLimit = Number(process.argv[3] ?? 10_000);

const backend = await useBackend('auto');
console.log(`backend: ${backend.name} (${backend.reason})`);

// MLP VAE 784-400-400-20 with a Bernoulli likelihood; every field is validated (a typo is one clear error).
const model = createModel({ variant: 'vae', architecture: 'mlp', inputShape: [784], hiddenDims: [400, 400], latentDim: 20, likelihood: 'bernoulli', seed: 0 });
console.log(`model: ${model.variant}, ${model.numParameters().toLocaleString('en')} parameters`);

const train = takeSubset(loadMnist({ split: 'train' }), trainLimit, 0);
const test = takeSubset(loadMnist({ split: 'test' }), 2_000, 1);
const result = await fit(model, new ArrayBatchSource(train, { batchSize: 128, seed: 0 }), {
  epochs,
  learningRate: 1e-3,
  validation: new ArrayBatchSource(test, { batchSize: 500, shuffle: false }),
});
const last = result.history.at(-1);
console.log(`after ${epochs} epoch(s): train -ELBO ${last.train.loss.toFixed(1)} nats, test -ELBO ${last.validation.loss.toFixed(1)} nats, ${last.samplesPerSecond.toFixed(0)} samples/s`);

// Four samples from the prior, as rows of digits printed in the terminal.
const samples = tf.tidy(() => model.sample(4).reshape([4, 28, 28]).arraySync());
for (let r = 0; r < 28; r += 2) console.log(samples.map((img) => img[r].map((p) => ' .:-=+*#%@'[Math.min(9, Math.floor(p * 10))]).join('')).join('  '));
model.dispose();
