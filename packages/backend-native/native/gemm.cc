// Packed, cache-blocked SGEMM in the style of BLIS/GotoBLAS: op(B) is packed
// into KC x NR panels, op(A) into MC x KC blocks of MR-row panels, and a
// register-blocked MR x NR micro-kernel (chosen at run time from the CPU's
// SIMD level) runs over them. Packing also absorbs transposes and strides.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ELBO_X86 1
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace elbo {

namespace {

// Computes the full MR x NR tile: C = Ap * Bp (+ C if accumulate).
// Ap: kc x MR (k-major, packed). Bp: kc rows of NR floats, ldb apart: NR for a packed panel, the row stride of
// op(B) when the kernel reads B in place.
using MicroKernel = void (*)(long kc, const float* Ap, const float* Bp, std::ptrdiff_t ldb, float* C,
                             std::ptrdiff_t ldc, bool accumulate);

// Computes the first `rows` (< MR) rows of the tile into C (no accumulate): A is still packed MR rows wide.
using PartialKernel = void (*)(int rows, long kc, const float* Ap, const float* Bp, std::ptrdiff_t ldb, float* C,
                               std::ptrdiff_t ldc);

struct KernelInfo {
  const char* name;
  int mr;
  int nr;
  MicroKernel fn;
  // Optional: the bottom edge of C with fewer rows than MR (e.g. 4 rows of a batch of 16 against MR = 12)
  // at the cost of the rows it has, not a full MR-row tile.
  PartialKernel partial = nullptr;
};

// ---- portable fallback: plain loops the compiler vectorises for the baseline ISA
constexpr int kGenMR = 4, kGenNR = 16;
void ukrGeneric(long kc, const float* A, const float* B, std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, bool acc) {
  float c[kGenMR][kGenNR] = {};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < kGenMR; i++) {
      const float a = A[k * kGenMR + i];
      for (int j = 0; j < kGenNR; j++) c[i][j] += a * B[k * ldb + j];
    }
  }
  for (int i = 0; i < kGenMR; i++) {
    float* Ci = C + i * ldc;
    if (acc) {
      for (int j = 0; j < kGenNR; j++) Ci[j] += c[i][j];
    } else {
      for (int j = 0; j < kGenNR; j++) Ci[j] = c[i][j];
    }
  }
}

#ifdef ELBO_X86
// ---- AVX2 + FMA: 6 x 16 (12 ymm accumulators, 2 B loads and 1 broadcast per k)
__attribute__((target("avx2,fma"))) void ukrAvx2(long kc, const float* A, const float* B, std::ptrdiff_t ldb,
                                                   float* C, std::ptrdiff_t ldc, bool acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(B);
    const __m256 b1 = _mm256_loadu_ps(B + 8);
    __m256 a;
    a = _mm256_broadcast_ss(A + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(A + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(A + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    A += 6;
    B += ldb;
  }
#define ELBO_STORE_ROW(i, lo, hi)                                                  \
  {                                                                                \
    float* r = C + (i) * ldc;                                                      \
    if (acc) {                                                                     \
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(r));                                  \
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(r + 8));                              \
    }                                                                              \
    _mm256_storeu_ps(r, lo);                                                       \
    _mm256_storeu_ps(r + 8, hi);                                                   \
  }
  ELBO_STORE_ROW(0, c00, c01) ELBO_STORE_ROW(1, c10, c11) ELBO_STORE_ROW(2, c20, c21)
  ELBO_STORE_ROW(3, c30, c31) ELBO_STORE_ROW(4, c40, c41) ELBO_STORE_ROW(5, c50, c51)
#undef ELBO_STORE_ROW
}

