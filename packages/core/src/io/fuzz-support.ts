import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { createModel } from '../registry';
import { Adam } from '../train/optimizers';
import { type CheckpointTarget, saveCheckpoint } from './checkpoint';

/**
 * Helpers for the loader fuzz tests: mutations of a valid checkpoint
 * directory, applied as data so fast-check can print and shrink them.
 */

/** Cases per property: ELBO_FUZZ_RUNS (the `pnpm fuzz` script sets 10,000), default 200. */
export const fuzzRuns = Number(process.env.ELBO_FUZZ_RUNS ?? 200);
/** Longest a single case may take before it counts as a hang, in ms. */
export const caseTimeMs = Number(process.env.ELBO_FUZZ_CASE_MS ?? 10_000);

/** Values a hostile file puts where a valid one has something else. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, '', '.', '..', '../outside.bin', '../../../../etc/passwd', '/etc/passwd', 'sub/../../outside.bin', 'C:\\weights.bin',
    'http://127.0.0.1:1/x', '//evil/x', 'model.json', 'x\u0000y', '%2e%2e/outside.bin', 'link/outside.bin',
    'float32', 'int32', 'bool', 'string', 'complex64', 'adam', 'sgd', 'model', 'checkpoint',
    -1, 0, 1, 2, 0.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308, 6e12,
    [], {}, [[]], [-1], [0], [1e6, 1e6, 1e6], [2 ** 32, 2 ** 32], [1.5, 2], ['2', 3],
    { a: 1, b: 2, c: 3, d: -4 }, { kind: 'adam' }, { kind: 'nope' },
  ),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.integer({ min: -2, max: 2 ** 33 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export type FileMutation =
  | { kind: 'set'; path: number; value: unknown }
  | { kind: 'delete'; path: number }
  | { kind: 'duplicate'; path: number }
  | { kind: 'truncate'; file: number; at: number }
  | { kind: 'flip'; file: number; at: number; xor: number }
  | { kind: 'append'; file: number; bytes: number }
  | { kind: 'replace'; file: number; with: 'missing' | 'directory' | 'symlink-outside' | 'empty' };

const frac = fc.double({ min: 0, max: 1, noNaN: true });

/** One mutation; `path` and `file` are indices taken modulo what the seed has. */
export const fileMutation: fc.Arbitrary<FileMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), path: fc.nat(), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), file: fc.nat(), at: frac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), file: fc.nat(), at: frac, xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), file: fc.nat(), bytes: fc.integer({ min: 1, max: 64 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), file: fc.nat(), with: fc.constantFrom('missing' as const, 'directory' as const, 'symlink-outside' as const, 'empty' as const) }),
  },
);

/** Every path (as key lists) of a JSON value, the root included. */
export function jsonPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...jsonPaths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...jsonPaths(v, [...prefix, k]));
  return out;
}

/** Apply the JSON mutations to a copy of `json`. */
export function mutateJson(json: unknown, mutations: FileMutation[]): unknown {
  let doc = structuredClone(json);
  for (const m of mutations) {
    if (m.kind !== 'set' && m.kind !== 'delete' && m.kind !== 'duplicate') continue;
    const paths = jsonPaths(doc);
    const path = paths[m.path % paths.length];
    if (path.length === 0) {
      if (m.kind === 'set') doc = structuredClone(m.value);
      continue;
    }
    const parent = path.slice(0, -1).reduce((o: any, k) => o[k], doc) as any;
    const key = path[path.length - 1];
    if (m.kind === 'set') parent[key] = structuredClone(m.value);
    else if (m.kind === 'delete') Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key];
    else if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]));
  }
  return doc;
}

/**
 * A fresh copy of a checkpoint directory under a new parent that also holds
 * `outside.bin` (and `outside/`), the bait for paths that leave the directory.
 */
export function copyCheckpoint(files: Map<string, Uint8Array>, outsideBytes: Uint8Array): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'elbo-fuzz-'));
  writeFileSync(join(root, 'outside.bin'), outsideBytes);
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'outside.bin'), outsideBytes);
  const dir = join(root, 'ckpt');
  mkdirSync(dir);
  symlinkSync(join(root, 'outside'), join(dir, 'link'));
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return { root, dir };
}

/** Apply the byte- and file-level mutations to the files of `dir` (sorted names; `file` indexes them). */
export function mutateFiles(dir: string, root: string, mutations: FileMutation[]): void {
  for (const m of mutations) {
    if (m.kind !== 'truncate' && m.kind !== 'flip' && m.kind !== 'append' && m.kind !== 'replace') continue;
    const names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
    if (names.length === 0) return;
    const file = join(dir, names[m.file % names.length]);
    const bytes = readFileSync(file);
    if (m.kind === 'truncate') writeFileSync(file, bytes.subarray(0, Math.floor(m.at * bytes.length)));
    else if (m.kind === 'flip') {
      if (bytes.length === 0) continue;
      const i = Math.min(bytes.length - 1, Math.floor(m.at * bytes.length));
      bytes[i] ^= m.xor;
      writeFileSync(file, bytes);
    } else if (m.kind === 'append') writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(m.bytes, 0x41)]));
    else {
      unlinkSync(file);
      if (m.with === 'directory') mkdirSync(file);
      else if (m.with === 'symlink-outside') symlinkSync(join(root, 'outside.bin'), file);
      else if (m.with === 'empty') writeFileSync(file, new Uint8Array(0));
    }
  }
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** Run `body`, failing the case if it takes longer than `caseTimeMs` (a hang). */
export async function withinTime<T>(body: () => Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${caseTimeMs} ms`)), caseTimeMs);
  });
  try {
    return await Promise.race([body(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error must be one of elbo's input errors and name a file (and, for `expectField`, a field). */
export function expectInputError(e: unknown, fileMatches: (file: string) => boolean): asserts e is InputError {
  if (!(e instanceof InputError)) throw new Error(`expected an InputError, got ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  expect(typeof e.file, `no file in: ${e.message}`).toBe('string');
  expect(fileMatches(e.file!), `file ${e.file} in: ${e.message}`).toBe(true);
}

/**
 * The valid checkpoint the mutations start from: a model of `config` after one Adam step on a
 * fixed 5-wide input (so the optimizer state is not zeros), saved at step 3 of epoch 1.
 */
export async function saveSeedCheckpoint(config: Record<string, unknown>, target: CheckpointTarget): Promise<void> {
  const model = createModel(config);
  const opt = new Adam(0.01);
  const x = tf.tensor2d([[0.1, -0.2, 0.3, 0.5, -1]]);
  const { value, grads } = tf.variableGrads(() => model.loss({ x }).loss, model.parameters());
  opt.apply(model.parameters(), model.parameters().map((p) => grads[p.name]));
  tf.dispose([x, value, ...Object.values(grads)]);
  await saveCheckpoint(model, target, { step: 3, epoch: 1, optimizer: opt });
  opt.dispose();
  model.dispose();
}

