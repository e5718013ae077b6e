#!/usr/bin/env node
// Kernel-time profile of the throughput models' training steps:
//   node scripts/profile.mjs [backend=native] [model=mlp,conv] [path=fit|loop] [steps=30] [warmup=30] [batch]
// path 'fit' is the product path (createModel + fit, trainer kernels included); 'loop' the bare
// minimize loop with the fused native Adam. Figures are per step, averaged over `steps` profiled steps
// after `warmup` untimed ones (one step after one warm-up still runs cold JIT code).
import '@elbo/core';
import '@elbo/vae';
import { profileTrainingStep } from '../dist/bench/index.js';

const backend = process.argv[2] ?? 'native';
const models = (process.argv[3] ?? 'mlp,conv').split(',');
const path = process.argv[4] ?? 'fit';
const steps = Number(process.argv[5] ?? 30);
const warmup = Number(process.argv[6] ?? 30);
const batchSize = process.argv[7] ? Number(process.argv[7]) : undefined;
if (backend === 'native') await import('../dist/index.js');
for (const model of models) {
  const { rows, wallMs, kernelShare } = await profileTrainingStep({ model, backend, path, optimizer: 'native', steps, warmup, batchSize });
  console.log(`\n${model} VAE on '${backend}', path ${path}: ${wallMs.toFixed(2)} ms wall per step, ${(100 * kernelShare).toFixed(0)}% of it in kernels (mean of ${steps} profiled after ${warmup} warm-up)`);
  console.log('kernel'.padEnd(28) + 'calls'.padStart(6) + 'ms'.padStart(10) + 'share'.padStart(8));
  for (const r of rows.slice(0, 25)) {
    console.log(r.kernel.padEnd(28) + String(+r.calls.toFixed(2)).padStart(6) + r.ms.toFixed(3).padStart(10) + `${(100 * r.share).toFixed(1)}%`.padStart(8));
  }
  const rest = rows.slice(25);
  if (rest.length) console.log(`(${rest.length} more kernels, ${rest.reduce((s, r) => s + r.ms, 0).toFixed(3)} ms)`);
}
