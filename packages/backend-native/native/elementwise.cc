#include "elementwise.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <limits>
#include <vector>

#include "thread_pool.h"

// The loop that follows has no dependence between iterations that the compiler must respect (outputs that
// alias inputs do so element for element).
#if defined(__clang__)
#define ELBO_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define ELBO_IVDEP _Pragma("GCC ivdep")
#else
#define ELBO_IVDEP
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ELBO_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ELBO_ALWAYS_INLINE inline
#endif

namespace elbo {

namespace {

constexpr long kGrain = 1L << 15;  // elements per thread below which threading costs more than it saves

long gcd(long a, long b) {
  while (b) {
    long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

struct AddF { static float f(float a, float b) { return a + b; } };
struct SubF { static float f(float a, float b) { return a - b; } };
struct MulF { static float f(float a, float b) { return a * b; } };
struct DivF { static float f(float a, float b) { return a / b; } };
struct MaxF { static float f(float a, float b) { return (a != a || b != b) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b); } };
struct MinF { static float f(float a, float b) { return (a != a || b != b) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b); } };
struct SqDiffF { static float f(float a, float b) { const float d = a - b; return d * d; } };
// dy * step(y), as tfjs's relu gradient multiplies by step: 0 * dy keeps a NaN or infinite dy NaN where y <= 0.
struct ReluGradF { static float f(float dy, float y) { return dy * (y > 0.f ? 1.f : (y != y ? y : 0.f)); } };

// Strides are 0 or 1; the four cases are separate loops so each one vectorises.
template <class F>
void run(const float* a, long sa, const float* b, long sb, float* out, long n) {
  if (sa && sb) {
    for (long i = 0; i < n; i++) out[i] = F::f(a[i], b[i]);
  } else if (sa) {
    const float bv = b[0];
    for (long i = 0; i < n; i++) out[i] = F::f(a[i], bv);
  } else if (sb) {
    const float av = a[0];
    for (long i = 0; i < n; i++) out[i] = F::f(av, b[i]);
  } else {
    const float v = F::f(a[0], b[0]);
    for (long i = 0; i < n; i++) out[i] = v;
  }
}

// Length of the runs over which an operand's index is constant or contiguous.
long runLength(const Operand& o, long total) {
  switch (o.mode) {
    case Broadcast::Repeat: return o.n;
    case Broadcast::Stretch: return total / o.n;
    default: return total;
  }
}

void locate(const Operand& o, long start, long total, const float** p, long* stride) {
  switch (o.mode) {
    case Broadcast::Full: *p = o.data + start; *stride = 1; break;
    case Broadcast::Scalar: *p = o.data; *stride = 0; break;
    case Broadcast::Repeat: *p = o.data + start % o.n; *stride = 1; break;
    case Broadcast::Stretch: *p = o.data + start / (total / o.n); *stride = 0; break;
  }
}

template <class F>
void binaryT(Operand a, Operand b, float* out, long total) {
  const long len = gcd(runLength(a, total), runLength(b, total));
  const long rows = total / len;
  const long grainRows = len >= kGrain ? 1 : kGrain / len;
  parallelFor(rows, grainRows, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      const float *pa, *pb;
      long sa, sb;
      locate(a, r * len, total, &pa, &sa);
      locate(b, r * len, total, &pb, &sb);
      if (len >= kGrain && rows == 1) {
        // One long row: split it across the pool.
        parallelFor(len, kGrain, [&](long i0, long i1) {
          run<F>(pa + i0 * sa, sa, pb + i0 * sb, sb, out + i0, i1 - i0);
        });
      } else {
        run<F>(pa, sa, pb, sb, out + r * len, len);
      }
    }
  });
}

template <class G>
void unaryT(const float* x, float* out, long n, float alpha) {
  parallelFor(n, kGrain, [&](long lo, long hi) {
    for (long i = lo; i < hi; i++) out[i] = G::f(x[i], alpha);
  });
}

