import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// A few SIGKILLs during checkpoint saves (scripts/fuzz-kill-save.mjs; `pnpm fuzz` runs 50): after
// each, the directory loads and holds the last completed save or the one after it, never a mix.
it('checkpoints survive SIGKILL during saves (5 kills)', async () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), '../../../scripts/fuzz-kill-save.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--kills', '5', '--max-delay-ms', '300'], { timeout: 240_000 });
  const figures = JSON.parse(stdout.trim().split('\n').pop()!);
  expect(figures.kills).toBe(5);
  expect(figures.landedOnLastReported + figures.landedOnNext + figures.emptyBeforeFirstSave).toBe(5);
  expect(figures.saves).toBeGreaterThan(0);
}, 300_000);