// ---- AVX-512F: 12 x 32 (24 zmm accumulators)
// R rows of the tile (A still packed 12 wide): the full kernel is R = 12; the edge of a batch of 16 is 4 rows,
// which the full kernel would compute as 12.
template <int R>
__attribute__((target("avx512f"))) void ukrAvx512Rows(long kc, const float* A, const float* B, std::ptrdiff_t ldb,
                                                      float* C, std::ptrdiff_t ldc, bool acc) {
  __m512 c[R][2];
#pragma GCC unroll 12
  for (int i = 0; i < R; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(B);
    const __m512 b1 = _mm512_loadu_ps(B + 16);
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
      const __m512 a = _mm512_set1_ps(A[i]);
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    A += 12;
    B += ldb;
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; i++) {
    float* r = C + i * ldc;
    if (acc) {
      c[i][0] = _mm512_add_ps(c[i][0], _mm512_loadu_ps(r));
      c[i][1] = _mm512_add_ps(c[i][1], _mm512_loadu_ps(r + 16));
    }
    _mm512_storeu_ps(r, c[i][0]);
    _mm512_storeu_ps(r + 16, c[i][1]);
  }
}

__attribute__((target("avx512f"))) void ukrAvx512(long kc, const float* A, const float* B, std::ptrdiff_t ldb,
                                                   float* C, std::ptrdiff_t ldc, bool acc) {
  ukrAvx512Rows<12>(kc, A, B, ldb, C, ldc, acc);
}

void partialAvx512(int rows, long kc, const float* A, const float* B, std::ptrdiff_t ldb, float* C,
                   std::ptrdiff_t ldc) {
  if (rows <= 4) {
    ukrAvx512Rows<4>(kc, A, B, ldb, C, ldc, false);
  } else if (rows <= 8) {
    ukrAvx512Rows<8>(kc, A, B, ldb, C, ldc, false);
  } else {
    ukrAvx512Rows<12>(kc, A, B, ldb, C, ldc, false);
  }
}
#endif

#if defined(__aarch64__)
// ---- NEON: 8 x 12 (24 q-register accumulators)
void ukrNeon(long kc, const float* A, const float* B, std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, bool acc) {
  float32x4_t c[8][3];
  for (int i = 0; i < 8; i++) c[i][0] = c[i][1] = c[i][2] = vdupq_n_f32(0.f);
  for (long k = 0; k < kc; k++) {
    const float32x4_t b0 = vld1q_f32(B), b1 = vld1q_f32(B + 4), b2 = vld1q_f32(B + 8);
    const float32x4_t a0 = vld1q_f32(A), a1 = vld1q_f32(A + 4);
    c[0][0] = vfmaq_laneq_f32(c[0][0], b0, a0, 0); c[0][1] = vfmaq_laneq_f32(c[0][1], b1, a0, 0); c[0][2] = vfmaq_laneq_f32(c[0][2], b2, a0, 0);
    c[1][0] = vfmaq_laneq_f32(c[1][0], b0, a0, 1); c[1][1] = vfmaq_laneq_f32(c[1][1], b1, a0, 1); c[1][2] = vfmaq_laneq_f32(c[1][2], b2, a0, 1);
    c[2][0] = vfmaq_laneq_f32(c[2][0], b0, a0, 2); c[2][1] = vfmaq_laneq_f32(c[2][1], b1, a0, 2); c[2][2] = vfmaq_laneq_f32(c[2][2], b2, a0, 2);
    c[3][0] = vfmaq_laneq_f32(c[3][0], b0, a0, 3); c[3][1] = vfmaq_laneq_f32(c[3][1], b1, a0, 3); c[3][2] = vfmaq_laneq_f32(c[3][2], b2, a0, 3);
    c[4][0] = vfmaq_laneq_f32(c[4][0], b0, a1, 0); c[4][1] = vfmaq_laneq_f32(c[4][1], b1, a1, 0); c[4][2] = vfmaq_laneq_f32(c[4][2], b2, a1, 0);
    c[5][0] = vfmaq_laneq_f32(c[5][0], b0, a1, 1); c[5][1] = vfmaq_laneq_f32(c[5][1], b1, a1, 1); c[5][2] = vfmaq_laneq_f32(c[5][2], b2, a1, 1);
    c[6][0] = vfmaq_laneq_f32(c[6][0], b0, a1, 2); c[6][1] = vfmaq_laneq_f32(c[6][1], b1, a1, 2); c[6][2] = vfmaq_laneq_f32(c[6][2], b2, a1, 2);
    c[7][0] = vfmaq_laneq_f32(c[7][0], b0, a1, 3); c[7][1] = vfmaq_laneq_f32(c[7][1], b1, a1, 3); c[7][2] = vfmaq_laneq_f32(c[7][2], b2, a1, 3);
    A += 8;
    B += ldb;
  }
  for (int i = 0; i < 8; i++) {
    float* r = C + i * ldc;
    for (int j = 0; j < 3; j++) {
      float32x4_t v = c[i][j];
      if (acc) v = vaddq_f32(v, vld1q_f32(r + 4 * j));
      vst1q_f32(r + 4 * j, v);
    }
  }
}
#endif