// log1p without a libm call per element, so the loop vectorises (glibc's scalar log1pf made Log1p of a
// [128,784] Bernoulli-logits loss the slowest elementwise kernel of an MLP VAE step). u = 1 + x is split
// into mantissa m in [sqrt(1/2), sqrt(2)) and exponent e; log(m) is Cephes' logf polynomial (~1 ulp);
// the rounding error of 1 + x is added back as (x - (u - 1)) / u. Lanes outside the polynomial's
// domain (u not a finite normal number > 0, i.e. x <= -1 + tiny, x = inf, NaN) are redone with
// std::log1p by fixLog1p.
inline float log1pPoly(float x) {
  const float u = 1.f + x;
  const float c = (x - (u - 1.f)) / u;
  uint32_t bits;
  std::memcpy(&bits, &u, 4);
  int e = static_cast<int>((bits >> 23) & 0xff) - 126;  // u = m' * 2^e, m' in [0.5, 1)
  bits = (bits & 0x007fffffu) | 0x3f000000u;
  float m;
  std::memcpy(&m, &bits, 4);
  // Both candidates computed unconditionally: the selects are then plain blends, and with -fno-trapping-math
  // (binding.gyp) GCC vectorises the loop.
  const bool low = m < 0.707106781186547524f;
  const float m2 = m + m;
  e -= low ? 1 : 0;
  const float f = (low ? m2 : m) - 1.f;
  const float z = f * f;
  float y = 7.0376836292E-2f;
  y = y * f - 1.1514610310E-1f;
  y = y * f + 1.1676998740E-1f;
  y = y * f - 1.2420140846E-1f;
  y = y * f + 1.4249322787E-1f;
  y = y * f - 1.6668057665E-1f;
  y = y * f + 2.0000714765E-1f;
  y = y * f - 2.4999993993E-1f;
  y = y * f + 3.3333331174E-1f;
  y = y * f * z;
  const float fe = static_cast<float>(e);
  y += -2.12194440E-4f * fe;
  y += -0.5f * z;
  float r = f + y;
  r += 0.693359375f * fe;
  return r + c;
}

inline bool log1pPolyDomain(float x) {
  const float u = 1.f + x;
  // u a finite normal positive number (NaN fails both comparisons).
  return u >= std::numeric_limits<float>::min() && u <= std::numeric_limits<float>::max();
}

// The domain test is a branch-free count inside the vectorised loop; the scalar fix-up loop (a branch per
// element, which cost as much as the polynomial) runs only when some lane needs it.
void log1pFast(const float* x, float* out, long lo, long hi) {
  int outside = 0;
  for (long i = lo; i < hi; i++) {
    out[i] = log1pPoly(x[i]);
    outside |= log1pPolyDomain(x[i]) ? 0 : 1;
  }
  if (!outside) return;
  for (long i = lo; i < hi; i++) {
    if (!log1pPolyDomain(x[i])) out[i] = std::log1p(x[i]);
  }
}

// exp(x) for x <= 0 (or NaN) without a libm call, so the loops below vectorise (glibc's scalar expf was
// most of the Bernoulli NLL kernels, a per-sample cost of an MLP VAE step). Cephes' expf: x = n ln2 + r with
// n rounded to nearest by the 1.5 * 2^23 trick, |r| <= ln2 / 2, a degree-6 polynomial (~1 ulp). 2^n is
// applied as two factors 2^(n/2) 2^(n - n/2), each a normal float for x >= -104, so results below the
// smallest normal float round to subnormals and then 0 as libm's do. NaN stays NaN through r.
ELBO_ALWAYS_INLINE float expNonPositive(float x) {
  x = x < -104.f ? -104.f : x;
  const float t = x * 1.44269504088896341f + 12582912.f;
  const float n = t - 12582912.f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440E-4f;
  float e = 1.9875691500E-4f;
  e = e * r + 1.3981999507E-3f;
  e = e * r + 8.3334519073E-3f;
  e = e * r + 4.1665795894E-2f;
  e = e * r + 1.6666665459E-1f;
  e = e * r + 5.0000001201E-1f;
  e = e * r * r + r + 1.f;
  // n in [-150, 0] as an integer from t's bits (t's ulp is 1 there); garbage for NaN, whose e is already NaN,
  // so the integer steps are unsigned (wrapping, not overflowing).
  uint32_t tb;
  std::memcpy(&tb, &t, 4);
  const int32_t ni = static_cast<int32_t>(tb - 0x4B400000u);
  const int32_t half = ni / 2;
  const uint32_t bits1 = (static_cast<uint32_t>(half) + 127u) << 23;
  const uint32_t bits2 = (static_cast<uint32_t>(ni) - static_cast<uint32_t>(half) + 127u) << 23;
  float s1, s2;
  std::memcpy(&s1, &bits1, 4);
  std::memcpy(&s2, &bits2, 4);
  return e * s1 * s2;
}

// tanh without a libm call per element, so the loop vectorises (glibc's scalar tanhf ran at ~40 ns per
// element). Cephes' tanhf: x + x^3 P(x^2) for |x| < 0.625, else (1 - e) / (1 + e) with e = exp(-2|x|) and
// the sign of x. Both branches are computed and blended; NaN stays NaN through either.
inline float tanhPoly(float x) {
  const float z = x * x;
  float p = -5.70498872745E-3f;
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  const float small = std::copysign(x + x * z * p, x);  // keeps tanh(-0) = -0
  const float a = std::fabs(x);
  const float e = expNonPositive(-2.f * a);
  const float large = std::copysign((1.f - e) / (1.f + e), x);
  return a < 0.625f ? small : large;
}

