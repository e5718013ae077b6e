// A small end-to-end training run on @elbo/core alone: a 2-layer Gaussian VAE
// fitted to a fixed seeded toy dataset. Replaced by `pnpm bench quick` once the
// bench lands.
import * as tf from '@tensorflow/tfjs-core';
import { Dense, DiagonalGaussian, Rng, StandardNormal } from '@elbo/core';

const rng = new Rng(0);
const enc = new Dense(8, 4, rng);
const dec = new Dense(2, 8, rng);
// Data on a 2-D linear manifold in 8-D plus noise.
const data = tf.tidy(() => tf.add(tf.matMul(tf.randomNormal([512, 2], 0, 1, 'float32', 1), tf.randomNormal([2, 8], 0, 1, 'float32', 2)), tf.randomNormal([512, 8], 0, 0.1, 'float32', 3)));
const opt = tf.train.adam(1e-2);
const negElbo = () =>
  tf.tidy(() => {
    const h = enc.apply(data);
    const q = new DiagonalGaussian(tf.slice(h, [0, 0], [-1, 2]), tf.slice(h, [0, 2], [-1, 2]));
    const z = q.rsample(rng);
    const px = new DiagonalGaussian(dec.apply(z), tf.scalar(Math.log(0.01)));
    return tf.mean(tf.sub(q.kl(new StandardNormal([512, 2])), px.logProb(data)));
  });
for (let step = 0; step <= 300; step++) {
  const loss = opt.minimize(negElbo, true, [...enc.parameters(), ...dec.parameters()]);
  if (step % 50 === 0) console.log(`step ${step}: -ELBO ${loss.dataSync()[0].toFixed(2)} nats (backend ${tf.getBackend()})`);
  loss.dispose();
}
