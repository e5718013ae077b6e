#!/usr/bin/env node
/**
 * Atomic checkpoint writes under SIGKILL. A child process saves checkpoints
 * of the bench's quick MLP VAE (configs/quick.json, narrowed to one hidden
 * layer of 64) into one directory in a loop, every variable set to the step
 * number; the parent kills it with SIGKILL at a random moment, then loads the
 * directory. After every kill the checkpoint must load and be the last save
 * the child reported complete or the one after it (committed, not yet
 * reported), with every weight equal to its step: never a mix of two saves,
 * never nothing once a save has completed.
 *
 *   node scripts/fuzz-kill-save.mjs [--kills 50] [--max-delay-ms 400] [--dir DIR]
 *
 * Prints one JSON line of figures; exits 1 on the first violation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchRequire = createRequire(join(root, 'apps/bench/package.json'));
const load = (name) => import(pathToFileURL(benchRequire.resolve(name)).href);

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function setup() {
  const core = await load('@elbo/core');
  const tf = await load('@tensorflow/tfjs-core');
  const quick = JSON.parse(readFileSync(join(root, 'apps/bench/configs/quick.json'), 'utf8'));
  // The variant's package registers it (the config names it; nothing here does).
  await load(`@elbo/${quick.variant}`);
  const model = core.createModel({ ...quick, hiddenDims: [64], seed: 1 });
  return { core, tf, model };
}

function fill(tf, model, value) {
  for (const v of model.namedVariables().values()) tf.tidy(() => v.assign(tf.fill(v.shape, value, v.dtype)));
}

async function child(dir, start) {
  const { core, tf, model } = await setup();
  process.stdout.write('ready\n');
  for (let step = start; ; step++) {
    fill(tf, model, step);
    await core.saveCheckpoint(model, dir, { step, epoch: 0 });
    process.stdout.write(`saved ${step}\n`);
  }
}

async function parent() {
  const kills = Number(arg('kills', 50));
  const maxDelay = Number(arg('max-delay-ms', 400));
  const dir = arg('dir') ?? mkdtempSync(join(tmpdir(), 'elbo-kill-save-'));
  const { core, tf, model } = await setup();
  const figures = { kills: 0, saves: 0, landedOnLastReported: 0, landedOnNext: 0, emptyBeforeFirstSave: 0, tempFilesSeen: 0, orphanShardsSeen: 0, seconds: 0 };
  const t0 = performance.now();
  let last = 0;
  for (let k = 0; k < kills; k++) {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, '--start', String(last + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let reported = last;
    let buffer = '';
    const ready = new Promise((resolve) => {
      proc.stdout.on('data', (d) => {
        buffer += d;
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const line of lines) {
          if (line === 'ready') resolve();
          const m = /^saved (\d+)$/.exec(line);
          if (m) reported = Number(m[1]);
        }
      });
    });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    await Promise.race([ready, exited]);
    await new Promise((r) => setTimeout(r, Math.random() * maxDelay));
    proc.kill('SIGKILL');
    await exited;
    figures.kills++;
    figures.saves += reported - last;
    const files = readdirSync(dir);
    figures.tempFilesSeen += files.filter((f) => f.endsWith('.elbo-tmp')).length;
    if (!files.includes('model.json')) {
      if (reported > 0) throw new Error(`kill ${k + 1}: no model.json after save ${reported} completed`);
      figures.emptyBeforeFirstSave++;
      continue;
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const referenced = new Set(manifest.weightsManifest.flatMap((g) => g.paths));
    figures.orphanShardsSeen += files.filter((f) => f.endsWith('.bin') && !referenced.has(f)).length;
    const ck = await core.loadCheckpoint(dir, model);
    if (ck.step !== reported && ck.step !== reported + 1) throw new Error(`kill ${k + 1}: the checkpoint is step ${ck.step}, the child had reported ${reported}`);
    for (const [name, v] of model.namedVariables()) {
      const values = v.dataSync();
      if (values.some((x) => x !== ck.step)) throw new Error(`kill ${k + 1}: variable ${name} of step ${ck.step} holds ${values.find((x) => x !== ck.step)} (a mix of two saves)`);
    }
    if (ck.step === reported) figures.landedOnLastReported++;
    else figures.landedOnNext++;
    last = ck.step;
  }
  figures.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  model.dispose();
  void tf;
  if (!arg('dir')) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (process.argv.includes('--child')) await child(arg('child'), Number(arg('start', '1')));
else
  await parent().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
