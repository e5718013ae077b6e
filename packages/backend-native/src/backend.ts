import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { binaryKernelConfig, NATIVE_BINARY_KERNELS, RELU_GRAD_KERNEL, reluGradKernelConfig } from './kernels/binary';
import { conv2dBackpropFilterKernelConfig, conv2dBackpropInputKernelConfig, conv2dKernelConfig } from './kernels/conv2d';
import { FUSED_DENSE_GRAD_KERNEL, FUSED_DENSE_KERNEL, fusedDenseGradConfig, fusedDenseGradKernelConfig, fusedDenseKernelConfig } from './kernels/dense';
import { batchMatMulKernelConfig, fusedMatMulKernelConfig } from './kernels/matmul';
import { BERNOULLI_NLL_GRAD_KERNEL, BERNOULLI_NLL_KERNEL, bernoulliNllGradConfig, bernoulliNllGradKernelConfig, bernoulliNllKernelConfig } from './kernels/bernoulli-nll';
import { GAUSSIAN_KL_GRAD_KERNEL, GAUSSIAN_KL_KERNEL, gaussianKlGradConfig, gaussianKlGradKernelConfig, gaussianKlKernelConfig } from './kernels/gaussian-kl';
import { GAUSSIAN_RSAMPLE_GRAD_KERNEL, GAUSSIAN_RSAMPLE_KERNEL, gaussianRsampleGradConfig, gaussianRsampleGradKernelConfig, gaussianRsampleKernelConfig } from './kernels/gaussian-rsample';
import { SQUARED_NORMS_KERNEL, squaredNormsKernelConfig } from './kernels/squared-norms';
import { sumKernelConfig } from './kernels/sum';
import { NATIVE_UNARY_KERNELS, unaryKernelConfig } from './kernels/unary';
import { nativeLoadError } from './native-addon';

/** The tfjs backend name this package registers. */
export const NATIVE_BACKEND_NAME = 'native';

/**
 * Priority among registered backends: above tfjs-backend-cpu (1) and wasm (2),
 * below tfjs-node (3), so importing the package makes it the default on a
 * machine without tfjs-node.
 */
export const NATIVE_BACKEND_PRIORITY = 2.5;

/** Kernels this backend runs natively; every other kernel is tfjs-backend-cpu's. */
export const NATIVE_KERNEL_NAMES: readonly string[] = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  ...NATIVE_BINARY_KERNELS,
  ...NATIVE_UNARY_KERNELS,
  'Sum',
];

/**
 * Kernels of @elbo/core's own ops that only this backend implements: the fused
 * dense layer (core's Dense runs it where registered) and its gradient kernel,
 * the trainer's per-parameter squared gradient norms, the Bernoulli
 * negative log-likelihood (core's negLogLikelihood), the Gaussian KL
 * against N(0, 1) (core's klPerDimension) and the reparameterised Gaussian
 * draw (core's gaussianRsample), each with its gradient kernel, and the
 * ReLU gradient (core's relu).
 */
export const NATIVE_CORE_KERNEL_NAMES: readonly string[] = [
  FUSED_DENSE_KERNEL,
  FUSED_DENSE_GRAD_KERNEL,
  SQUARED_NORMS_KERNEL,
  BERNOULLI_NLL_KERNEL,
  BERNOULLI_NLL_GRAD_KERNEL,
  GAUSSIAN_KL_KERNEL,
  GAUSSIAN_KL_GRAD_KERNEL,
  GAUSSIAN_RSAMPLE_KERNEL,
  GAUSSIAN_RSAMPLE_GRAD_KERNEL,
  RELU_GRAD_KERNEL,
];

