#!/usr/bin/env node
/**
 * Install step of @elbo/backend-native: use a prebuilt binary when one matches
 * (prebuilds/<platform>-<arch>/, made by `pnpm run prebuild`), otherwise build
 * the addon with node-gyp. A failed build must not fail the user's install:
 * the package then loads without the addon, `nativeAvailable()` is false and
 * `nativeLoadError()` says why, so `useBackend('auto')` can fall back.
 * Set ELBO_NATIVE_STRICT=1 to make a failed build fail the install (CI).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function prebuildLoads() {
  try {
    const load = require('node-gyp-build');
    const addon = load(root);
    return typeof addon.sgemm === 'function';
  } catch {
    return false;
  }
}

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
  console.warn('@elbo/backend-native: ELBO_NATIVE_SKIP_BUILD=1, not building the addon');
  process.exit(0);
}
if (prebuildLoads()) process.exit(0);

const [cmd, args] = nodeGypCommand();
const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: cmd === 'node-gyp' });
if (result.status !== 0) {
  const why = result.error ? result.error.message : `exit code ${result.status}`;
  console.warn(`@elbo/backend-native: building the native addon failed (${why}); the 'native' backend will be unavailable and useBackend('auto') falls back.`);
  if (process.env.ELBO_NATIVE_STRICT === '1') process.exit(1);
}