const KernelInfo kGeneric{"generic-4x16", kGenMR, kGenNR, ukrGeneric};
#ifdef ELBO_X86
const KernelInfo kAvx2{"avx2-fma-6x16", 6, 16, ukrAvx2};
const KernelInfo kAvx512{"avx512f-12x32", 12, 32, ukrAvx512, partialAvx512};
#endif
#if defined(__aarch64__)
const KernelInfo kNeon{"neon-8x12", 8, 12, ukrNeon};
#endif

const KernelInfo* detectKernel() {
  const char* force = std::getenv("ELBO_NATIVE_GEMM");
#ifdef ELBO_X86
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (force && std::strcmp(force, "generic") == 0) return &kGeneric;
  if (force && std::strcmp(force, "avx2") == 0 && has2) return &kAvx2;
  if (has512) return &kAvx512;
  if (has2) return &kAvx2;
#elif defined(__aarch64__)
  if (force && std::strcmp(force, "generic") == 0) return &kGeneric;
  return &kNeon;
#endif
  (void)force;
  return &kGeneric;
}

const KernelInfo* gKernel = detectKernel();

constexpr long kKC = 256;   // depth of a packed panel: KC x NR of B stays in L1
constexpr long kMC = 144;   // rows of A per block: MC x KC stays in L2
constexpr long kNC = 3072;  // columns of B per block: KC x NC stays in L2/L3
// Up to this many MR-row panels of op(A), a contiguous op(B) is read in place instead of packed.
constexpr long kDirectBPanels = 4;

// Aligned, grow-only scratch per thread (packing buffers).
struct Scratch {
  float* p = nullptr;
  std::size_t n = 0;
  float* get(std::size_t count) {
    if (count > n) {
      std::free(p);
      n = count + 64;
      p = static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};

#ifdef ELBO_X86
const bool kHasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));

// dst[k * ldd + j] = src[j * lds + k] for j, k < 8: eight rows loaded, transposed in registers, stored as
// eight rows (the scalar gather it replaces reads eight lines per output row).
__attribute__((target("avx2"))) void transpose8x8(const float* src, std::ptrdiff_t lds, float* dst,
                                                  std::ptrdiff_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
               r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds),
               r5 = _mm256_loadu_ps(src + 5 * lds), r6 = _mm256_loadu_ps(src + 6 * lds),
               r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
               u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
               u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
               u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)),
               u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
               u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)),
               u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// The same for four rows: dst[k * ldd + j] = src[j * lds + k] for j < 4, k < 8.
