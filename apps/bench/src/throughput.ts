import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { runBrowserThroughput } from './browser-throughput';
import { type Flags, intFlag } from './flags';
import { UsageError } from './errors';
import { loadVariants } from './discover';

type Bench = typeof import('@elbo/backend-native/bench');

interface Measurement {
  round: number;
  model: string;
  runtime: string;
  batchSize: number;
  samplesPerSec: number;
  msPerStep: number;
  peakRssMiB?: number;
  threads?: number;
  note?: string;
}

/** One way of running the PyTorch reference: a thread count and an allocator. */
interface TorchSetting {
  name: string;
  threads?: number;
  env: Record<string, string>;
}

function torchScript(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@elbo/backend-native/package.json')), 'scripts', 'torch_bench.py');
}

/**
 * A python with torch: Debian's /usr/bin/python3 first (python3-torch installs there when PATH has
 * another python first), else the one on PATH.
 */
function findTorchPython(): { python?: string; why?: string } {
  const tried: string[] = [];
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return { python };
    tried.push(r.error ? `${python}: not runnable` : `${python}: no torch`);
  }
  return { why: `${tried.join('; ')} (Debian: apt-get install python3-torch libopenblas0-pthread libjemalloc2)` };
}

function findJemalloc(): string | undefined {
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  for (const p of [`/usr/lib/${arch}-linux-gnu/libjemalloc.so.2`, '/usr/lib/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2']) if (existsSync(p)) return p;
  return undefined;
}

/**
 * The PyTorch settings tried: torch's default thread count and the core count, each with glibc's
 * default malloc, glibc tuned by environment (no mmap per tensor, no trimming: what PyTorch's CPU
 * tuning guide advises against page faults), and jemalloc when Debian's libjemalloc2 is installed.
 */
function torchSettings(cores: number, torchDefaultThreads: number): TorchSetting[] {
  const mallocs: [string, Record<string, string>][] = [
    ['glibc', {}],
    ['glibc-tuned', { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '1073741824' }],
  ];
  const jemalloc = findJemalloc();
  if (jemalloc) mallocs.push(['jemalloc', { LD_PRELOAD: jemalloc }]);
  const threads: (number | undefined)[] = [undefined];
  if (cores !== torchDefaultThreads) threads.push(cores);
  const out: TorchSetting[] = [];
  for (const t of threads) {
    for (const [malloc, env] of mallocs) out.push({ name: `pytorch ${t === undefined ? `default ${torchDefaultThreads}` : t} thr, ${malloc}`, threads: t, env });
  }
  return out;
}

/** The environment for PyTorch: ours without allocator and OpenBLAS tuning variables, plus the setting's. */
function torchEnv(setting: TorchSetting): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('MALLOC_') || k === 'LD_PRELOAD' || k === 'OPENBLAS_CORETYPE' || k === 'OPENBLAS_L2_SIZE') continue;
    env[k] = v;
  }
  return { ...env, ...setting.env };
}

interface TorchRun {
  batch: number;
  samplesPerSec: number;
  msPerStep: number;
  threads: number;
  peakRssMiB: number;
  gemmGflops512?: number;
}

