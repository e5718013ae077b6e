import { createRequire } from 'node:module';
import * as path from 'node:path';

/** Broadcast of a binary operand onto the output: see native/elementwise.h. */
export const enum BroadcastMode {
  Full = 0,
  Scalar = 1,
  Repeat = 2,
  Stretch = 3,
}

/** The N-API addon's surface (native/addon.cc). All arrays alias tfjs storage. */
export interface NativeAddon {
  info(): { gemmKernel: string; threads: number; parallelRuns: number; soloRuns: number; sourceHash: string };
  setGemmKernel(name: string): boolean;
  sgemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    strideA: number,
    strideB: number,
    accumulate: boolean,
  ): void;
  /** out = act(x w + bias), x [m, k], w [k, n], bias [n] or null, act relu (NaN kept) or identity. */
  dense(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, m: number, n: number, k: number, relu: boolean): void;
  conv2d(kind: 0 | 1 | 2, in0: Float32Array, in1: Float32Array, out: Float32Array, params: number[]): void;
  binary(op: number, a: Float32Array, aMode: BroadcastMode, b: Float32Array, bMode: BroadcastMode, out: Float32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  sum(x: Float32Array, out: Float32Array, outer: number, inner: number, reduceOuter: boolean): void;
  denseGrad(dy: Float32Array, y: Float32Array, x: Float32Array, relu: boolean, dyAct: Float32Array, dW: Float32Array, db: Float32Array, m: number, n: number, k: number): void;
  /** out[t] = sum of squares of arrays[t] (float32 squares summed in double). */
  squaredNorms(arrays: Float32Array[], out: Float32Array): void;
  /** out = max(l, 0) - l x + log1p(exp(-|l|)) per element. */
  bernoulliNll(logits: Float32Array, x: Float32Array, out: Float32Array): void;
  /** dl = dy (sigmoid(l) - x) per element. */
  bernoulliNllGrad(dy: Float32Array, logits: Float32Array, x: Float32Array, dl: Float32Array): void;
  adam(
    w: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    wOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    beta1: number,
    beta2: number,
    lrT: number,
    epsT: number,
  ): void;
}

let addon: NativeAddon | null = null;
let loadError: Error | null = null;
let tried = false;
let loadedFrom: { source: 'prebuild' | 'node-gyp'; path: string } | null = null;

interface BinaryResolver {
  loadBinary(root: string, requireFn: NodeJS.Require): { addon?: NativeAddon; path?: string; source?: 'prebuild' | 'node-gyp'; error?: string };
}

function packageRoot(): string {
  // The package resolves itself through its exports map ('./package.json'),
  // which works from src/ (tests) and from dist/ (ESM and CJS builds).
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@elbo/backend-native/package.json'));
}

/**
 * Loads the addon once: a prebuilt binary from prebuilds/ when one matches
 * this platform and the shipped sources, else build/Release from
 * `node-gyp rebuild` (run by the install script); scripts/resolve-binary.cjs
 * decides, for this loader and the install script alike.
 * Never throws: on failure `nativeLoadError()` says why.
 */
export function loadAddon(): NativeAddon | null {
  if (tried) return addon;
  tried = true;
  if (process.env.ELBO_NATIVE_DISABLE === '1') {
    loadError = new Error('the native addon is disabled by ELBO_NATIVE_DISABLE=1');
    return null;
  }
  try {
    const root = packageRoot();
    const require = createRequire(import.meta.url);
    const resolver = require(path.join(root, 'scripts', 'resolve-binary.cjs')) as BinaryResolver;
    const r = resolver.loadBinary(root, require);
    if (!r.addon || !r.source || !r.path) throw new Error(r.error ?? 'no binary');
    addon = r.addon;
    loadedFrom = { source: r.source, path: r.path };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    loadError = new Error(
      `@elbo/backend-native: the native addon could not be loaded (${why}). ` +
        'Install a C++ compiler and Python 3 and reinstall the package (it builds with node-gyp), or use a prebuilt package.',
    );
  }
  return addon;
}

/**
 * One line saying what this package runs on: the prebuilt binary, the
 * node-gyp build, or neither (then tfjs's own backends are used).
 */
export function nativeLoadSummary(): string {
  const a = loadAddon();
  if (!a || !loadedFrom) return `@elbo/backend-native: no native addon, tfjs backends are used (${loadError?.message ?? 'unknown reason'})`;
  const i = a.info();
  const what = loadedFrom.source === 'prebuild' ? `the prebuilt binary ${path.basename(path.dirname(loadedFrom.path))}/${path.basename(loadedFrom.path)}` : 'the node-gyp build (build/Release)';
  return `@elbo/backend-native: native backend from ${what}, ${i.gemmKernel}, ${i.threads} threads`;
}

/** True when the native addon loaded on this machine. */
export function nativeAvailable(): boolean {
  return loadAddon() !== null;
}

/** Why the addon is unavailable, or null when it loaded. */
export function nativeLoadError(): Error | null {
  loadAddon();
  return loadError;
}

/** The loaded addon; throws the load error when there is none. */
export function requireAddon(): NativeAddon {
  const a = loadAddon();
  if (!a) throw loadError ?? new Error('@elbo/backend-native: addon unavailable');
  return a;
}

export interface NativeInfo {
  /** Micro-kernel the GEMM runs, chosen from the CPU at load time (e.g. 'avx512f-12x32', 'avx2-fma-6x16'). */
  gemmKernel: string;
  /** Threads of the native pool, the calling thread included (ELBO_NATIVE_THREADS overrides). */
  threads: number;
  /** Where the binary came from: prebuilds/ or node-gyp's build/Release. */
  source: 'prebuild' | 'node-gyp';
  /**
   * Pool runs so far that went parallel, and that ran on the calling thread
   * alone because parallel runs had stopped paying (a co-tenant holds the
   * other cores; ELBO_NATIVE_ADAPTIVE=0 turns the adaptation off).
   */
  runs: { parallel: number; solo: number };
}

/** What the addon chose on this machine; null when it is not available. */
export function nativeInfo(): NativeInfo | null {
  const a = loadAddon();
  if (!a || !loadedFrom) return null;
  const { gemmKernel, threads, parallelRuns, soloRuns } = a.info();
  return { gemmKernel, threads, source: loadedFrom.source, runs: { parallel: parallelRuns, solo: soloRuns } };
}