__attribute__((target("avx2"))) void transpose4x8(const float* src, std::ptrdiff_t lds, float* dst,
                                                  std::ptrdiff_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
               r3 = _mm256_loadu_ps(src + 3 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3);
  // u_i holds k = i in its low half and k = i + 4 in its high half.
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
               u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
               u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  _mm_storeu_ps(dst, _mm256_castps256_ps128(u0));
  _mm_storeu_ps(dst + ldd, _mm256_castps256_ps128(u1));
  _mm_storeu_ps(dst + 2 * ldd, _mm256_castps256_ps128(u2));
  _mm_storeu_ps(dst + 3 * ldd, _mm256_castps256_ps128(u3));
  _mm_storeu_ps(dst + 4 * ldd, _mm256_extractf128_ps(u0, 1));
  _mm_storeu_ps(dst + 5 * ldd, _mm256_extractf128_ps(u1, 1));
  _mm_storeu_ps(dst + 6 * ldd, _mm256_extractf128_ps(u2, 1));
  _mm_storeu_ps(dst + 7 * ldd, _mm256_extractf128_ps(u3, 1));
}
#endif

// dst[k * ldd + j] = src[j * lds + k] for j < rows, k < kc: a block of a matrix whose k runs along memory,
// written k-major (what packing a row-major A, or a transposed B, does). 8 x 8 and 4 x 8 register transposes
// where the CPU has AVX2, so a 12-row panel is one of each per 8 values of k.
void transposeBlock(const float* src, std::ptrdiff_t lds, long rows, long kc, float* dst, std::ptrdiff_t ldd) {
  long k0 = 0, j0 = 0;
#ifdef ELBO_X86
  if (kHasAvx2 && rows >= 4) {
    const long kv = kc / 8 * 8;
    for (long k = 0; k < kv; k += 8) {
      long j = 0;
      for (; j + 8 <= rows; j += 8) transpose8x8(src + j * lds + k, lds, dst + k * ldd + j, ldd);
      for (; j + 4 <= rows; j += 4) transpose4x8(src + j * lds + k, lds, dst + k * ldd + j, ldd);
    }
    k0 = kv;
    j0 = rows / 4 * 4;
  }
#endif
  // Row by row (each source row is read along memory): the k tail of every row, and all k of rows left over.
  for (long j = 0; j < rows; j++) {
    const float* s = src + j * lds;
    for (long k = j < j0 ? k0 : 0; k < kc; k++) dst[k * ldd + j] = s[k];
  }
}

// dst[k * W + i] = src[k * lds + i] for i < W, k < kc: W contiguous floats per k, with W known to the
// compiler for the kernels' panel widths (a memcpy call per row of 12 floats cost more than the copy when
// kc is a batch of 16).
template <int W>
void copyRowsFixed(const float* src, std::ptrdiff_t lds, long kc, float* dst) {
  for (long k = 0; k < kc; k++)
    for (int i = 0; i < W; i++) dst[k * W + i] = src[k * lds + i];
}

void copyRows(const float* src, std::ptrdiff_t lds, int w, long kc, float* dst) {
  switch (w) {
    case 32: return copyRowsFixed<32>(src, lds, kc, dst);
    case 16: return copyRowsFixed<16>(src, lds, kc, dst);
    case 12: return copyRowsFixed<12>(src, lds, kc, dst);
    case 8: return copyRowsFixed<8>(src, lds, kc, dst);
    case 6: return copyRowsFixed<6>(src, lds, kc, dst);
    case 4: return copyRowsFixed<4>(src, lds, kc, dst);
    default:
      for (long k = 0; k < kc; k++) std::memcpy(dst + k * w, src + k * lds, w * sizeof(float));
  }
}

// Packs op(A)[ic : ic+mc, pc : pc+kc] into MR-row panels, k-major, zero-padded.
void packA(const KernelInfo& ki, MatRef A, long ic, long mc, long pc, long kc, float* dst) {
  const int MR = ki.mr;
  for (long ir = 0; ir < mc; ir += MR) {
    const long mr = std::min<long>(MR, mc - ir);
    const float* src = A.data + (ic + ir) * A.rs + pc * A.cs;
    if (A.cs == 1 && mr == MR) {
      transposeBlock(src, A.rs, MR, kc, dst, MR);
    } else if (A.rs == 1 && mr == MR) {
      // op(A) is a transposed row-major matrix: the MR values of each k are contiguous.
      copyRows(src, A.cs, MR, kc, dst);
    } else {
      for (long k = 0; k < kc; k++) {
        const float* s = src + k * A.cs;
        long i = 0;
        for (; i < mr; i++) dst[k * MR + i] = s[i * A.rs];
        for (; i < MR; i++) dst[k * MR + i] = 0.f;
      }
    }
    dst += kc * MR;
  }
}

