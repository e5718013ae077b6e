// Single-precision GEMM on row-major data with arbitrary strides, so that
// transposed operands are read in place (no explicit transpose):
//   C[M, N] = op(A)[M, K] * op(B)[K, N]            (accumulate = false)
//   C[M, N] += op(A)[M, K] * op(B)[K, N]           (accumulate = true)
// Element (i, k) of op(A) is A.data[i * A.rs + k * A.cs].
#pragma once

#include <cstddef>

namespace elbo {

struct MatRef {
  const float* data;
  std::ptrdiff_t rs;  // stride between rows of op(X)
  std::ptrdiff_t cs;  // stride between columns of op(X)
};

// Row-major [rows, cols] matrix, optionally read transposed.
inline MatRef matRef(const float* data, long rows, long cols, bool transposed) {
  (void)rows;
  return transposed ? MatRef{data, 1, cols} : MatRef{data, cols, 1};
}

// What a dense layer applies to the product: C[i, j] += bias[j] (when bias is not null), then
// C = max(C, 0) with NaN kept (when relu), as tfjs's Add and Relu compute them.
struct Epilogue {
  const float* bias;
  bool relu;
};

// Multithreaded (the process pool) unless `singleThread`. An epilogue runs on each thread's part of C
// right after that thread computed it, while the part is still in cache.
void sgemm(long M, long N, long K, MatRef A, MatRef B, float* C, std::ptrdiff_t ldc, bool accumulate,
           bool singleThread = false, const Epilogue* epilogue = nullptr);

// Batched: C_b = op(A_b) op(B_b) with element strides between batches (0 broadcasts).
void sgemmBatched(long batch, long M, long N, long K, MatRef A, std::ptrdiff_t strideA, MatRef B,
                  std::ptrdiff_t strideB, float* C, std::ptrdiff_t strideC, bool accumulate);

// Name of the micro-kernel chosen for this CPU ("avx512f-12x32", "avx2-fma-6x16", "neon-8x12", "generic-4x16").
const char* gemmKernelName();

// Forces a micro-kernel ("avx512", "avx2", "neon", "generic"); returns false if this CPU cannot run it.
bool setGemmKernel(const char* name);

}  // namespace elbo