/** Free arrays kept per length, and in all, by the recycler (bounded so an idle process does not hold much). */
// A training step keeps ~20 same-sized activations and gradients alive on its tape; with 8 per length the
// rest were dropped and reallocated every step (fresh multi-100-KB arrays: page faults, GC pressure).
// The byte bound must hold a whole step's arrays too: a conv VAE on 64x64 images at batch 64 frees about
// 0.5 GB per step, and with 256 MB its 33 MB activations were reallocated every step at ~170 ms each (first
// touch of fresh pages) against ~7 ms for the kernel itself. ELBO_NATIVE_POOL_MB sets the bound.
const MAX_FREE_PER_LENGTH = 64;
const MAX_FREE_BYTES = poolBytes(process.env.ELBO_NATIVE_POOL_MB);

/** The recycler's byte bound from ELBO_NATIVE_POOL_MB (default 1024); a value that is not a size warns and keeps the default. */
export function poolBytes(mb: string | undefined): number {
  const fallback = 1024 * 1024 * 1024;
  if (mb === undefined || mb === '') return fallback;
  const n = Number(mb);
  if (!Number.isFinite(n) || n < 0) {
    console.warn(`@elbo/backend-native: ELBO_NATIVE_POOL_MB must be a number of megabytes >= 0, got ${JSON.stringify(mb)}; using 1024`);
    return fallback;
  }
  return n * 1024 * 1024;
}

/**
 * tfjs-backend-cpu's backend: tensors stay TypedArrays in JS memory, which the
 * native kernels read and write in place. On top of it, the float32 output
 * arrays of native kernels are recycled: allocating a fresh multi-MB
 * Float32Array costs several times refilling one, and the garbage collector
 * runs under "external memory pressure" otherwise.
 *
 * Recycling is safe only for arrays nothing else can see, so an array goes
 * back to the free list only when (1) a native kernel allocated it, (2) no
 * stored tensor data refers to its buffer any more (views made by cpu kernels,
 * e.g. a simple Slice, are counted), and (3) it never escaped: any read
 * outside a kernel (`dataSync()`, `data()`, `bufferSync()`, moving data to
 * another backend) marks the buffer as escaped for good. ELBO_NATIVE_RECYCLE=0
 * turns recycling off.
 */
export class NativeBackend extends MathBackendCPU {
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  /** Buffers allocated by allocFloat32 that have not escaped. */
  private readonly recyclable = new WeakSet<ArrayBufferLike>();
  /** Stored tensor data per recyclable buffer. */
  private readonly users = new Map<ArrayBufferLike, number>();
  private readonly recycle = process.env.ELBO_NATIVE_RECYCLE !== '0';

  constructor() {
    super();
    // MathBackendCPU prints "install tfjs-node to speed things up" on first
    // write in Node; this backend is the speed-up, so the advice is wrong here.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** A float32 array of `length` for a native kernel to overwrite completely (contents are arbitrary). */
  allocFloat32(length: number): Float32Array {
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused;
    }
    const a = new Float32Array(length);
    if (this.recycle && length >= 1024) this.recyclable.add(a.buffer);
    return a;
  }