// Packs op(B)[pc : pc+kc, jc : jc+nc] into NR-column panels, k-major, zero-padded.
void packB(const KernelInfo& ki, MatRef B, long pc, long kc, long jc, long nc, float* dst) {
  const int NR = ki.nr;
  for (long jr = 0; jr < nc; jr += NR) {
    const long nr = std::min<long>(NR, nc - jr);
    const float* src = B.data + pc * B.rs + (jc + jr) * B.cs;
    if (B.cs == 1 && nr == NR) {
      copyRows(src, B.rs, NR, kc, dst);
    } else if (B.rs == 1 && nr == NR) {
      // op(B) is a transposed row-major matrix (a weight in an input gradient): each column is contiguous.
      transposeBlock(src, B.cs, NR, kc, dst, NR);
    } else {
      for (long k = 0; k < kc; k++) {
        const float* s = src + k * B.rs;
        long j = 0;
        for (; j < nr; j++) dst[k * NR + j] = s[j * B.cs];
        for (; j < NR; j++) dst[k * NR + j] = 0.f;
      }
    }
    dst += kc * NR;
  }
}

// Matrix-vector product (N == 1), e.g. a conv with one output channel: the
// packed path would pad the single column to a full NR-wide micro-tile and do
// NR times the work. Dot products when rows of op(A) are contiguous, axpy
// sweeps when its columns are.
void gemvSerial(long M, long K, MatRef A, MatRef B, float* C, std::ptrdiff_t ldc, bool accumulate) {
  if (A.cs == 1) {
    for (long i = 0; i < M; i++) {
      const float* a = A.data + i * A.rs;
      // Eight partial sums: independent chains the compiler can vectorise without reassociating.
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      long k = 0;
      if (B.rs == 1) {
        for (; k + 8 <= K; k += 8)
          for (int u = 0; u < 8; u++) s[u] += a[k + u] * B.data[k + u];
      }
      for (; k < K; k++) s[0] += a[k] * B.data[k * B.rs];
      const float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      C[i * ldc] = accumulate ? C[i * ldc] + sum : sum;
    }
    return;
  }
  thread_local std::vector<float> acc;
  acc.assign(static_cast<std::size_t>(M), 0.f);
  float* c = acc.data();
  for (long k = 0; k < K; k++) {
    const float b = B.data[k * B.rs];
    const float* a = A.data + k * A.cs;
    if (A.rs == 1) {
      for (long i = 0; i < M; i++) c[i] += a[i] * b;
    } else {
      for (long i = 0; i < M; i++) c[i] += a[i * A.rs] * b;
    }
  }
  for (long i = 0; i < M; i++) C[i * ldc] = accumulate ? C[i * ldc] + c[i] : c[i];
}

