import { nativeGemm } from '../gemm';

export interface GemmMeasurement {
  m: number;
  n: number;
  k: number;
  /** Mean over the timed calls. */
  gflops: number;
  /** From the fastest single call: on a shared VM, the closest to what the machine can do. */
  bestGflops: number;
  msPerCall: number;
}

/**
 * GFLOP/s of the native SGEMM alone on [m, k] x [k, n] (2mnk flops per call),
 * timed over enough calls for ~`targetMs` after 3 warm-up calls: the mean and
 * the fastest call.
 */
export function measureGemm(m: number, n: number, k: number, targetMs = 300): GemmMeasurement {
  const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const out = new Float32Array(m * n);
  for (let i = 0; i < 3; i++) nativeGemm(a, b, m, n, k, { out });
  let calls = 0;
  let fastest = Infinity;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < targetMs || calls < 3) {
    const c0 = performance.now();
    nativeGemm(a, b, m, n, k, { out });
    const now = performance.now();
    fastest = Math.min(fastest, now - c0);
    calls++;
    elapsed = now - t0;
  }
  const flop = 2 * m * n * k;
  return { m, n, k, gflops: (flop * calls) / (elapsed * 1e6), bestGflops: flop / (fastest * 1e6), msPerCall: elapsed / calls };
}