void tanhFast(const float* x, float* out, long lo, long hi) {
  ELBO_IVDEP
  for (long i = lo; i < hi; i++) out[i] = tanhPoly(x[i]);
}

struct NegG { static float f(float x, float) { return -x; } };
struct ExpG { static float f(float x, float) { return std::exp(x); } };
struct LogG { static float f(float x, float) { return std::log(x); } };
struct SqrtG { static float f(float x, float) { return std::sqrt(x); } };
struct SquareG { static float f(float x, float) { return x * x; } };
struct ReluG { static float f(float x, float) { return x < 0.f ? 0.f : x; } };
struct StepG { static float f(float x, float a) { return x != x ? x : (x > 0.f ? 1.f : a); } };
struct AbsG { static float f(float x, float) { return std::fabs(x); } };
struct Log1pG { static float f(float x, float) { return std::log1p(x); } };
struct SigmoidG { static float f(float x, float) { return 1.f / (1.f + std::exp(-x)); } };
struct SoftplusG {
  // tfjs-backend-cpu's thresholds (log(float eps) + 2) keep exp from overflowing.
  static float f(float x, float) {
    const float threshold = -13.942385152878742f;
    if (x > -threshold) return x;
    if (x < threshold) return std::exp(x);
    return std::log1p(std::exp(x));
  }
};
struct RsqrtG { static float f(float x, float) { return 1.f / std::sqrt(x); } };
struct ReciprocalG { static float f(float x, float) { return 1.f / x; } };
struct LeakyReluG { static float f(float x, float a) { return x < 0.f ? a * x : x; } };
struct Relu6G { static float f(float x, float) { return x != x ? x : (x < 0.f ? 0.f : (x > 6.f ? 6.f : x)); } };
struct EluG { static float f(float x, float) { return x >= 0.f ? x : std::expm1(x); } };

}  // namespace

void binary(BinaryOp op, Operand a, Operand b, float* out, long total) {
  if (total <= 0) return;
  switch (op) {
    case BinaryOp::Add: binaryT<AddF>(a, b, out, total); break;
    case BinaryOp::Sub: binaryT<SubF>(a, b, out, total); break;
    case BinaryOp::Mul: binaryT<MulF>(a, b, out, total); break;
    case BinaryOp::Div: binaryT<DivF>(a, b, out, total); break;
    case BinaryOp::Max: binaryT<MaxF>(a, b, out, total); break;
    case BinaryOp::Min: binaryT<MinF>(a, b, out, total); break;
    case BinaryOp::SquaredDiff: binaryT<SqDiffF>(a, b, out, total); break;
    case BinaryOp::ReluGrad: binaryT<ReluGradF>(a, b, out, total); break;
    default: break;
  }
}

void unary(UnaryOp op, const float* x, float* out, long n, float alpha) {
  switch (op) {
    case UnaryOp::Neg: unaryT<NegG>(x, out, n, alpha); break;
    case UnaryOp::Exp: unaryT<ExpG>(x, out, n, alpha); break;
    case UnaryOp::Log: unaryT<LogG>(x, out, n, alpha); break;
    case UnaryOp::Sqrt: unaryT<SqrtG>(x, out, n, alpha); break;
    case UnaryOp::Square: unaryT<SquareG>(x, out, n, alpha); break;
    case UnaryOp::Relu: unaryT<ReluG>(x, out, n, alpha); break;
    case UnaryOp::Step: unaryT<StepG>(x, out, n, alpha); break;
    case UnaryOp::Abs: unaryT<AbsG>(x, out, n, alpha); break;
    case UnaryOp::Log1p:
      // In place (x == out) the fix-up pass would read outputs: keep the scalar path there.
      if (x == out) {
        unaryT<Log1pG>(x, out, n, alpha);
      } else {
        parallelFor(n, kGrain / 4, [&](long lo, long hi) { log1pFast(x, out, lo, hi); });
      }
      break;
    case UnaryOp::Sigmoid: unaryT<SigmoidG>(x, out, n, alpha); break;
    case UnaryOp::Softplus: unaryT<SoftplusG>(x, out, n, alpha); break;
    case UnaryOp::Rsqrt: unaryT<RsqrtG>(x, out, n, alpha); break;
    case UnaryOp::Reciprocal: unaryT<ReciprocalG>(x, out, n, alpha); break;
    case UnaryOp::LeakyRelu: unaryT<LeakyReluG>(x, out, n, alpha); break;
    case UnaryOp::Relu6: unaryT<Relu6G>(x, out, n, alpha); break;
    case UnaryOp::Elu: unaryT<EluG>(x, out, n, alpha); break;
    case UnaryOp::Tanh: parallelFor(n, kGrain / 4, [&](long lo, long hi) { tanhFast(x, out, lo, hi); }); break;
    default: break;
  }
}

