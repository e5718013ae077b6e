#!/usr/bin/env node
// Kernel-time profile of one training step of each bench model:
//   node scripts/profile.mjs [backend=cpu] [model=mlp,conv] [optimizer=tfjs|native] [steps=1] [warmup=1]
// Figures are per step, averaged over `steps` profiled steps after `warmup` untimed ones.
import '@elbo/core';
import { profileTrainingStep } from '../dist/bench/index.js';

const backend = process.argv[2] ?? 'cpu';
const models = (process.argv[3] ?? 'mlp,conv').split(',');
const optimizer = process.argv[4] ?? 'tfjs';
const steps = Number(process.argv[5] ?? 1);
const warmup = Number(process.argv[6] ?? 1);
if (backend === 'native') await import('../dist/index.js');
for (const model of models) {
  const { rows, wallMs } = await profileTrainingStep({ model, backend, optimizer, steps, warmup });
  console.log(`\n${model} VAE on '${backend}' with ${optimizer} Adam: ${wallMs.toFixed(1)} ms wall per step (profiled; mean of ${steps} after ${warmup} warm-up)`);
  console.log('kernel'.padEnd(28) + 'calls'.padStart(6) + 'ms'.padStart(10) + 'share'.padStart(8));
  for (const r of rows.slice(0, 25)) {
    console.log(r.kernel.padEnd(28) + String(+r.calls.toFixed(2)).padStart(6) + r.ms.toFixed(2).padStart(10) + `${(100 * r.share).toFixed(1)}%`.padStart(8));
  }
}
