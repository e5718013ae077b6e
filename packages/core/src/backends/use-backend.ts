import * as tf from '@tensorflow/tfjs-core';
import { activeBackendName, usePortableConvGrad, usePortableMatMulGrad } from './portable-grads';
import { importOptional, isNode } from './optional-import';
import { installNodeWebGpu } from './webgpu-node';

/** Backend names `useBackend` knows how to load; any other registered tfjs backend name works too. */
export type BackendName = 'auto' | 'native' | 'cpu' | 'wasm' | 'tensorflow' | 'webgpu' | 'webgl' | (string & {});

export interface UseBackendOptions {
  /**
   * Check that the backend computes a small matmul and its gradient correctly
   * before reporting it active (default true for 'auto', false otherwise).
   */
  smokeTest?: boolean;
  /** Candidate order for 'auto' (defaults: Node tensorflow > native > wasm > cpu; browser webgpu > webgl > wasm > cpu). */
  order?: string[];
  /** Silence tfjs's "looks like you are running TensorFlow.js in Node.js" hint (default true for explicit choices). */
  quiet?: boolean;
}

export interface BackendChoice {
  /** The tfjs backend now active (`tf.getBackend()`). */
  name: string;
  /** Why this one was picked, or why the ones before it were skipped ('auto'). */
  reason?: string;
  /** Backends tried before it and why each was skipped. */
  skipped: { name: string; reason: string }[];
}

/**
 * Optional peer packages that register each backend when imported. tfjs-node
 * ('tensorflow') downloads libtensorflow when it installs, which fails
 * offline, so it is never a dependency: a user with internet access runs
 * `npm i @tensorflow/tfjs-node` (or `@tensorflow/tfjs-node-gpu` for CUDA).
 */
const backendPackages: Record<string, { packages: string[]; registers: string }> = {
  tensorflow: { packages: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], registers: 'tensorflow' },
  native: { packages: ['@elbo/backend-native'], registers: 'native' },
  wasm: { packages: ['@tensorflow/tfjs-backend-wasm'], registers: 'wasm' },
  webgpu: { packages: ['@tensorflow/tfjs-backend-webgpu'], registers: 'webgpu' },
  webgl: { packages: ['@tensorflow/tfjs-backend-webgl'], registers: 'webgl' },
  cpu: { packages: ['@tensorflow/tfjs-backend-cpu'], registers: 'cpu' },
};


/** The 'auto' preference order for this platform. */
export function defaultBackendOrder(): string[] {
  return isNode() ? ['tensorflow', 'native', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

function describeError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}


/** Import the package that registers `name` unless it is registered already. */
async function ensureRegistered(name: string): Promise<void> {
  if (tf.findBackendFactory(name) !== null) return;
  // tfjs-backend-webgpu registers itself only where navigator.gpu exists: in Node, Dawn's 'webgpu' package provides it.
  if (name === 'webgpu' && isNode()) await installNodeWebGpu();
  const entry = backendPackages[name];
  if (!entry) {
    const known = Object.keys(tf.engine().registryFactory).sort();
    throw new Error(
      `useBackend: unknown backend "${name}" (use 'auto', ${Object.keys(backendPackages).map((n) => `'${n}'`).join(', ')} or a registered backend: ${known.join(', ')})`,
    );
  }
  const missing: string[] = [];
  for (const spec of entry.packages) {
    let loaded: unknown;
    try {
      loaded = await importOptional(spec);
    } catch (e) {
      throw new Error(`useBackend: ${spec} failed to load: ${describeError(e)}`);
    }
    if (loaded === undefined) {
      missing.push(`${spec} is not installed`);
      continue;
    }
    if (tf.findBackendFactory(entry.registers) !== null) return;
    missing.push(`${spec} loaded but registered no '${entry.registers}' backend`);
  }
  const hint = name === 'tensorflow' ? ' (its install downloads libtensorflow: run `npm i @tensorflow/tfjs-node` with internet access)' : '';
  throw new Error(`useBackend: backend '${name}' is unavailable: ${missing.join('; ')}${hint}`);
}

/**
 * A tiny matmul + gradient checked against hand-computed values, read back
 * asynchronously: tfjs-backend-webgpu's synchronous read needs OffscreenCanvas
 * (absent in Node) and returned zeros in Chromium.
 */
async function smokeTest(): Promise<void> {
  const [yT, gT] = tf.tidy(() => {
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor2d([[5, 6], [7, 8]]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, b)))(a);
    return [tf.matMul(a, b), grad];
  });
  let y: Float32Array | Int32Array | Uint8Array;
  let g: Float32Array | Int32Array | Uint8Array;
  try {
    [y, g] = await Promise.all([yT.data() as Promise<Float32Array>, gT.data() as Promise<Float32Array>]);
  } finally {
    tf.dispose([yT, gT]);
  }
  const expectY = [19, 22, 43, 50];
  const expectG = [11, 15, 11, 15];
  for (let i = 0; i < 4; i++) {
    if (Math.abs(y[i] - expectY[i]) > 1e-3 || Math.abs(g[i] - expectG[i]) > 1e-3) {
      throw new Error(`smoke test computed [${[...y]}] / [${[...g]}], expected [${expectY}] / [${expectG}]`);
    }
  }
}

