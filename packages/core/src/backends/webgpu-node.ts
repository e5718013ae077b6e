/**
 * WebGPU in Node through Dawn's `webgpu` npm package (its native binary ships
 * inside the package). tfjs-backend-webgpu looks for `navigator.gpu` when it is
 * imported and asks for an adapter with only a power preference, so this sets
 * up `navigator.gpu` (and the GPU* constants) first, on the first Dawn backend
 * that yields an adapter.
 *
 * Where a GPU and its Vulkan driver exist, Vulkan (feature level 'core') is
 * used. On a GPU-less Linux box the only adapter seen is Mesa's llvmpipe
 * through Dawn's OpenGL ES backend in compatibility mode, which needs EGL to
 * run without a display (EGL_PLATFORM=surfaceless, XDG_RUNTIME_DIR set) and
 * Debian's libegl1, libegl-mesa0, libgles2 and libgl1-mesa-dri; Vulkan via
 * lavapipe (mesa-vulkan-drivers) is rejected by Dawn there.
 */

import { importOptional } from './optional-import';

/** What `installNodeWebGpu` set up. */
export interface NodeWebGpuInfo {
  /** Dawn backend that gave the adapter ('vulkan', 'opengles', ...), or 'preset' when navigator.gpu already existed. */
  dawnBackend: string;
  featureLevel: 'core' | 'compatibility';
  /** Adapter description (vendor, architecture, device, driver) as Dawn reports it. */
  adapter: string;
  /** Dawn backends tried before it and why each gave nothing. */
  skipped: string[];
}

export interface NodeWebGpuOptions {
  /**
   * Dawn backends to try, in order. Default: the comma-separated list in
   * ELBO_WEBGPU_BACKENDS, else ['vulkan', 'opengles'] (a real GPU first, then llvmpipe).
   */
  dawnBackends?: string[];
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
  getPreferredCanvasFormat?(): string;
  wgslLanguageFeatures?: unknown;
}

type NodeProcess = { env: Record<string, string | undefined>; cwd(): string };

let installed: NodeWebGpuInfo | null = null;

/** The setup done by an earlier `installNodeWebGpu` call, or null. */
export function nodeWebGpuInfo(): NodeWebGpuInfo | null {
  return installed;
}

/** Dawn's 'webgpu' package, an optional peer (looked up from the application's directory too). */
async function importDawn(): Promise<DawnModule> {
  const needs = "WebGPU in Node needs Dawn's 'webgpu' package (npm i webgpu; its binary ships inside)";
  let dawn: DawnModule | undefined;
  try {
    dawn = await importOptional<DawnModule>('webgpu');
  } catch (e) {
    throw new Error(`${needs}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (!dawn) throw new Error(`${needs}: it is not installed`);
  return dawn;
}

function describeAdapter(a: AdapterLike): string {
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s !== undefined && s !== '').join(' / ') || 'unknown adapter';
}

/**
 * Make `navigator.gpu` available in Node so that importing
 * @tensorflow/tfjs-backend-webgpu registers the 'webgpu' backend.
 * `useBackend('webgpu')` calls it in Node; call it yourself only to pick the
 * Dawn backends. Idempotent.
 *
 * @example
 * const info = await installNodeWebGpu();            // e.g. { dawnBackend: 'opengles', featureLevel: 'compatibility', adapter: '... llvmpipe ...' }
 * await useBackend('webgpu');
 */
export async function installNodeWebGpu(options: NodeWebGpuOptions = {}): Promise<NodeWebGpuInfo> {
  if (installed) return installed;
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike }; process?: NodeProcess };
  if (g.navigator?.gpu) {
    installed = { dawnBackend: 'preset', featureLevel: 'core', adapter: 'navigator.gpu was set by the application', skipped: [] };
    return installed;
  }
  const env = g.process?.env ?? {};
  const fromEnv = env.ELBO_WEBGPU_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  const dawnBackends = options.dawnBackends ?? (fromEnv && fromEnv.length > 0 ? fromEnv : ['vulkan', 'opengles']);
  if (!Array.isArray(dawnBackends) || dawnBackends.length === 0 || !dawnBackends.every((b) => typeof b === 'string' && /^[a-z0-9]+$/.test(b))) {
    throw new Error(`installNodeWebGpu: dawnBackends must be a non-empty list of Dawn backend names such as 'vulkan', 'opengles', 'metal', 'd3d12', got ${JSON.stringify(dawnBackends)}`);
  }
  // Mesa's EGL needs these to open a display-less (surfaceless) context; setting process.env
  // reaches the C environment, and EGL reads it when Dawn first opens a display, below.
  env.EGL_PLATFORM ??= 'surfaceless';
  if (env.XDG_RUNTIME_DIR === undefined) {
    const nodeOs = 'node:os'; // a variable, so browser bundlers leave this Node-only import alone
    const { tmpdir } = (await import(/* @vite-ignore */ nodeOs)) as typeof import('node:os');
    env.XDG_RUNTIME_DIR = tmpdir();
  }
  const dawn = await importDawn();
  const skipped: string[] = [];
  for (const backend of dawnBackends) {
    let gpu: GpuLike;
    try {
      gpu = dawn.create([`backend=${backend}`]);
    } catch (e) {
      skipped.push(`${backend}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    // 'core' first: a real GPU gets every feature; llvmpipe over OpenGL ES only offers 'compatibility'.
    for (const featureLevel of ['core', 'compatibility'] as const) {
      const adapter = await gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' }).catch(() => null);
      if (adapter === null || adapter === undefined) continue;
      for (const [key, value] of Object.entries(dawn.globals)) {
        if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
      }
      // tfjs-backend-webgpu asks with { powerPreference } only: pass the feature level that worked.
      const wrapped: GpuLike = {
        requestAdapter: (o) => gpu.requestAdapter({ ...o, featureLevel }),
        getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat?.() ?? 'rgba8unorm',
        wgslLanguageFeatures: gpu.wgslLanguageFeatures,
      };
      if (g.navigator === undefined) g.navigator = { gpu: wrapped };
      else Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true, enumerable: true });
      installed = { dawnBackend: backend, featureLevel, adapter: describeAdapter(adapter), skipped };
      return installed;
    }
    skipped.push(`${backend}: no adapter at feature level core or compatibility`);
  }
  throw new Error(
    `installNodeWebGpu: no WebGPU adapter (${skipped.join('; ')}). Without a GPU, Mesa's llvmpipe through OpenGL ES works: ` +
      'on Debian/Ubuntu apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri',
  );
}
