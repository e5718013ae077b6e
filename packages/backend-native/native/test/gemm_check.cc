// Standalone GEMM check against a float64 reference for every micro-kernel of the
// platform; scripts/check-arm64.sh cross-compiles it and runs it under qemu.
#include <cstdio>
#include <cmath>
#include <vector>
#include <random>
#include "gemm.h"
using namespace elbo;
int main() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  double worst = 0;
  const long shapes[][3] = {{1,1,1},{7,13,5},{33,65,300},{128,20,400},{5,100,1100},{300,7,9},{9,1,700},{64,64,64}};
  for (const char* kern : {"neon", "generic"}) {
    if (!setGemmKernel(kern)) { printf("cannot set %s\n", kern); return 1; }
    for (auto& s : shapes) for (int tA = 0; tA < 2; tA++) for (int tB = 0; tB < 2; tB++) {
      long M = s[0], N = s[1], K = s[2];
      std::vector<float> a(M*K), b(K*N), c(M*N);
      for (auto& x : a) x = u(rng); for (auto& x : b) x = u(rng);
      sgemm(M, N, K, matRef(a.data(), tA?K:M, tA?M:K, tA), matRef(b.data(), tB?N:K, tB?K:N, tB), c.data(), N, false);
      double scale = 0, err = 0;
      for (long i = 0; i < M; i++) for (long j = 0; j < N; j++) {
        double r = 0; for (long k = 0; k < K; k++) r += (double)(tA ? a[k*M+i] : a[i*K+k]) * (tB ? b[j*K+k] : b[k*N+j]);
        scale = std::fmax(scale, std::fabs(r)); err = std::fmax(err, std::fabs(r - c[i*N+j]));
      }
      worst = std::fmax(worst, err / scale);
    }
    printf("%s (%s) worst rel err %.2e\n", kern, gemmKernelName(), worst);
  }
  return worst < 1e-4 ? 0 : 1;
}