function runTorch(python: string, setting: TorchSetting, model: string, mnistDir: string, batches: number[], steps: number[], warmup: number, gemm = false): TorchRun[] {
  // A setting that crawls (two threads beside a busy co-tenant ran the conv VAE at 8 s/step) stops timing after 20 s.
  const args = [torchScript(), '--model', model, '--mnist', mnistDir, '--batches', batches.join(','), '--steps', steps.join(','), '--warmup', String(warmup), '--max-seconds', '20'];
  if (setting.threads !== undefined) args.push('--threads', String(setting.threads));
  if (gemm) args.push('--gemm');
  const r = spawnSync(python, args, { encoding: 'utf8', env: torchEnv(setting), maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`PyTorch (${setting.name}) failed: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TorchRun);
}

/** Timed steps for a batch size: about the samples of `steps` steps at batch 128, within [8, 3 * steps]. */
function stepsFor(batch: number, steps: number): number {
  return Math.max(8, Math.min(3 * steps, Math.round((steps * 128) / batch)));
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * `throughput`: samples/s of the throughput models (MLP VAE 784-400-400-20 at batch 128, conv VAE
 * 32/64 channels latent 16 at batch 64) built by createModel and trained by fit on real MNIST, per
 * tfjs backend; this machine's SGEMM peak and each model's fraction of its GEMM bound; a batch
 * sweep of the MLP fitted as fixed ms/step + ms/sample. With --reference pytorch, the same models
 * in PyTorch under every setting (threads x allocator), interleaved round by round with elbo
 * (A B A B, because this kind of VM drifts), each ratio taken against the best setting of its round.
 */
export async function runThroughput(flags: Flags, log: (line: string) => void): Promise<number> {
  if (flags.browser) return runBrowserThroughput(flags, log);
  const reference = flags.reference;
  if (reference !== undefined && reference !== 'pytorch') throw new UsageError(`--reference must be pytorch, got ${JSON.stringify(reference)}`);
  const backends = (flags.backends ?? 'native').split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['native', 'cpu', 'wasm', 'tensorflow'];
  for (const b of backends) if (!known.includes(b)) throw new UsageError(`unknown backend "${b}" in --backends (known: ${known.join(', ')})`);
  const models = (flags.models ?? 'mlp,conv').split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of models) if (m !== 'mlp' && m !== 'conv') throw new UsageError(`unknown model "${m}" in --models (known: mlp, conv)`);
  const steps = intFlag(flags, 'steps', 30, 1)!;
  // Untimed steps first, the same count for every runtime: tfjs's first ~10 steps in a process run JIT-cold.
  const warmup = intFlag(flags, 'warmup', 10, 0)!;
  const rounds = intFlag(flags, 'rounds', 2, 1)!;
  const sweep = flags.sweep === 'none' ? [] : (flags.sweep ?? '16,64,256,1024').split(',').map((s) => Number(s.trim()));
  for (const b of sweep) if (!Number.isInteger(b) || b < 1) throw new UsageError(`--sweep must list positive batch sizes (or be 'none'), got ${JSON.stringify(flags.sweep)}`);
  if (sweep.length === 1) throw new UsageError('--sweep needs at least two batch sizes to fit fixed + per-sample cost');

  let bench: Bench;
  let native: typeof import('@elbo/backend-native');
  try {
    native = await import('@elbo/backend-native');
    bench = await import('@elbo/backend-native/bench');
  } catch (e) {
    throw new UsageError(`the throughput benchmark needs @elbo/backend-native: ${(e as Error).message.split('\n')[0]}`);
  }
  const { useBackend } = await import('@elbo/core');
  // The throughput models are createModel configs: their variant registers when the installed variants load.
  await loadVariants();
  const { mnistDataDir, readIdxFile } = await import('@elbo/datasets');
  const mnistDir = flags['mnist-dir'] ?? mnistDataDir();
  if (!existsSync(mnistDir)) throw new UsageError(`MNIST folder not found: ${mnistDir}`);
  const imagesFile = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].map((f) => join(mnistDir, f)).find(existsSync);
  if (!imagesFile) throw new UsageError(`no train-images-idx3-ubyte(.gz) in ${mnistDir}`);
  const idx = readIdxFile(imagesFile);
  const images = idx.data as Uint8Array;
  const count = idx.shape[0];
  const source = (batchSize: number) => new bench.ByteImageSource(images, count, 784, batchSize, 0);

  const cores = availableParallelism();
  const torch = reference === 'pytorch' ? findTorchPython() : { why: 'not requested' };
  if (reference === 'pytorch' && !torch.python) log(`PyTorch reference unavailable: ${torch.why}`);
  let settings: TorchSetting[] = [];
  if (torch.python) {
    const probe = spawnSync(torch.python, ['-c', 'import torch; print(torch.get_num_threads())'], { encoding: 'utf8', env: torchEnv({ name: '', env: {} }) });
    settings = torchSettings(cores, Number(probe.stdout.trim()) || 1);
  }
  const info = native.nativeInfo();
  log(`machine: ${cores} cores; node ${process.version}; MNIST ${count} training images`);
  log(native.nativeLoadSummary());
  log(`models: ${models.map((m) => `${m} = ${bench.THROUGHPUT_MODELS[m as 'mlp'].description}, batch ${bench.THROUGHPUT_MODELS[m as 'mlp'].batchSize}, ${(bench.THROUGHPUT_MODELS[m as 'mlp'].flopsPerSample / 1e6).toFixed(2)} MFLOP/sample`).join('; ')}`);

  const rows: Measurement[] = [];
  const gemmPeaks: number[] = [];
  let tfjsPeakRss = 0;
  for (let round = 1; round <= rounds; round++) {
    if (info) {
      const g = bench.measureGemm(512, 512, 512);
      // The fastest call: on a shared machine the mean measures the neighbours as much as the cores.
      gemmPeaks.push(g.bestGflops);
      log(`round ${round} sgemm 512^3 (native): ${fmt(g.gflops, 1)} GFLOP/s mean, ${fmt(g.bestGflops, 1)} best call`);
    }
    for (const model of models as ('mlp' | 'conv')[]) {
      const batchSize = bench.THROUGHPUT_MODELS[model].batchSize;
      for (const backend of backends) {
        try {
          await useBackend(backend);
        } catch (e) {
          if (round === 1) rows.push({ round, model, runtime: `elbo ${backend}`, batchSize, samplesPerSec: Number.NaN, msPerStep: Number.NaN, note: (e as Error).message.split('\n')[0] });
          continue;
        }
        // The stock cpu backend is ~100x slower: a few steps are enough to measure it.
        const slow = backend === 'cpu';
        const r = await bench.measureFitThroughput({ model, source, steps: slow ? Math.min(steps, 3) : steps, warmup: slow ? Math.min(warmup, 1) : warmup });
        tfjsPeakRss = Math.max(tfjsPeakRss, process.resourceUsage().maxRSS / 1024);
        rows.push({ round, model, runtime: `elbo ${backend}`, batchSize, samplesPerSec: r.samplesPerSec, msPerStep: r.msPerStep, peakRssMiB: tfjsPeakRss });
        log(`round ${round} ${model} elbo ${backend} (createModel + fit): ${fmt(r.samplesPerSec)} samples/s, ${fmt(r.msPerStep, 2)} ms/step, loss ${fmt(r.finalLoss, 1)}`);
      }
      for (const setting of settings) {
        try {
          const [t] = runTorch(torch.python!, setting, model, mnistDir, [batchSize], [steps], warmup);
          rows.push({ round, model, runtime: setting.name, batchSize, samplesPerSec: t.samplesPerSec, msPerStep: t.msPerStep, peakRssMiB: t.peakRssMiB, threads: t.threads });
          log(`round ${round} ${model} ${setting.name}: ${fmt(t.samplesPerSec)} samples/s, ${fmt(t.msPerStep, 2)} ms/step, peak RSS ${fmt(t.peakRssMiB)} MiB`);
        } catch (e) {
          log(`round ${round} ${model} ${setting.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  const gemmPeak = Math.max(...gemmPeaks);
  const lines: string[] = [];
  lines.push(`sgemm peak (native, 512^3, fastest call over the rounds): ${fmt(gemmPeak, 1)} GFLOP/s`);
  lines.push('', '| model | runtime | samples/s per round | ratio to best PyTorch per round | fraction of GEMM bound | peak RSS MiB |', '|---|---|---|---|---|---|');
  for (const model of models as ('mlp' | 'conv')[]) {
    const def = bench.THROUGHPUT_MODELS[model];
    const bound = (gemmPeak * 1e9) / def.flopsPerSample;
    const torchRows = rows.filter((r) => r.model === model && r.runtime.startsWith('pytorch'));
    const bestTorch = (round: number) => Math.max(...torchRows.filter((r) => r.round === round).map((r) => r.samplesPerSec));
    const runtimes = [...new Set(rows.filter((r) => r.model === model).map((r) => r.runtime))];
    for (const runtime of runtimes) {
      const mine = rows.filter((r) => r.model === model && r.runtime === runtime);
      const speeds = mine.map((r) => (Number.isFinite(r.samplesPerSec) ? fmt(r.samplesPerSec) : `n/a (${r.note})`)).join(' / ');
      const ratios = torchRows.length ? mine.map((r) => fmt(r.samplesPerSec / bestTorch(r.round), 2)).join(' / ') : '';
      const fractions = Number.isFinite(bound) ? mine.map((r) => `${fmt((100 * r.samplesPerSec) / bound)}%`).join(' / ') : '';
      const rss = Math.max(...mine.map((r) => r.peakRssMiB ?? Number.NaN));
      lines.push(`| ${model} | ${runtime} | ${speeds} | ${ratios} | ${fractions} | ${fmt(rss)} |`);
    }
    if (torchRows.length) {
      const perRound = [...new Set(torchRows.map((r) => r.round))].map(bestTorch);
      const bestSetting = [...new Set(torchRows.map((r) => r.runtime))]
        .map((name) => ({ name, med: median(torchRows.filter((r) => r.runtime === name).map((r) => r.samplesPerSec)) }))
        .sort((a, b) => b.med - a.med)[0];
      lines.push(`| ${model} | best PyTorch setting per round (most often: ${bestSetting.name}) | ${perRound.map((x) => fmt(x)).join(' / ')} | 1.00 | ${perRound.map((x) => `${fmt((100 * x) / bound)}%`).join(' / ')} | |`);
    }
    lines.push(`| ${model} | GEMM bound (${fmt(def.flopsPerSample / 1e6, 2)} MFLOP/sample at ${fmt(gemmPeak, 1)} GFLOP/s) | ${fmt(bound)} | | 100% | |`);
  }

  const sweepRows: { runtime: string; batchSize: number; samplesPerSec: number; msPerStep: number }[] = [];
  if (sweep.length >= 2 && info) {
    const model = 'mlp' as const;
    await useBackend('native');
    const best = settings.length
      ? [...settings].sort((a, b) => {
          const med = (s: TorchSetting) => median(rows.filter((r) => r.model === model && r.runtime === s.name).map((r) => r.samplesPerSec));
          return (Number.isFinite(med(b)) ? med(b) : 0) - (Number.isFinite(med(a)) ? med(a) : 0);
        })[0]
      : undefined;
    for (const batchSize of sweep) {
      const r = await bench.measureFitThroughput({ model, source, batchSize, steps: stepsFor(batchSize, steps), warmup: Math.max(3, Math.round(warmup / 2)) });
      sweepRows.push({ runtime: 'elbo native', batchSize, samplesPerSec: r.samplesPerSec, msPerStep: r.msPerStep });
      log(`sweep mlp batch ${batchSize} elbo native: ${fmt(r.samplesPerSec)} samples/s, ${fmt(r.msPerStep, 2)} ms/step`);
    }
    if (best) {
      try {
        const runs = runTorch(torch.python!, best, model, mnistDir, sweep, sweep.map((b) => stepsFor(b, steps)), Math.max(3, Math.round(warmup / 2)));
        for (const t of runs) {
          sweepRows.push({ runtime: best.name, batchSize: t.batch, samplesPerSec: t.samplesPerSec, msPerStep: t.msPerStep });
          log(`sweep mlp batch ${t.batch} ${best.name}: ${fmt(t.samplesPerSec)} samples/s, ${fmt(t.msPerStep, 2)} ms/step`);
        }
      } catch (e) {
        log(`sweep ${best.name}: ${(e as Error).message}`);
      }
    }
    const runtimes = [...new Set(sweepRows.map((r) => r.runtime))];
    lines.push('', `batch sweep, MLP VAE (fit: ms/step = fixed + per sample x batch)`, '', `| runtime | ${sweep.map((b) => `batch ${b}`).join(' | ')} | fixed ms/step | ms/sample |`, `|---|${sweep.map(() => '---|').join('')}---|---|`);
    for (const runtime of runtimes) {
      const pts = sweepRows.filter((r) => r.runtime === runtime);
      const f = pts.length >= 2 ? bench.fitStepCost(pts) : { fixedMs: Number.NaN, msPerSample: Number.NaN };
      lines.push(`| ${runtime} | ${sweep.map((b) => fmt(pts.find((p) => p.batchSize === b)?.samplesPerSec ?? Number.NaN)).join(' | ')} | ${fmt(f.fixedMs, 2)} | ${fmt(f.msPerSample, 4)} |`);
    }
  }

  const dir = join(flags.runs ?? 'runs', flags.name ?? 'throughput');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'throughput.json'), `${JSON.stringify({ cores, gemmPeakGflops: gemmPeak, settings: settings.map((s) => s.name), rows, sweep: sweepRows }, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), `# throughput\n\n${lines.join('\n')}\n`);
  for (const l of lines) log(l);
  return 0;
}