// One thread's blocked GEMM over a sub-rectangle of C.
void gemmSerial(const KernelInfo& ki, long M, long N, long K, MatRef A, MatRef B, float* C, std::ptrdiff_t ldc,
                bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (long i = 0; i < M; i++) std::memset(C + i * ldc, 0, N * sizeof(float));
    return;
  }
  if (N == 1) {
    gemvSerial(M, K, A, B, C, ldc, accumulate);
    return;
  }
  thread_local Scratch scratchA, scratchB;
  const int MR = ki.mr, NR = ki.nr;
  const long mcMax = std::max<long>(MR, (kMC / MR) * MR);
  float* Ap = scratchA.get(static_cast<std::size_t>(mcMax) * kKC);
  float* Bp = scratchB.get(static_cast<std::size_t>((std::min(N, kNC) + NR) * kKC));
  alignas(64) float edge[16 * 32];
  // With few row panels of op(A) the kernel reads op(B) in place when its rows are contiguous: packing
  // copies all of B on every call, which few panels do not pay back.
  const bool directB = B.cs == 1 && (M + MR - 1) / MR <= kDirectBPanels;
  for (long jc = 0; jc < N; jc += kNC) {
    const long nc = std::min(kNC, N - jc);
    const long ncFull = directB ? nc / NR * NR : 0;
    for (long pc = 0; pc < K; pc += kKC) {
      const long kc = std::min(kKC, K - pc);
      const bool acc = accumulate || pc > 0;
      // Packed: all of op(B)'s block. In place: only a right edge narrower than NR, zero-padded.
      if (!directB) {
        packB(ki, B, pc, kc, jc, nc, Bp);
      } else if (ncFull < nc) {
        packB(ki, B, pc, kc, jc + ncFull, nc - ncFull, Bp);
      }
      for (long ic = 0; ic < M; ic += mcMax) {
        const long mc = std::min(mcMax, M - ic);
        packA(ki, A, ic, mc, pc, kc, Ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const long nr = std::min<long>(NR, nc - jr);
          const bool inPlace = directB && jr < ncFull;
          const float* bp = inPlace ? B.data + pc * B.rs + jc + jr : Bp + ((directB ? jr - ncFull : jr) / NR) * kc * NR;
          const std::ptrdiff_t ldb = inPlace ? B.rs : NR;
          for (long ir = 0; ir < mc; ir += MR) {
            const long mr = std::min<long>(MR, mc - ir);
            const float* ap = Ap + (ir / MR) * kc * MR;
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              ki.fn(kc, ap, bp, ldb, c, ldc, acc);
            } else {
              if (mr < MR && ki.partial) {
                ki.partial(static_cast<int>(mr), kc, ap, bp, ldb, edge, NR);
              } else {
                ki.fn(kc, ap, bp, ldb, edge, NR, false);
              }
              for (long i = 0; i < mr; i++) {
                float* ci = c + i * ldc;
                const float* e = edge + i * NR;
                if (acc) {
                  for (long j = 0; j < nr; j++) ci[j] += e[j];
                } else {
                  for (long j = 0; j < nr; j++) ci[j] = e[j];
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

const char* gemmKernelName() { return gKernel->name; }

bool setGemmKernel(const char* name) {
  const KernelInfo* k = nullptr;
  if (std::strcmp(name, "generic") == 0) k = &kGeneric;
#ifdef ELBO_X86
  __builtin_cpu_init();
  if (std::strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k = &kAvx2;
  if (std::strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f")) k = &kAvx512;
#endif
#if defined(__aarch64__)
  if (std::strcmp(name, "neon") == 0) k = &kNeon;
#endif
  if (!k) return false;
  gKernel = k;
  return true;
}

namespace {

// The epilogue on rows [0, M) and columns [0, N) of C, whose column 0 is the layer's column j0.
void applyEpilogue(const Epilogue& ep, long M, long N, long j0, float* C, std::ptrdiff_t ldc) {
  const float* bias = ep.bias ? ep.bias + j0 : nullptr;
  for (long i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (bias) {
      for (long j = 0; j < N; j++) c[j] += bias[j];
    }
    if (ep.relu) {
      // NaN < 0 is false, so NaN stays NaN.
      for (long j = 0; j < N; j++) c[j] = c[j] < 0.f ? 0.f : c[j];
    }
  }
}

}  // namespace

void sgemm(long M, long N, long K, MatRef A, MatRef B, float* C, std::ptrdiff_t ldc, bool accumulate,
           bool singleThread, const Epilogue* epilogue) {
  const KernelInfo& ki = *gKernel;
  const double flops = 2.0 * M * N * K;
  const int threads = singleThread ? 1 : pool().size();
  if (threads <= 1 || flops < 4e5) {
    gemmSerial(ki, M, N, K, A, B, C, ldc, accumulate);
    if (epilogue) applyEpilogue(*epilogue, M, N, 0, C, ldc);
    return;
  }
  const long mBlocks = (M + ki.mr - 1) / ki.mr;
  const long nBlocks = (N + ki.nr - 1) / ki.nr;
  if (mBlocks * nBlocks < 2 * threads && K >= 4 * kKC && !accumulate) {
    // Small output, long reduction (e.g. a conv filter gradient): split K and
    // sum the partial products.
    const long parts = threads;
    const long kChunk = (K + parts - 1) / parts;
    std::vector<float> partial(static_cast<std::size_t>(parts - 1) * M * N);
    pool().run(static_cast<int>(parts), [&](int t) {
      const long k0 = t * kChunk;
      const long kc = std::min(kChunk, K - k0);
      MatRef a{A.data + k0 * A.cs, A.rs, A.cs};
      MatRef b{B.data + k0 * B.rs, B.rs, B.cs};
      if (t == 0) {
        gemmSerial(ki, M, N, std::max(kc, 0L), a, b, C, ldc, false);
      } else {
        gemmSerial(ki, M, N, std::max(kc, 0L), a, b, partial.data() + (t - 1) * M * N, N, false);
      }
    });
    for (long t = 1; t < parts; t++) {
      const float* p = partial.data() + (t - 1) * M * N;
      for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) C[i * ldc + j] += p[i * N + j];
    }
    if (epilogue) applyEpilogue(*epilogue, M, N, 0, C, ldc);
    return;
  }
  // Split C into one rectangle per thread along the dimension with more micro-tiles.
  const bool splitN = nBlocks >= mBlocks;
  const long blocks = splitN ? nBlocks : mBlocks;
  // Two tasks per thread, taken dynamically: a thread the VM deschedules
  // delays the call by one task, not by half the matrix.
  const long parts = std::min<long>(2 * threads, blocks);
  pool().run(static_cast<int>(parts), [&](int t) {
    const long b0 = blocks * t / parts, b1 = blocks * (t + 1) / parts;
    if (splitN) {
      const long j0 = b0 * ki.nr, j1 = std::min(N, b1 * ki.nr);
      MatRef b{B.data + j0 * B.cs, B.rs, B.cs};
      gemmSerial(ki, M, j1 - j0, K, A, b, C + j0, ldc, accumulate);
      if (epilogue) applyEpilogue(*epilogue, M, j1 - j0, j0, C + j0, ldc);
    } else {
      const long i0 = b0 * ki.mr, i1 = std::min(M, b1 * ki.mr);
      MatRef a{A.data + i0 * A.rs, A.rs, A.cs};
      gemmSerial(ki, i1 - i0, N, K, a, B, C + i0 * ldc, ldc, accumulate);
      if (epilogue) applyEpilogue(*epilogue, i1 - i0, N, 0, C + i0 * ldc, ldc);
    }
  });
}

void sgemmBatched(long batch, long M, long N, long K, MatRef A, std::ptrdiff_t strideA, MatRef B,
                  std::ptrdiff_t strideB, float* C, std::ptrdiff_t strideC, bool accumulate) {
  const int threads = pool().size();
  if (batch >= threads && batch > 1) {
    const KernelInfo& ki = *gKernel;
    parallelFor(batch, 1, [&](long lo, long hi) {
      for (long b = lo; b < hi; b++) {
        MatRef a{A.data + b * strideA, A.rs, A.cs};
        MatRef bb{B.data + b * strideB, B.rs, B.cs};
        gemmSerial(ki, M, N, K, a, bb, C + b * strideC, N, accumulate);
      }
    });
    return;
  }
  for (long b = 0; b < batch; b++) {
    MatRef a{A.data + b * strideA, A.rs, A.cs};
    MatRef bb{B.data + b * strideB, B.rs, B.cs};
    sgemm(M, N, K, a, bb, C + b * strideC, N, accumulate);
  }
}

}  // namespace elbo
