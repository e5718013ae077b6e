#!/usr/bin/env node
/**
 * Install step of @elbo/backend-native. Fallback order: the prebuilt binary
 * (prebuilds/<platform>-<arch>/, made by `pnpm run prebuilds`), else a build
 * with node-gyp, else no addon: the package then loads without it,
 * `nativeAvailable()` is false and `nativeLoadError()` says why, and
 * `useBackend('auto')` falls back to tfjs's backends. Prints one line saying
 * which. A failed build does not fail the user's install; ELBO_NATIVE_STRICT=1
 * makes it fail (CI).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { loadBinary } = require('./resolve-binary.cjs');

const root = path.resolve(__dirname, '..');
const say = (line) => console.log(`@elbo/backend-native: ${line}`);

function nodeGypCommand() {
  // pnpm and npm point npm_config_node_gyp at the node-gyp they bundle.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled) return [process.execPath, [bundled, 'rebuild']];
  try {
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild']];
  } catch {
    return ['node-gyp', ['rebuild']];
  }
}

if (process.env.ELBO_NATIVE_SKIP_BUILD === '1') {
  say('ELBO_NATIVE_SKIP_BUILD=1, not building the addon');
  process.exit(0);
}
const first = loadBinary(root);
if (first.source === 'prebuild') {
  say(`using the prebuilt binary ${path.relative(root, first.path)}`);
  process.exit(0);
}

const [cmd, args] = nodeGypCommand();
const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: cmd === 'node-gyp' });
const built = result.status === 0 ? loadBinary(root) : null;
if (built && built.addon) {
  say(`no prebuilt binary for ${process.platform}-${process.arch} (${first.skipped.join('; ')}); built with node-gyp`);
} else {
  const why = result.error ? result.error.message : result.status !== 0 ? `node-gyp exit code ${result.status}` : built.error;
  say(`no prebuilt binary and the node-gyp build failed (${why}); the 'native' backend is unavailable and useBackend('auto') falls back to tfjs's backends`);
  if (process.env.ELBO_NATIVE_STRICT === '1') process.exit(1);
}
