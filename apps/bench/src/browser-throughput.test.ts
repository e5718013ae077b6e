import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built CLI, as cli.test.ts runs it (nx builds the bench before its tests). The measurement itself
// runs in apps/playground's browser test (bench.html shares its backends); here only the wiring.
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe.runIf(existsSync(cli))('elbo-bench throughput --browser', () => {
  it('is in the usage and rejects bad input with one line and exit code 2', () => {
    expect(run(['--help']).stdout).toMatch(/--browser: in headless Chromium per backend/);
    for (const [args, message] of [
      [['throughput', '--browser', '--backends', 'webgl,native'], /unknown backend "native" in --backends with --browser \(known: webgpu, webgl, wasm, cpu\)/],
      [['throughput', '--browser', '--reference', 'pytorch'], /--reference cannot be combined with --browser/],
      [['throughput', '--browser', '--steps', '0'], /--steps must be an integer >= 1/],
    ] as const) {
      const r = run([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