namespace {

ELBO_ALWAYS_INLINE void bernoulliNllRange(const float* l, const float* x, float* out, long lo, long hi) {
  // e = exp(-|l|) is in [0, 1] or NaN, where log1pPoly is exact to ~1 ulp without the fix-up log1pFast needs
  // elsewhere (a NaN l makes the sum NaN).
  ELBO_IVDEP
  for (long i = lo; i < hi; i++) {
    const float li = l[i];
    const float relu = li < 0.f ? 0.f : li;
    out[i] = (relu - li * x[i]) + log1pPoly(expNonPositive(-std::fabs(li)));
  }
}

ELBO_ALWAYS_INLINE void bernoulliNllGradRange(const float* dy, const float* l, const float* x, float* dl, long lo,
                                              long hi) {
  ELBO_IVDEP
  for (long i = lo; i < hi; i++) {
    // sigmoid(l) from e = exp(-|l|) without overflow on either side; NaN l gives NaN.
    const float li = l[i];
    const float e = expNonPositive(-std::fabs(li));
    const float r = 1.f / (1.f + e);
    const float s = li >= 0.f ? r : e * r;
    dl[i] = dy[i] * (s - x[i]);
  }
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
// Sixteen lanes (AVX-512) or eight (AVX2 and FMA) instead of SSE's four where the CPU has them.
__attribute__((target("avx512f"))) void bernoulliNllRangeAvx512(const float* l, const float* x, float* out, long lo,
                                                                long hi) {
  bernoulliNllRange(l, x, out, lo, hi);
}
__attribute__((target("avx512f"))) void bernoulliNllGradRangeAvx512(const float* dy, const float* l, const float* x,
                                                                    float* dl, long lo, long hi) {
  bernoulliNllGradRange(dy, l, x, dl, lo, hi);
}
__attribute__((target("avx2,fma"))) void bernoulliNllRangeAvx2(const float* l, const float* x, float* out, long lo,
                                                               long hi) {
  bernoulliNllRange(l, x, out, lo, hi);
}
__attribute__((target("avx2,fma"))) void bernoulliNllGradRangeAvx2(const float* dy, const float* l, const float* x,
                                                                   float* dl, long lo, long hi) {
  bernoulliNllGradRange(dy, l, x, dl, lo, hi);
}
// 2: AVX-512F, 1: AVX2 and FMA, 0: the baseline build.
int nllLevel() {
  static const int level = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f")                              ? 2
                                                  : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1
                                                                                                                    : 0);
  return level;
}
#endif

}  // namespace

void bernoulliNll(const float* l, const float* x, float* out, long n) {
  parallelFor(n, kGrain / 4, [=](long lo, long hi) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (nllLevel() == 2) return bernoulliNllRangeAvx512(l, x, out, lo, hi);
    if (nllLevel() == 1) return bernoulliNllRangeAvx2(l, x, out, lo, hi);
#endif
    bernoulliNllRange(l, x, out, lo, hi);
  });
}

void bernoulliNllGrad(const float* dy, const float* l, const float* x, float* dl, long n) {
  parallelFor(n, kGrain / 4, [=](long lo, long hi) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (nllLevel() == 2) return bernoulliNllGradRangeAvx512(dy, l, x, dl, lo, hi);
    if (nllLevel() == 1) return bernoulliNllGradRangeAvx2(dy, l, x, dl, lo, hi);
#endif
    bernoulliNllGradRange(dy, l, x, dl, lo, hi);
  });
}

void sumInner(const float* x, float* out, long outer, long inner) {
  const long grain = inner >= kGrain ? 1 : kGrain / (inner > 0 ? inner : 1);
  parallelFor(outer, grain, [&](long lo, long hi) {
    for (long r = lo; r < hi; r++) {
      // Four double accumulators: accurate like tfjs's JS-number sum, and not a serial dependency chain.
      const float* p = x + r * inner;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      long j = 0;
      for (; j + 4 <= inner; j += 4) {
        s0 += p[j];
        s1 += p[j + 1];
        s2 += p[j + 2];
        s3 += p[j + 3];
      }
      for (; j < inner; j++) s0 += p[j];
      out[r] = static_cast<float>((s0 + s1) + (s2 + s3));
    }
  });
}

