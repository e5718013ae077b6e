import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runBrowserThroughput } from './browser-throughput';
import type { Flags } from './commands';
import { intFlag } from './commands';
import { UsageError } from './errors';

interface Row {
  model: string;
  runtime: string;
  samplesPerSec: number;
  msPerStep: number;
  /** Peak resident memory of the measuring process so far, MiB (the tfjs rows share one process). */
  peakRssMiB?: number;
  note?: string;
}

function torchScript(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@elbo/backend-native/package.json')), 'scripts', 'torch_bench.py');
}

/**
 * A python with torch: the one on PATH, else Debian's /usr/bin/python3 (where
 * python3-torch installs when PATH has another python first).
 */
function findTorchPython(): { python?: string; why?: string } {
  const tried: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return { python };
    tried.push(r.error ? `${python}: not runnable` : `${python}: no torch`);
  }
  return { why: `${tried.join('; ')} (Debian: apt-get install python3-torch libopenblas0-pthread)` };
}

/**
 * samples/s of the two reference models (MLP VAE 784-400-400-20 batch 128,
 * conv VAE batch 64) per tfjs backend, measured by @elbo/backend-native's
 * benchmark code in this process, and, with --reference pytorch, the same
 * models in PyTorch run from this command, interleaved (A B A B) because this
 * VM's speed drifts; the ratio is per round.
 */
export async function runThroughput(flags: Flags, log: (line: string) => void): Promise<number> {
  if (flags.browser) return runBrowserThroughput(flags, log);
  const reference = flags.reference;
  if (reference !== undefined && reference !== 'pytorch') throw new UsageError(`--reference must be pytorch, got ${JSON.stringify(reference)}`);
  const backends = (flags.backends ?? 'native').split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['native', 'cpu', 'wasm', 'tensorflow'];
  for (const b of backends) if (!known.includes(b)) throw new UsageError(`unknown backend "${b}" in --backends (known: ${known.join(', ')})`);
  const steps = intFlag(flags, 'steps', 20, 1)!;
  // Untimed steps first, the same count for every runtime: tfjs's first ~10 steps in a process run JIT-cold.
  const warmup = intFlag(flags, 'warmup', 10, 0)!;
  const rounds = 2;
  let bench: typeof import('@elbo/backend-native/bench');
  try {
    await import('@elbo/backend-native');
    bench = await import('@elbo/backend-native/bench');
  } catch (e) {
    throw new UsageError(`the throughput benchmark needs @elbo/backend-native: ${(e as Error).message.split('\n')[0]}`);
  }
  const { useBackend } = await import('@elbo/core');
  const torch = reference === 'pytorch' ? findTorchPython() : { why: 'not requested' };
  if (reference === 'pytorch' && !torch.python) log(`PyTorch reference unavailable: ${torch.why}`);
  const rows: Row[] = [];
  for (const model of ['mlp', 'conv'] as const) {
    for (let round = 0; round < rounds; round++) {
      for (const backend of backends) {
        try {
          await useBackend(backend);
        } catch (e) {
          if (round === 0) rows.push({ model, runtime: `tfjs-${backend}`, samplesPerSec: Number.NaN, msPerStep: Number.NaN, note: (e as Error).message.split('\n')[0] });
          continue;
        }
        // The stock cpu backend is ~100x slower: a few steps are enough to measure it.
        const n = backend === 'cpu' ? Math.min(steps, 3) : steps;
        const r = await bench.measureThroughput({ model, backend, steps: n, warmup: backend === 'cpu' ? Math.min(warmup, 1) : warmup, optimizer: backend === 'native' ? 'native' : 'tfjs' });
        rows.push({ model, runtime: `tfjs-${backend}`, samplesPerSec: r.samplesPerSec, msPerStep: r.msPerStep, peakRssMiB: process.resourceUsage().maxRSS / 1024 });
        log(`round ${round + 1} ${model} tfjs-${backend}: ${r.samplesPerSec.toFixed(0)} samples/s`);
      }
      if (torch.python) {
        // Run the script in-process under python so its peak RSS can be read afterwards.
        const wrapper = [
          'import json, resource, runpy, sys',
          'sys.argv = sys.argv[1:]',
          "runpy.run_path(sys.argv[0], run_name='__main__')",
          "print(json.dumps({'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))",
        ].join('\n');
        const out = execFileSync(torch.python, ['-c', wrapper, torchScript(), model, String(steps), String(warmup)], {
          encoding: 'utf8',
          env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
        });
        const lines = out.trim().split('\n');
        const r = JSON.parse(lines[lines.length - 2]) as { samplesPerSec: number; msPerStep: number };
        const mem = JSON.parse(lines[lines.length - 1]) as { peakRssMiB: number };
        rows.push({ model, runtime: 'pytorch', samplesPerSec: r.samplesPerSec, msPerStep: r.msPerStep, peakRssMiB: mem.peakRssMiB });
        log(`round ${round + 1} ${model} pytorch: ${r.samplesPerSec.toFixed(0)} samples/s`);
      }
    }
  }
  const table = ['| model | runtime | samples/s (per round) | ratio to PyTorch (per round) | peak RSS MiB |', '|---|---|---|---|---|'];
  for (const model of ['mlp', 'conv']) {
    const torchRows = rows.filter((r) => r.model === model && r.runtime === 'pytorch');
    for (const runtime of [...new Set(rows.filter((r) => r.model === model).map((r) => r.runtime))]) {
      const mine = rows.filter((r) => r.model === model && r.runtime === runtime);
      const speeds = mine.map((r) => (Number.isFinite(r.samplesPerSec) ? r.samplesPerSec.toFixed(0) : `n/a (${r.note})`)).join(' / ');
      const ratios = runtime === 'pytorch' || torchRows.length === 0 ? '' : mine.map((r, i) => (torchRows[i] ? (r.samplesPerSec / torchRows[i].samplesPerSec).toFixed(2) : '')).join(' / ');
      const rss = Math.max(...mine.map((r) => r.peakRssMiB ?? Number.NaN));
      table.push(`| ${model} | ${runtime} | ${speeds} | ${ratios} | ${Number.isFinite(rss) ? rss.toFixed(0) : 'n/a'} |`);
    }
  }
  const dir = join(flags.runs ?? 'runs', flags.name ?? 'throughput');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'throughput.json'), `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), `# throughput\n\n${table.join('\n')}\n`);
  log(table.join('\n'));
  return 0;
}
