import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BroadcastMode } from '../native-addon';

/**
 * The float32 storage of a tensor on the cpu-derived backend, or null when
 * the native path does not apply (other dtypes, complex, strings): callers
 * then run tfjs-backend-cpu's own kernel.
 */
export function floatData(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  if (!(values instanceof Uint8Array || values instanceof Int32Array)) return null;
  // tfjs-backend-cpu casts bool and int32 to float32 by sharing the storage, so
  // e.g. x.greater(0.5).cast('float32') is float32 over a Uint8Array. Tensors
  // are immutable (in-place writes need a native Float32Array), so the
  // float32 copy is made once per array and reused by every kernel reading it.
  let copy = widened.get(values);
  if (!copy) {
    copy = Float32Array.from(values);
    widened.set(values, copy);
  }
  return copy;
}

/** Float32 copies of bool/int32 storage read as float32, held as long as the storage lives. */
const widened = new WeakMap<Uint8Array | Int32Array, Float32Array>();

/** tfjs-backend-cpu's kernel function for `name`, used where the native path does not apply. */
export function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`@elbo/backend-native: tfjs-backend-cpu has no kernel '${name}' to fall back to`);
  return k.kernelFunc;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * How an operand of shape `shape` broadcasts onto `out` in flat index terms,
 * or null when it is neither full, a scalar, trailing dims (bias-like) nor
 * leading dims (per-row), which then goes to the cpu kernel.
 */
export function broadcastMode(shape: readonly number[], out: readonly number[]): BroadcastMode | null {
  const n = sizeOf(shape);
  const total = sizeOf(out);
  if (n === total) return BroadcastMode.Full;
  if (n === 1) return BroadcastMode.Scalar;
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  // Trailing: ones, then the output's own dims.
  let k = 0;
  while (k < padded.length && padded[k] === 1) k++;
  if (padded.slice(k).every((d, i) => d === out[k + i])) return BroadcastMode.Repeat;
  // Leading: the output's dims, then ones.
  let e = padded.length;
  while (e > 0 && padded[e - 1] === 1) e--;
  if (padded.slice(0, e).every((d, i) => d === out[i])) return BroadcastMode.Stretch;
  return null;
}

/**
 * An output array for a native kernel that overwrites all of it: recycled by
 * NativeBackend where it can be (see backend.ts), else fresh.
 */
export function allocOutput(backend: MathBackendCPU, length: number): Float32Array {
  const b = backend as MathBackendCPU & { allocFloat32?: (n: number) => Float32Array };
  return typeof b.allocFloat32 === 'function' ? b.allocFloat32(length) : new Float32Array(length);
}

/** The values of input `t` of a JS-loop kernel, which must hold `n` elements (its inputs share one shape). */
export function valuesOfLength(backend: MathBackendCPU, t: tf.TensorInfo, n: number, kernel: string): ArrayLike<number> {
  const v = backend.data.get(t.dataId).values as ArrayLike<number>;
  if (v.length !== n) throw new Error(`${kernel}: inputs must have one shape`);
  return v;
}
