import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadImageFolder } from '@elbo/datasets';
import { describe, expect, it } from 'vitest';
import { internalErrorReport, userErrorLine } from './errors';
import { benchConfigFile } from './suites';

// The bench names no variant: a registered one comes from the quick config.
const { variant } = benchConfigFile<{ variant: string }>('quick.json');

// Every error caused by the user's input: one line on stderr, `elbo-bench: <what>, <where>, <how to fix>`,
// exit code 2, no stack trace. The built CLI is run as a user runs it (nx builds the bench before its tests).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, INIT_CWD: '' } });
const tmp = () => mkdtempSync(join(tmpdir(), 'elbo-bench-errors-'));
// The quick model's config (configs/quick.json): a valid config to break one field of.
const QUICK = JSON.parse(readFileSync(new URL('../configs/quick.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function expectOneLine(r: { status: number | null; stderr: string }, message: RegExp): string {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^elbo-bench: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

/** A checkpoint folder with one float32 weight of 100 values and `bytes` bytes of weight data. */
function checkpoint(dir: string, paths = ['w.bin'], bytes = 400): string {
  mkdirSync(dir, { recursive: true });
  const manifest = {
    format: 'elbo',
    modelTopology: null,
    weightsManifest: [{ paths, weights: [{ name: 'encoder.w', shape: [100], dtype: 'float32' }] }],
    userDefinedMetadata: { elbo: { formatVersion: 1, config: { variant } } },
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'w.bin'), new Uint8Array(bytes));
  return dir;
}

describe.runIf(existsSync(cli))('elbo-bench: one line and exit 2 for each kind of bad input', () => {
  it('a bad flag value and an unknown flag', () => {
    expectOneLine(run(['quick', '--epochs', 'ten']), /--epochs must be an integer >= 1, got "ten"/);
    expectOneLine(run(['quick', '--bogus']), /Unknown option '--bogus'.*elbo-bench --help/);
  });

  it('a bad config field, naming the file and the field', () => {
    const dir = tmp();
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...QUICK, latentDim: -2 }));
    const line = expectOneLine(run(['train', '--config', file, '--backend', 'cpu', '--runs', dir]), /field "latentDim"/);
    expect(line).toContain(file);
  });

  it('an unknown variant, listing the registered ones once', () => {
    const dir = tmp();
    const file = join(dir, 'gan.json');
    writeFileSync(file, JSON.stringify({ variant: 'gan', latentDim: 2 }));
    const line = expectOneLine(run(['train', '--config', file, '--backend', 'cpu', '--runs', dir]), new RegExp(`"gan", which is not registered \\(registered: .*${variant}`));
    expect(line.match(/registered/g)).toHaveLength(2); // "not registered" and "(registered: ...)"
  });

  it('a missing file or folder', () => {
    expectOneLine(run(['train', '--config', '/nonexistent/config.json']), /config file not found: \/nonexistent\/config.json/);
    const empty = tmp();
    expectOneLine(run(['quick', '--backend', 'cpu', '--mnist-dir', empty, '--runs', empty]), /is in '.*'.*--mnist-dir a folder holding the four IDX files/);
  });

  it('a truncated checkpoint', () => {
    const dir = checkpoint(join(tmp(), 'model'), ['w.bin'], 40);
    const r = run(['eval', '--model', dir, '--backend', 'cpu']);
    expectOneLine(r, /truncated: 40 bytes, the manifest needs 400.*point --model at a directory written by elbo/);
    // The backend line is short; why it was chosen (and what was skipped) only under --verbose.
    expect(r.stdout.trim()).toBe('backend: cpu');
    expect(run(['eval', '--model', dir, '--backend', 'cpu', '--verbose']).stdout).toMatch(/^backend: cpu \(.+\)/);
  });

  it('a hostile checkpoint (a weight path out of its folder)', () => {
    const dir = checkpoint(join(tmp(), 'model'), ['../../../../etc/passwd']);
    expectOneLine(run(['eval', '--model', dir, '--backend', 'cpu']), /"\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the checkpoint directory/);
  });

  it('a malformed IDX file', () => {
    const dir = tmp();
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(dir, f), Uint8Array.from({ length: 64 }, (_, i) => 7 + i));
    }
    expectOneLine(run(['quick', '--backend', 'cpu', '--mnist-dir', dir, '--runs', dir]), /IDX file '.*-ubyte': .*magic number.*replace the file with an intact copy/);
  });

  it('an unknown backend, listing the known ones', () => {
    expectOneLine(run(['quick', '--backend', 'gpu9']), /unknown backend "gpu9", in --backend, use 'auto', .*'cpu'/);
  });

  it('--verbose adds the stack trace to the same line', () => {
    const r = run(['quick', '--backend', 'gpu9', '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^elbo-bench: unknown backend "gpu9"/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('userErrorLine: the loaders\' errors the bench maps to one line', () => {
  const lineOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return userErrorLine(e);
    }
    throw new Error('expected an error');
  };

  it('a malformed PNG', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.png'), 'not a png');
    const line = lineOf(() => loadImageFolder(dir));
    expect(line).toMatch(/^elbo-bench: .*a\.png.* not a readable PNG.*, fix or replace that file$/);
    expect(line).not.toContain('\n');
  });

  it('a malformed labels CSV', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'labels.csv'), 'name,class\na.png,1\n');
    const line = lineOf(() => loadImageFolder(dir, { labels: join(dir, 'labels.csv') }));
    expect(line).toMatch(/^elbo-bench: .*labels CSV .*'file' and 'label'/);
    expect(line).not.toContain('\n');
  });

  it('an internal error is not an input error: it exits 1 (in cli.ts), says it is a bug and keeps its stack', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'shape')");
    expect(userErrorLine(bug)).toBeUndefined();
    const report = internalErrorReport(bug);
    expect(report.split('\n')[0]).toMatch(/^elbo-bench: internal error: .*this is a bug in elbo/);
    expect(report).toMatch(/\n\s+at /);
  });
});
