#!/usr/bin/env node
// `pnpm bench <command>`: bring the bench and the packages it imports up to date with nx, quietly, then run the
// elbo-bench CLI with the same arguments. Nothing is printed when every build is a cache hit, one line
// ("building...") when something is rebuilt, and the whole build log only when the build fails.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nxBin = join(root, 'node_modules', '.bin', 'nx');

// The workspace's variant packages ("elbo": { "variant": true }) are built too: the bench discovers
// them at run time, so one made by `pnpm create-variant` is not among the bench's dependencies.
const variantPackages = readdirSync(join(root, 'packages'))
  .map((d) => join(root, 'packages', d, 'package.json'))
  .filter((f) => existsSync(f))
  .map((f) => JSON.parse(readFileSync(f, 'utf8')))
  .filter((pkg) => pkg.elbo?.variant === true)
  .map((pkg) => pkg.name);

function build() {
  return new Promise((resolve) => {
    const child = spawn(nxBin, ['run-many', '-t', 'build', `--projects=${['@elbo/bench', ...variantPackages].join(',')}`, '--output-style=static'], {
      cwd: root,
      env: { ...process.env, NX_NO_CLOUD: 'true', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let pending = '';
    let announced = false;
    const onData = (chunk) => {
      const text = chunk.toString();
      log += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      // nx starts each task with "> nx run <project>:build"; a cache hit carries a bracketed note on that line.
      if (!announced && lines.some((l) => /^\s*> nx run \S+:build\s*$/.test(l))) {
        announced = true;
        process.stderr.write('building...\n');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => resolve({ code: 1, log: `${log}\n${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, log }));
  });
}

const { code, log } = await build();
if (code !== 0) {
  process.stderr.write(log);
  process.stderr.write(`\nelbo-bench: the build failed (nx exit code ${code}; its log is above), fix the error it names and run again\n`);
  process.exit(1);
}
const cli = spawn(process.execPath, [join(root, 'apps', 'bench', 'dist', 'cli.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Ctrl-C reaches the CLI itself (same process group), which stops cleanly; this wrapper waits for it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => cli.kill('SIGTERM'));
cli.on('close', (c, signal) => process.exit(signal ? 1 : (c ?? 1)));