void sumOuter(const float* x, float* out, long outer, long inner) {
  // Parallel over columns: each thread owns a slice of out.
  const long grain = outer >= kGrain ? 16 : (kGrain / (outer > 0 ? outer : 1)) + 16;
  parallelFor(inner, grain, [&](long lo, long hi) {
    for (long j = lo; j < hi; j++) out[j] = 0.f;
    for (long r = 0; r < outer; r++) {
      const float* p = x + r * inner;
      for (long j = lo; j < hi; j++) out[j] += p[j];
    }
  });
}

namespace {

// Sum of float32 squares in double, eight lanes so the loop vectorises (float to double conversions and adds).
double sumSquares(const float* x, long n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; j++) {
      const float s = x[i + j] * x[i + j];
      acc[j] += s;
    }
  }
  double tail = 0;
  for (; i < n; i++) {
    const float s = x[i] * x[i];
    tail += s;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

}  // namespace

void squaredNorms(const float* const* xs, const long* ns, long count, float* out) {
  // Fixed-size chunks (the same split on any thread count, so the same result), summed in parallel when
  // there is enough work, then added up per array in order.
  constexpr long kChunk = 1L << 16;
  struct Chunk {
    long array, lo, hi;
  };
  std::vector<Chunk> chunks;
  long total = 0;
  for (long t = 0; t < count; t++) {
    total += ns[t];
    for (long lo = 0; lo < ns[t]; lo += kChunk) chunks.push_back({t, lo, std::min(ns[t], lo + kChunk)});
  }
  std::vector<double> partial(chunks.size());
  auto body = [&](long c0, long c1) {
    for (long c = c0; c < c1; c++) partial[c] = sumSquares(xs[chunks[c].array] + chunks[c].lo, chunks[c].hi - chunks[c].lo);
  };
  const long n = static_cast<long>(chunks.size());
  if (total >= 2 * kGrain) {
    parallelFor(n, 1, body);
  } else {
    body(0, n);
  }
  std::vector<double> sums(count, 0.0);
  for (long c = 0; c < n; c++) sums[chunks[c].array] += partial[c];
  for (long t = 0; t < count; t++) out[t] = static_cast<float>(sums[t]);
}

namespace {

// Each output is its own input or a separate array, element for element, so iterations are independent. The
// pointers are plain arguments: captured by reference in parallelFor's lambda they were reloaded after every
// store (a store could have changed them), which kept the loop scalar (~3 ns per element, a third of an MLP
// VAE step at batch 16).
ELBO_ALWAYS_INLINE void adamRange(const float* w, const float* m, const float* v, const float* g, float* wOut,
                                  float* mOut, float* vOut, long lo, long hi, float b1, float c1, float b2, float c2,
                                  float lrT, float epsT) {
  ELBO_IVDEP
  for (long i = lo; i < hi; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + c1 * gi;
    const float vi = b2 * v[i] + c2 * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    wOut[i] = w[i] - lrT * mi / (std::sqrt(vi) + epsT);
  }
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
// AVX2 without FMA: twice SSE's width (sqrt and divide bound it), and the same roundings, so the same bits.
__attribute__((target("avx2"))) void adamRangeAvx2(const float* w, const float* m, const float* v, const float* g,
                                                   float* wOut, float* mOut, float* vOut, long lo, long hi,
                                                   float b1, float c1, float b2, float c2, float lrT, float epsT) {
  adamRange(w, m, v, g, wOut, mOut, vOut, lo, hi, b1, c1, b2, c2, lrT, epsT);
}
bool adamAvx2() {
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
  return has;
}
#endif

}  // namespace

void adamUpdate(const float* w, const float* m, const float* v, const float* g, float* wOut, float* mOut, float* vOut,
                long n, double beta1, double beta2, float lrT, float epsT) {
  const float b1 = static_cast<float>(beta1), c1 = static_cast<float>(1.0 - beta1);
  const float b2 = static_cast<float>(beta2), c2 = static_cast<float>(1.0 - beta2);
  parallelFor(n, kGrain, [=](long lo, long hi) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (adamAvx2()) return adamRangeAvx2(w, m, v, g, wOut, mOut, vOut, lo, hi, b1, c1, b2, c2, lrT, epsT);
#endif
    adamRange(w, m, v, g, wOut, mOut, vOut, lo, hi, b1, c1, b2, c2, lrT, epsT);
  });
}

}  // namespace elbo
