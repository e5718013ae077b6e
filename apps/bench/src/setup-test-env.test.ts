import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The script that `pnpm test` runs first, run against stand-ins for dpkg-query, apt-get and id, so the test can
// say which packages are present, whether it runs as root, and see what apt-get was asked to do.
const script = fileURLToPath(new URL('../../../scripts/setup-test-env.sh', import.meta.url));
const ALL = ['chromium', 'libegl1', 'libegl-mesa0', 'libgles2', 'libgl1-mesa-dri', 'redis-server'];

function stubs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'elbo-setup-'));
  const write = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  // dpkg-query -W -f=FORMAT PACKAGE: installed when PACKAGE is listed in STUB_INSTALLED.
  write('dpkg-query', 'for p in $STUB_INSTALLED; do [ "$p" = "${@: -1}" ] && { printf "install ok installed"; exit 0; }; done; exit 1');
  write('apt-get', 'echo "apt-get $*" >> "$STUB_LOG"');
  write('id', 'echo "$STUB_UID"');
  return dir;
}

function run(installed: string[], uid: number, args: string[] = []) {
  const dir = stubs();
  const log = join(dir, 'apt.log');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH}`, STUB_INSTALLED: installed.join(' '), STUB_UID: String(uid), STUB_LOG: log };
  delete env.ELBO_CHROMIUM;
  delete env.ELBO_SKIP_SETUP;
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', env });
  return { ...r, apt: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

describe('scripts/setup-test-env.sh', () => {
  it('does nothing, silently, when every package is present', () => {
    const r = run(ALL, 0);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.apt).toEqual([]);
  });

  it('as root, installs chromium and the Mesa packages with apt-get when they are missing', () => {
    const r = run(['redis-server'], 0);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('setup-test-env: installing chromium libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri (apt-get)');
    expect(r.apt).toHaveLength(2);
    expect(r.apt[0]).toMatch(/^apt-get update -qq/);
    expect(r.apt[1]).toMatch(/^apt-get install -y -qq .* chromium libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri$/);
  });

  it('installs only what is missing (redis-server for the sweep tests)', () => {
    const r = run(ALL.filter((p) => p !== 'redis-server'), 0);
    expect(r.status).toBe(0);
    expect(r.apt[1]).toMatch(/ redis-server$/);
  });

  it('as another user, prints one line saying what to install and exits non-zero', () => {
    const r = run(['libegl1', 'libgles2'], 1000);
    expect(r.status).toBe(1);
    expect(r.apt).toEqual([]);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'setup-test-env: the tests need chromium libegl-mesa0 libgl1-mesa-dri redis-server; install them (Debian: sudo apt-get install -y chromium libegl-mesa0 libgl1-mesa-dri redis-server) and run again, or set ELBO_SKIP_SETUP=1 to run without them',
    );
  });

  it('--dry-run says what it would install and installs nothing', () => {
    const r = run(['chromium', 'libegl1', 'libegl-mesa0', 'libgles2'], 0, ['--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('setup-test-env: would install: libgl1-mesa-dri redis-server');
    expect(r.apt).toEqual([]);
  });

  it('a chromium named by ELBO_CHROMIUM counts as present', () => {
    const dir = stubs();
    const fake = join(dir, 'my-chromium');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, STUB_INSTALLED: ALL.slice(1).join(' '), STUB_UID: '1000', ELBO_CHROMIUM: fake };
    const r = spawnSync('bash', [script], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });
});
