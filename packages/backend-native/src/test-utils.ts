import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';

/** Seeded uniform values in [-1, 1) (one Rng drives every draw of a test). */
export function randomArray(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rng.next() - 1;
  return out;
}

/**
 * Runs `fn` on backend 'cpu' and on 'native' with the same inputs (given as
 * arrays, turned into tensors on each backend) and returns the flat outputs.
 */
export function onBoth(
  inputs: { shape: number[]; values: Float32Array }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): { cpu: Float32Array[]; native: Float32Array[] } {
  const run = (backend: string): Float32Array[] => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.values.slice(), i.shape));
      const out = fn(...xs);
      return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
    });
  };
  const cpu = run('cpu');
  const native = run('native');
  tf.setBackend('native');
  return { cpu, native };
}

/**
 * max |a - b| / max |b|: the error relative to the output's scale (a
 * per-element ratio is meaningless where a long sum cancels to ~0).
 * Infinity when shapes differ or NaNs do not match.
 */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    if (Number.isNaN(b[i])) continue;
    if (!Number.isFinite(b[i]) || !Number.isFinite(a[i])) {
      if (a[i] !== b[i]) return Infinity;
      continue;
    }
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** Largest relError over paired outputs. */
export function worstError(r: { cpu: Float32Array[]; native: Float32Array[] }): number {
  if (r.cpu.length !== r.native.length) return Infinity;
  return Math.max(0, ...r.cpu.map((c, i) => relError(r.native[i], c)));
}
