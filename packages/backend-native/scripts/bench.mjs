#!/usr/bin/env node
/**
 * Throughput of the issue-10 models on 'native' (and 'cpu'), side by side with
 * PyTorch when Debian's python3-torch is installed, measured A B A B because
 * this kind of VM drifts by up to 1.6x within minutes. Also the native GEMM
 * alone against OpenBLAS (torch.mm) in the same run.
 *
 *   pnpm --filter @elbo/backend-native bench [--rounds 3] [--steps 20] [--models mlp,conv] [--cpu] [--no-torch]
 *
 * Env: ELBO_TORCH_PYTHON (default /usr/bin/python3), TORCH_THREADS (default 2), ELBO_NATIVE_THREADS.
 */
import '@elbo/core';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeAvailable, nativeInfo, nativeLoadError } from '../dist/index.js';
import { measureGemm, measureThroughput } from '../dist/bench/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt('rounds', 3));
const steps = Number(opt('steps', 20));
const models = opt('models', 'mlp,conv').split(',');
const withCpu = args.includes('--cpu');
const python = process.env.ELBO_TORCH_PYTHON ?? '/usr/bin/python3';
const torchScript = fileURLToPath(new URL('./torch_bench.py', import.meta.url));

if (!nativeAvailable()) {
  console.error(String(nativeLoadError()));
  process.exit(1);
}

function torch(model, n, gemm = false) {
  if (args.includes('--no-torch')) return null;
  const r = spawnSync(python, [torchScript, model, String(n), '3', ...(gemm ? ['--gemm'] : [])], {
    encoding: 'utf8',
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env },
  });
  if (r.status !== 0) {
    if (!torch.warned) console.log(`(PyTorch not run: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)})`);
    torch.warned = true;
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const info = nativeInfo();
console.log(`native: GEMM micro-kernel ${info.gemmKernel}, ${info.threads} threads; node ${process.version}`);

// GEMM alone, interleaved with OpenBLAS through torch.mm.
console.log('\nGEMM alone (GFLOP/s)');
for (let r = 0; r < rounds; r++) {
  const g = measureGemm(512, 512, 512);
  const t = torch('mlp', 1, true);
  const shapes = [[128, 400, 784], [128, 784, 400], [784, 400, 128]].map(([m, n, k]) => {
    const s = measureGemm(m, n, k, 150);
    return `${m}x${n}x${k}: ${s.gflops.toFixed(1)} (best call ${s.bestGflops.toFixed(1)})`;
  });
  const ceiling = 103;
  console.log(
    `  round ${r + 1}: native 512^3 mean ${g.gflops.toFixed(1)}, best call ${g.bestGflops.toFixed(1)} (${((100 * g.bestGflops) / ceiling).toFixed(0)}% of the 103 GFLOP/s two-core OpenBLAS ceiling)` +
      (t ? `, OpenBLAS torch.mm 512^3 now ${t.gemmGflops512.toFixed(1)} (native/OpenBLAS ${(g.gflops / t.gemmGflops512).toFixed(2)})` : '') +
      `; MLP shapes ${shapes.join(', ')}`,
  );
}

for (const model of models) {
  console.log(`\n${model} VAE, batch ${model === 'mlp' ? 128 : 64} (samples/s)`);
  const modelSteps = model === 'conv' ? Math.max(1, Math.round(steps / 2)) : steps;
  if (withCpu) {
    // tfjs-backend-cpu: one short measurement (its conv filter gradient takes tens of seconds per call).
    const c = await measureThroughput({ model, backend: 'cpu', steps: model === 'conv' ? 1 : 3, warmup: 1 });
    console.log(`  cpu (tfjs-backend-cpu): ${c.samplesPerSec.toFixed(1)}`);
  }
  const ratios = { tfjs: [], native: [] };
  const best = { tfjs: 0, native: 0, torch: 0 };
  for (let r = 0; r < rounds; r++) {
    // A (native, tfjs Adam)  B (PyTorch)  A' (native, fused native Adam)
    const n = await measureThroughput({ model, backend: 'native', steps: modelSteps, warmup: 3 });
    const t = torch(model, modelSteps);
    const f = await measureThroughput({ model, backend: 'native', steps: modelSteps, warmup: 3, optimizer: 'native' });
    best.tfjs = Math.max(best.tfjs, n.samplesPerSec);
    best.native = Math.max(best.native, f.samplesPerSec);
    if (t) {
      best.torch = Math.max(best.torch, t.samplesPerSec);
      ratios.tfjs.push(n.samplesPerSec / t.samplesPerSec);
      ratios.native.push(f.samplesPerSec / t.samplesPerSec);
    }
    console.log(
      `  round ${r + 1}: native+tf.train.adam ${n.samplesPerSec.toFixed(0)}  native+NativeAdam ${f.samplesPerSec.toFixed(0)}` +
        (t ? `  PyTorch ${t.samplesPerSec.toFixed(0)}  ratios vs PyTorch ${ratios.tfjs.at(-1).toFixed(2)} / ${ratios.native.at(-1).toFixed(2)}` : ''),
    );
  }
  for (const [k, list] of Object.entries(ratios)) {
    if (!list.length) continue;
    const sorted = [...list].sort((a, b) => a - b);
    const label = k === 'tfjs' ? 'tf.train.adam' : 'NativeAdam';
    console.log(
      `  native (${label})/PyTorch per round: ${list.map((x) => x.toFixed(2)).join(', ')} (median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}); ` +
        `best round vs best round: ${best[k].toFixed(0)} / ${best.torch.toFixed(0)} = ${(best[k] / best.torch).toFixed(2)}`,
    );
  }
  if (!ratios.tfjs.length) console.log(`  best round: native+tf.train.adam ${best.tfjs.toFixed(0)}, native+NativeAdam ${best.native.toFixed(0)}`);
}
