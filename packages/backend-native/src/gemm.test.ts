import '@elbo/core';
import { Rng } from '@elbo/core';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeGemm, nativeInfo, setGemmKernel } from './index';
import { randomArray } from './test-utils';

/** op(A) op(B) in float64, the reference. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const av = tA ? a[p * m + i] : a[i * k + p];
      for (let j = 0; j < n; j++) c[i * n + j] += av * (tB ? b[j * k + p] : b[p * n + j]);
    }
  return c;
}

const initial = nativeInfo()?.gemmKernel ?? '';
const restore = (): boolean =>
  setGemmKernel(initial.startsWith('avx512') ? 'avx512' : initial.startsWith('avx2') ? 'avx2' : initial.startsWith('neon') ? 'neon' : 'generic');
const KERNELS = ['avx512', 'avx2', 'neon', 'generic'] as const;
// Which micro-kernels this CPU can run (setGemmKernel refuses the others).
const supported = KERNELS.filter((k) => setGemmKernel(k));
restore();

describe('every GEMM micro-kernel this CPU runs matches a float64 reference', () => {
  afterAll(() => {
    // Back to the load-time choice.
    restore();
  });
  const rng = new Rng(6);
  /** The kernel's op(A) op(B) of random m x k and k x n operands, all four transposes, within 1e-5 of the reference. */
  const expectEveryTransposeMatches = (kernel: string, m: number, n: number, k: number): void => {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = randomArray(rng, m * k);
        const b = randomArray(rng, k * n);
        const c = nativeGemm(a, b, m, n, k, { transposeA: tA, transposeB: tB });
        const r = reference(a, b, m, n, k, tA, tB);
        let scale = 0;
        let err = 0;
        for (let i = 0; i < m * n; i++) {
          scale = Math.max(scale, Math.abs(r[i]));
          err = Math.max(err, Math.abs(r[i] - c[i]));
        }
        expect(err / scale, `${kernel} ${m}x${n}x${k} tA=${tA} tB=${tB}`).toBeLessThan(1e-5);
      }
    }
  };
  it('the portable kernel is always available', () => {
    expect(supported).toContain('generic');
  });
  for (const kernel of KERNELS) {
    // Skipped where this CPU cannot run the kernel; NEON is checked on x86 by scripts/check-arm64.sh (qemu).
    it.skipIf(!supported.includes(kernel))(kernel, () => {
      expect(setGemmKernel(kernel)).toBe(true);
      // Row counts past whole MR-row tiles of every size class (avx512 computes edges of <= 4 and <= 8 rows apart).
      for (const [m, n, k] of [[1, 1, 1], [13, 37, 5], [33, 65, 300], [150, 3, 270], [9, 1, 700], [16, 40, 20], [20, 33, 17], [7, 64, 9]]) {
        expectEveryTransposeMatches(kernel, m, n, k);
      }
    });
  }

  // Up to 4 row panels of op(A) (48 rows at MR = 12) the kernel reads a contiguous op(B) in place, with a
  // packed right edge; transposed operands are packed through 8 x 8 register transposes with a scalar k tail.
  for (const kernel of KERNELS) {
    it.skipIf(!supported.includes(kernel))(`${kernel}: batch-sized M on both sides of the in-place threshold, every transpose`, () => {
      expect(setGemmKernel(kernel)).toBe(true);
      for (const m of [1, 4, 16, 47, 48, 49, 60]) {
        for (const [n, k] of [[70, 270], [32, 8], [96, 515], [20, 400]]) expectEveryTransposeMatches(kernel, m, n, k);
      }
    });
  }

  it('rejects bad arguments by name', () => {
    expect(() => nativeGemm(new Float32Array(4), new Float32Array(4), 2, 2, 3)).toThrow(/a has 4 elements, needs m\*k = 6/);
    expect(() => nativeGemm(new Float32Array(4), new Float32Array(4), -1, 2, 2)).toThrow(/m must be/);
    // @ts-expect-error an unknown kernel name
    expect(() => setGemmKernel('sse')).toThrow(/avx512/);
  });
});
