import { requireAddon } from './native-addon';

/**
 * The native packed SGEMM on plain arrays (row-major), outside tfjs: used by
 * benchmarks to measure the GEMM alone.
 * @param a [m, k] ([k, m] when transposeA)
 * @param b [k, n] ([n, k] when transposeB)
 * @param out optional [m, n] destination (overwritten)
 * @returns [m, n]
 * @example nativeGemm(a, b, 512, 512, 512) // 512^3, about 0.27 GFLOP
 */
export function nativeGemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  options: { transposeA?: boolean; transposeB?: boolean; out?: Float32Array } = {},
): Float32Array {
  for (const [name, v] of [['m', m], ['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`nativeGemm: ${name} must be a non-negative integer, got ${v}`);
  }
  if (a.length < m * k) throw new Error(`nativeGemm: a has ${a.length} elements, needs m*k = ${m * k}`);
  if (b.length < k * n) throw new Error(`nativeGemm: b has ${b.length} elements, needs k*n = ${k * n}`);
  const out = options.out ?? new Float32Array(m * n);
  if (out.length < m * n) throw new Error(`nativeGemm: out has ${out.length} elements, needs m*n = ${m * n}`);
  requireAddon().sgemm(a, b, out, 1, m, n, k, options.transposeA ?? false, options.transposeB ?? false, 0, 0, false);
  return out;
}

/**
 * Forces the GEMM micro-kernel: 'avx512', 'avx2', 'neon' or 'generic' (the
 * portable one). Returns false when this CPU cannot run it (nothing changes).
 * The default is the fastest the CPU supports; ELBO_NATIVE_GEMM sets it at load.
 */
export function setGemmKernel(name: 'avx512' | 'avx2' | 'neon' | 'generic'): boolean {
  if (!['avx512', 'avx2', 'neon', 'generic'].includes(name)) {
    throw new Error(`setGemmKernel: name must be 'avx512', 'avx2', 'neon' or 'generic', got ${String(name)}`);
  }
  return requireAddon().setGemmKernel(name);
}
