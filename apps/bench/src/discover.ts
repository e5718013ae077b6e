import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listVariants } from '@elbo/core';

/**
 * Variant discovery. A variant package says so in its package.json:
 *
 *     "elbo": { "variant": true }
 *
 * and registers itself with @elbo/core's registry when imported (`registerVariant(name, { schema,
 * create, bench })` in its index). The bench imports every such package it can find:
 *   - in the pnpm workspace around the working directory and around the bench itself (the folders
 *     pnpm-workspace.yaml lists), so `pnpm create-variant foo && pnpm build` reaches the bench with
 *     no edit elsewhere;
 *   - in the node_modules folders above those directories (`@elbo/*` and `elbo-*` packages), for an
 *     installed bench.
 * No variant is named here.
 */

export interface DiscoveredPackage {
  name: string;
  dir: string;
  /** The ESM entry the bench imports. */
  entry: string;
}

export interface DiscoveryResult {
  /** Packages imported, by package name. */
  loaded: string[];
  /** Packages found but not imported (not built, or failing to load), with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  /** The registered variants after the imports. */
  variants: string[];
}

const here = dirname(fileURLToPath(import.meta.url));

function readJsonFile(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The package folders a pnpm-workspace.yaml lists (plain `dir/*` and `dir` entries; `!` exclusions honoured). */
function workspaceDirs(root: string): string[] {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const patterns: string[] = [];
  let inPackages = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) inPackages = /^packages\s*:/.test(line);
    const m = inPackages ? /^\s*-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line) : null;
    if (m) patterns.push(m[1].trim());
  }
  const excluded = new Set(patterns.filter((p) => p.startsWith('!')).map((p) => resolve(root, p.slice(1))));
  const dirs: string[] = [];
  for (const p of patterns.filter((q) => !q.startsWith('!'))) {
    if (p.endsWith('/*')) {
      const parent = resolve(root, p.slice(0, -2));
      if (isDir(parent)) for (const d of readdirSync(parent)) dirs.push(join(parent, d));
    } else if (!p.includes('*')) {
      dirs.push(resolve(root, p));
    }
  }
  return dirs.filter((d) => !excluded.has(d) && existsSync(join(d, 'package.json')));
}

/** Every folder from `start` up to the filesystem root. */
function ancestors(start: string): string[] {
  const out: string[] = [];
  let dir = resolve(start);
  for (;;) {
    out.push(dir);
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** Package folders under a node_modules folder that could be variant packages. */
function installedDirs(nodeModules: string): string[] {
  const out: string[] = [];
  const scoped = join(nodeModules, '@elbo');
  if (isDir(scoped)) for (const d of readdirSync(scoped)) out.push(join(scoped, d));
  if (isDir(nodeModules)) for (const d of readdirSync(nodeModules)) if (d.startsWith('elbo-')) out.push(join(nodeModules, d));
  return out;
}

/** The ESM entry of a package: exports['.'].import (or .default), else module, else main. */
function entryOf(pkg: Record<string, unknown>): string | undefined {
  const exp = pkg.exports as Record<string, unknown> | string | undefined;
  const dot = typeof exp === 'string' ? exp : (exp?.['.'] as unknown);
  const pick = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return pick(o.import) ?? pick(o.default) ?? pick(o.node);
    }
    return undefined;
  };
  return pick(dot) ?? (typeof pkg.module === 'string' ? pkg.module : undefined) ?? (typeof pkg.main === 'string' ? pkg.main : undefined);
}

/** Variant packages visible from these directories (default: the working directory and the bench's own). */
export function findVariantPackages(from: string[] = [process.cwd(), here]): DiscoveredPackage[] {
  const candidates: string[] = [];
  for (const start of from) {
    for (const dir of ancestors(start)) {
      if (existsSync(join(dir, 'pnpm-workspace.yaml'))) candidates.push(...workspaceDirs(dir));
      candidates.push(...installedDirs(join(dir, 'node_modules')));
    }
  }
  const seen = new Set<string>();
  const found: DiscoveredPackage[] = [];
  for (const candidate of candidates) {
    let dir: string;
    try {
      dir = realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = readJsonFile(join(dir, 'package.json'));
    const marker = pkg?.elbo as { variant?: unknown } | undefined;
    if (!pkg || marker?.variant !== true) continue;
    const entry = entryOf(pkg);
    found.push({ name: String(pkg.name ?? dir), dir, entry: entry ? join(dir, entry) : '' });
  }
  // Two copies of one package (a workspace folder and an installed one): the first found wins.
  const byName = new Map<string, DiscoveredPackage>();
  for (const p of found) if (!byName.has(p.name)) byName.set(p.name, p);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

let discovery: Promise<DiscoveryResult> | undefined;

/**
 * Import every variant package found (once per process); they register with @elbo/core.
 * A package that is not built or fails to load is skipped with its reason.
 */
export function loadVariants(): Promise<DiscoveryResult> {
  discovery ??= (async () => {
    const loaded: string[] = [];
    const skipped: Array<{ name: string; reason: string }> = [];
    for (const p of findVariantPackages()) {
      if (!p.entry || !existsSync(p.entry)) {
        skipped.push({ name: p.name, reason: `not built (no ${p.entry || 'entry in package.json'}; run pnpm build)` });
        continue;
      }
      try {
        await import(/* @vite-ignore */ pathToFileURL(p.entry).href);
        loaded.push(p.name);
      } catch (e) {
        skipped.push({ name: p.name, reason: (e as Error).message.split('\n')[0] });
      }
    }
    return { loaded, skipped, variants: listVariants() };
  })();
  return discovery;
}
