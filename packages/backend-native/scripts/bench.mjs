#!/usr/bin/env node
/**
 * Kernel microbenchmark of the native backend (not the product figures: `pnpm bench throughput`
 * measures createModel + fit on MNIST against PyTorch). Per round: the native GEMM alone, then each
 * throughput model trained by a bare minimize loop (tfjs Adam, fused native Adam) and by fit on
 * random inputs, interleaved because this kind of VM drifts; the loop/fit gap is what the trainer costs.
 *
 *   pnpm --filter @elbo/backend-native bench [--rounds 3] [--steps 20] [--models mlp,conv] [--cpu]
 */
import '@elbo/core';
import '@elbo/vae';
import * as tf from '@tensorflow/tfjs-core';
import { nativeAvailable, nativeLoadError, nativeLoadSummary } from '../dist/index.js';
import { measureFitThroughput, measureGemm, measureThroughput, randomSource } from '../dist/bench/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt('rounds', 3));
const steps = Number(opt('steps', 20));
const models = opt('models', 'mlp,conv').split(',');

if (!nativeAvailable()) {
  console.error(String(nativeLoadError()));
  process.exit(1);
}
console.log(`${nativeLoadSummary()}; node ${process.version}`);

for (let r = 0; r < rounds; r++) {
  const g = measureGemm(512, 512, 512);
  const shapes = [[128, 400, 784], [128, 784, 400], [784, 400, 128]].map(([m, n, k]) => `${m}x${n}x${k}: ${measureGemm(m, n, k, 150).gflops.toFixed(1)}`);
  console.log(`round ${r + 1} GEMM GFLOP/s: 512^3 ${g.gflops.toFixed(1)} (best call ${g.bestGflops.toFixed(1)}); MLP shapes ${shapes.join(', ')}`);
}

for (const model of models) {
  console.log(`\n${model} VAE (samples/s, random inputs)`);
  if (args.includes('--cpu')) {
    const c = await measureThroughput({ model, backend: 'cpu', steps: 2, warmup: 1 });
    console.log(`  cpu (tfjs-backend-cpu) loop: ${c.samplesPerSec.toFixed(1)}`);
  }
  for (let r = 0; r < rounds; r++) {
    const a = await measureThroughput({ model, backend: 'native', steps, warmup: 5 });
    const b = await measureThroughput({ model, backend: 'native', steps, warmup: 5, optimizer: 'native' });
    await tf.setBackend('native');
    const f = await measureFitThroughput({ model, source: (bs) => randomSource(model, bs, r), steps, warmup: 5 });
    console.log(`  round ${r + 1}: loop+tf.train.adam ${a.samplesPerSec.toFixed(0)}  loop+core Adam (fused) ${b.samplesPerSec.toFixed(0)}  fit ${f.samplesPerSec.toFixed(0)}  (fit/loop ${(f.samplesPerSec / b.samplesPerSec).toFixed(2)})`);
  }
}
