/**
 * One way to import optional packages for all of elbo: backends (useBackend), Dawn's 'webgpu'
 * (WebGPU in Node), the bench's native backend. Kept free of other imports so any module can use it.
 */

/** True in Node (or Bun/Deno with process.versions.node), false in a browser or worker. */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * Import a package the caller does not depend on (an optional peer, a backend or variant package
 * the application installed): the module, or undefined when the package is not installed. A
 * package that is installed but fails to load throws. Strict layouts (pnpm) hide packages the
 * importing package does not declare, so in Node the package is also looked up from the
 * application's directory (the working directory).
 * @param load imports `spec` from the caller's own location (`() => import('pkg')`): a bare import
 *   here resolves from @elbo/core's folder, which sees only core's dependencies
 * @example const native = await importOptional('@elbo/backend-native', () => import('@elbo/backend-native'));
 */
export async function importOptional<T = Record<string, unknown>>(spec: string, load?: () => Promise<T>): Promise<T | undefined> {
  try {
    // The specifier is a variable so bundlers do not try to resolve optional packages at build time.
    return load ? await load() : ((await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as T);
  } catch (e) {
    if (!isNotFound(e, spec)) throw e;
    if (!isNode()) return undefined;
    const file = await resolveFromCwd(spec);
    if (file === null) return undefined;
    return (await import(/* @vite-ignore */ /* webpackIgnore: true */ file)) as T;
  }
}

async function resolveFromCwd(spec: string): Promise<string | null> {
  const nodeModule = 'node:module';
  const nodeUrl = 'node:url';
  const { createRequire } = (await import(/* @vite-ignore */ nodeModule)) as typeof import('node:module');
  const { pathToFileURL } = (await import(/* @vite-ignore */ nodeUrl)) as typeof import('node:url');
  const cwd = (globalThis as unknown as { process: { cwd(): string } }).process.cwd();
  try {
    return pathToFileURL(createRequire(pathToFileURL(`${cwd}/`).href).resolve(spec)).href;
  } catch {
    return null;
  }
}

/** The package itself is absent (not: it is installed but one of its own imports failed). */
function isNotFound(e: unknown, spec: string): boolean {
  const code = (e as { code?: string }).code;
  const msg = firstLine(e);
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to resolve|Failed to fetch dynamically/.test(msg);
  return missing && new RegExp(`['"]${spec.replace(/[/.-]/g, '\\$&')}['"/]`).test(msg);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
