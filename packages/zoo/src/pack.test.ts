import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIMIT = 15 * 1024 * 1024;

describe('the published package', () => {
  it('is at most 15 MB packed and ships every model file', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const [info] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect(info.size).toBeLessThanOrEqual(LIMIT);
    const files = new Set((info.files as Array<{ path: string }>).map((f) => f.path));
    for (const name of ['vae-mnist', 'cvae-mnist', 'vqvae-mnist', 'hvae-mnist', 'tcvae-dsprites']) {
      for (const f of ['model.json', 'weights.bin', 'card.json', 'card.md']) expect(files.has(`models/${name}/${f}`), `models/${name}/${f}`).toBe(true);
      expect(files.has(`recipes/${name}.json`)).toBe(true);
    }
  });
});
