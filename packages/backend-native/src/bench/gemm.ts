import { nativeGemm } from '../gemm';

export interface GemmMeasurement {
  m: number;
  n: number;
  k: number;
  gflops: number;
  msPerCall: number;
}

/**
 * GFLOP/s of the native SGEMM alone on [m, k] x [k, n] (2mnk flops per call),
 * timed over enough calls for ~`targetMs` after 3 warm-up calls.
 */
export function measureGemm(m: number, n: number, k: number, targetMs = 300): GemmMeasurement {
  const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const out = new Float32Array(m * n);
  for (let i = 0; i < 3; i++) nativeGemm(a, b, m, n, k, { out });
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < targetMs || calls < 3) {
    nativeGemm(a, b, m, n, k, { out });
    calls++;
    elapsed = performance.now() - t0;
  }
  return { m, n, k, gflops: (2 * m * n * k * calls) / (elapsed * 1e6), msPerCall: elapsed / calls };
}
