'use strict';
/**
 * Which compiled addon @elbo/backend-native loads, shared by the install script and the runtime loader.
 *
 * Order: a prebuilt binary from prebuilds/<platform>-<arch>/ (made by `pnpm run prebuilds`, N-API, so
 * one file serves every Node version), then build/Release from node-gyp. A binary is used only when it
 * was compiled from the native sources shipped beside it: the build embeds a hash of native/*.{cc,h}
 * and binding.gyp (`sourceHash()`), so a prebuild left stale by an edit is skipped and node-gyp's build
 * of the current sources is loaded instead.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** Hash of the native sources under `root` (16 hex digits), or null when they are not there. */
function sourceHash(root) {
  const dir = path.join(root, 'native');
  let files;
  try {
    files = fs.readdirSync(dir).filter((f) => /\.(cc|h)$/.test(f)).sort();
  } catch {
    return null;
  }
  const h = crypto.createHash('sha256');
  for (const f of [...files.map((f) => path.join('native', f)), 'binding.gyp']) {
    // Line endings normalised so a checkout with CRLF hashes the same.
    h.update(`${f.replace(/\\/g, '/')}\n`);
    h.update(fs.readFileSync(path.join(root, f), 'utf8').replace(/\r\n/g, '\n'));
  }
  return h.digest('hex').slice(0, 16);
}

const MARKER = 'elbo-native-source-hash:';

/** The source hash a compiled addon carries (read from the file, without loading it), or null. */
function builtFrom(file) {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(MARKER);
  if (at < 0) return null;
  const hash = bytes.toString('latin1', at + MARKER.length, at + MARKER.length + 16);
  return /^[0-9a-f]{16}$/.test(hash) ? hash : null;
}

function isMusl() {
  if (process.platform !== 'linux') return false;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  return !(report && report.header && report.header.glibcVersionRuntime);
}

/** Prebuilt binaries for this platform, arch and libc, most specific first. */
function prebuildPaths(root) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let files;
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
  } catch {
    return [];
  }
  const libc = isMusl() ? 'musl' : 'glibc';
  return files
    .map((file) => ({ file, tags: file.slice(0, -'.node'.length).split('.').slice(1) }))
    .filter(({ tags }) => !tags.some((t) => (t === 'glibc' || t === 'musl') && t !== libc))
    .sort((a, b) => b.tags.length - a.tags.length)
    .map(({ file }) => path.join(dir, file));
}

/**
 * Load the addon: { addon, path, source: 'prebuild' | 'node-gyp', skipped } or { error, skipped }.
 * `skipped` lists why earlier candidates were not used. Never throws.
 */
function loadBinary(root, requireFn = require) {
  root = path.resolve(root);
  const want = sourceHash(root);
  const candidates = [
    ...prebuildPaths(root).map((p) => ({ path: p, source: 'prebuild' })),
    { path: path.join(root, 'build', 'Release', 'elbo_native.node'), source: 'node-gyp' },
  ];
  const skipped = [];
  for (const c of candidates) {
    if (!fs.existsSync(c.path)) {
      skipped.push(`${c.source}: no ${path.relative(root, c.path)}`);
      continue;
    }
    const got = builtFrom(c.path);
    if (want && got !== want) {
      skipped.push(`${c.source}: ${path.relative(root, c.path)} was built from other sources (${got ?? 'no hash'}, these are ${want})`);
      continue;
    }
    let addon;
    try {
      addon = requireFn(c.path);
    } catch (e) {
      skipped.push(`${c.source}: ${path.relative(root, c.path)} did not load (${String(e && e.message).split('\n')[0]})`);
      continue;
    }
    if (typeof addon.sgemm !== 'function') {
      skipped.push(`${c.source}: ${path.relative(root, c.path)} is not @elbo/backend-native (no sgemm export)`);
      continue;
    }
    return { addon, path: c.path, source: c.source, skipped };
  }
  return { error: skipped.join('; '), skipped };
}

module.exports = { sourceHash, builtFrom, prebuildPaths, loadBinary };