function silenceNodeHint(name: string): void {
  // The cpu backend prints its "install tfjs-node" hint on first use; a user who picked a backend has made that choice.
  const backend = tf.findBackend(name) as unknown as { firstUse?: boolean } | null;
  if (backend && typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

async function activate(name: string, test: boolean): Promise<void> {
  await ensureRegistered(name);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`useBackend: backend '${name}' failed to initialise`);
  await tf.ready();
  if (test) await smokeTest();
}

/**
 * Load (dynamically importing its optional peer package), initialise and
 * activate a tfjs backend, and say which one is active.
 *
 * 'auto' tries, in order, tensorflow (@tensorflow/tfjs-node) > native
 * (@elbo/backend-native) > wasm > cpu in Node, and webgpu > webgl > wasm > cpu
 * in a browser, and keeps the first that loads and passes a smoke test.
 *
 * @example
 * const { name, reason } = await useBackend('auto');
 * console.log(`training on ${name}: ${reason}`);
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<BackendChoice> {
  if (typeof name !== 'string' || name.length === 0) throw new Error(`useBackend: name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name !== 'auto') {
    await activate(name, options.smokeTest ?? false);
    if (options.quiet ?? true) silenceNodeHint(name);
    return { name: activeBackendName(), reason: 'requested', skipped: [] };
  }
  const order = options.order ?? defaultBackendOrder();
  const skipped: { name: string; reason: string }[] = [];
  for (const candidate of order) {
    try {
      await activate(candidate, options.smokeTest ?? true);
      if (options.quiet) silenceNodeHint(candidate);
      const why = skipped.length === 0 ? 'first choice' : skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      return { name: activeBackendName(), reason: `auto picked '${candidate}' (${why})`, skipped };
    } catch (e) {
      skipped.push({ name: candidate, reason: describeError(e).replace(/^useBackend: /, '') });
    }
  }
  throw new Error(`useBackend('auto'): no backend works: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

export interface BackendInfo {
  /** Active backend. */
  name: string;
  /** Every registered backend factory. */
  registered: string[];
  isNode: boolean;
  /** Whether conv layers use the convolution-only filter gradient (backend lacks Conv2DBackpropFilter). */
  portableConvGrad: boolean;
  /** Whether Dense uses explicit transposes in its backward pass. */
  portableMatMulGrad: boolean;
  /** Kernels core's layers and trainer rely on that the active backend lacks. */
  missingKernels: string[];
}

const kernelsUsed = ['BatchMatMul', '_FusedMatMul', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Transpose', 'PadV2', 'Sum', 'Sqrt', 'Exp', 'Log'];

/** What is active and what it can do. */
export function backendInfo(): BackendInfo {
  const name = activeBackendName();
  return {
    name,
    registered: Object.keys(tf.engine().registryFactory).sort(),
    isNode: isNode(),
    portableConvGrad: usePortableConvGrad(),
    portableMatMulGrad: usePortableMatMulGrad(),
    missingKernels: kernelsUsed.filter((k) => tf.getKernel(k, name) === undefined),
  };
}
