import type * as tf from '@tensorflow/tfjs-core';
import { decodeHalf, encodeHalf } from './float16';

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

const count = (spec: tf.io.WeightsManifestEntry) => spec.shape.reduce((a, b) => a * b, 1);

/** Bytes `weights.bin` must hold for these specs when float32 entries are stored as `dtype`. */
export function storedByteLength(specs: tf.io.WeightsManifestEntry[], dtype: 'float16' | 'float32'): number {
  return specs.reduce((s, w) => s + count(w) * (w.dtype === 'float32' && dtype === 'float16' ? 2 : BYTES[w.dtype] ?? Number.NaN), 0);
}

/**
 * The weight data of a save (float32 entries as stored by tf.io.encodeWeights) with every
 * float32 entry converted to float16; int32 and bool entries are copied as they are.
 */
export function toStored(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, dtype: 'float16' | 'float32'): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(data.slice(0));
  const out = new Uint8Array(storedByteLength(specs, 'float16'));
  let src = 0;
  let dst = 0;
  for (const w of specs) {
    const n = count(w);
    if (w.dtype === 'float32') {
      out.set(encodeHalf(new Float32Array(data.slice(src, src + 4 * n))), dst);
      src += 4 * n;
      dst += 2 * n;
    } else {
      const b = n * BYTES[w.dtype];
      out.set(new Uint8Array(data, src, b), dst);
      src += b;
      dst += b;
    }
  }
  return out;
}

/** The inverse of `toStored`: weight data in tf.io.encodeWeights' layout. */
export function fromStored(specs: tf.io.WeightsManifestEntry[], stored: Uint8Array, dtype: 'float16' | 'float32'): ArrayBuffer {
  if (dtype === 'float32') return stored.slice().buffer;
  const out = new Uint8Array(storedByteLength(specs, 'float32'));
  let src = 0;
  let dst = 0;
  for (const w of specs) {
    const n = count(w);
    if (w.dtype === 'float32') {
      out.set(new Uint8Array(decodeHalf(stored.subarray(src, src + 2 * n)).buffer), dst);
      src += 2 * n;
      dst += 4 * n;
    } else {
      const b = n * BYTES[w.dtype];
      out.set(stored.subarray(src, src + b), dst);
      src += b;
      dst += b;
    }
  }
  return out.buffer;
}