  /**
   * Whether a native kernel may overwrite the float32 storage of `dataId` in
   * place: this backend's kernels allocated the array, it never escaped, no
   * other stored tensor data refers to its buffer (views included), and one
   * tensor alone holds the dataId (a clone, e.g. the NaN guard's snapshot,
   * raises the count).
   */
  ownsExclusively(dataId: tf.DataId): boolean {
    const d = this.data.get(dataId);
    if (!d || d.refCount !== 1 || !(d.values instanceof Float32Array)) return false;
    const buffer = d.values.buffer;
    return this.recyclable.has(buffer) && this.users.get(buffer) === 1;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    this.track(values, +1);
    return super.write(values, shape, dtype);
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.track(values, +1);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values !== undefined && !this.data.has(dataId)) this.track(values, -1);
    return released;
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    // Kernels read their inputs while they run; anything else may keep the array.
    if ((tf.engine().state as unknown as { kernelDepth: number }).kernelDepth === 0) {
      const stored = this.data.get(dataId)?.values;
      if (stored && ArrayBuffer.isView(stored)) this.escape(stored.buffer);
      if (ArrayBuffer.isView(values)) this.escape(values.buffer);
    }
    return values;
  }

  private escape(buffer: ArrayBufferLike): void {
    if (this.recyclable.delete(buffer)) this.users.delete(buffer);
  }

  private track(values: tf.backend_util.BackendValues | undefined, delta: number): void {
    if (!this.recycle || !values || !ArrayBuffer.isView(values)) return;
    const buffer = values.buffer;
    if (!this.recyclable.has(buffer)) return;
    const n = (this.users.get(buffer) ?? 0) + delta;
    if (n > 0) {
      this.users.set(buffer, n);
      return;
    }
    this.users.delete(buffer);
    const whole = new Float32Array(buffer);
    const list = this.free.get(whole.length) ?? [];
    if (list.length < MAX_FREE_PER_LENGTH && this.freeBytes + whole.byteLength <= MAX_FREE_BYTES) {
      list.push(whole);
      this.free.set(whole.length, list);
      this.freeBytes += whole.byteLength;
    } else {
      this.recyclable.delete(buffer);
    }
  }

  override dispose(): void {
    this.free.clear();
    this.users.clear();
    this.freeBytes = 0;
    super.dispose();
  }
}

function nativeKernelConfigs(): tf.KernelConfig[] {
  return [
    batchMatMulKernelConfig(),
    fusedMatMulKernelConfig(),
    conv2dKernelConfig(),
    conv2dBackpropInputKernelConfig(),
    conv2dBackpropFilterKernelConfig(),
    ...NATIVE_BINARY_KERNELS.map(binaryKernelConfig),
    ...NATIVE_UNARY_KERNELS.map(unaryKernelConfig),
    sumKernelConfig(),
  ];
}

let registered = false;

/**
 * Registers backend 'native': every kernel tfjs-backend-cpu has registered so
 * far, with the hot ones (NATIVE_KERNEL_NAMES) replaced by native code.
 * Idempotent. Returns false, registering nothing, when the addon is not
 * available (`nativeLoadError()` says why).
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  if (nativeLoadError()) return false;
  const natives = nativeKernelConfigs();
  const replaced = new Set(natives.map((k) => k.kernelName));
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (!replaced.has(config.kernelName)) tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME });
  }
  for (const config of natives) tf.registerKernel(config);
  tf.registerKernel(squaredNormsKernelConfig());
  tf.registerKernel(bernoulliNllKernelConfig());
  tf.registerKernel(bernoulliNllGradKernelConfig());
  if (!tf.getGradient(BERNOULLI_NLL_KERNEL)) tf.registerGradient(bernoulliNllGradConfig);
  tf.registerKernel(gaussianKlKernelConfig());
  tf.registerKernel(gaussianKlGradKernelConfig());
  if (!tf.getGradient(GAUSSIAN_KL_KERNEL)) tf.registerGradient(gaussianKlGradConfig);
  tf.registerKernel(reluGradKernelConfig());
  tf.registerKernel(gaussianRsampleKernelConfig());
  tf.registerKernel(gaussianRsampleGradKernelConfig());
  if (!tf.getGradient(GAUSSIAN_RSAMPLE_KERNEL)) tf.registerGradient(gaussianRsampleGradConfig);
  // ELBO_NATIVE_FUSED_DENSE=0 leaves Dense on tf.fused.matMul (for A/B measurements).
  if (process.env.ELBO_NATIVE_FUSED_DENSE !== '0') {
    tf.registerKernel(fusedDenseKernelConfig());
    tf.registerKernel(fusedDenseGradKernelConfig());
    if (!tf.getGradient(FUSED_DENSE_KERNEL)) tf.registerGradient(fusedDenseGradConfig);
  }
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(), NATIVE_BACKEND_PRIORITY);
  registered = true;
  return true;
}
