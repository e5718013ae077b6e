#include "conv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "gemm.h"
#include "thread_pool.h"

namespace elbo {

namespace {

bool isPointwise(const ConvParams& p) {
  return p.kH == 1 && p.kW == 1 && p.strideH == 1 && p.strideW == 1 && p.padTop == 0 && p.padLeft == 0 &&
         p.outH == p.inH && p.outW == p.inW;
}

// col [rows of images b0..b1-1, kH * kW * inC] for images [b0, b1); out-of-image taps are zero.
void im2colImages(const ConvParams& p, const float* x, long b0, long b1, float* col) {
  const long patch = p.kH * p.kW * p.inC;
  for (long b = b0; b < b1; b++) {
    for (long oh = 0; oh < p.outH; oh++) {
      for (long ow = 0; ow < p.outW; ow++) {
        float* dst = col + (((b - b0) * p.outH + oh) * p.outW + ow) * patch;
        for (long kh = 0; kh < p.kH; kh++) {
          const long ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          for (long kw = 0; kw < p.kW; kw++) {
            const long iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            float* d = dst + (kh * p.kW + kw) * p.inC;
            if (ih < 0 || ih >= p.inH || iw < 0 || iw >= p.inW) {
              std::memset(d, 0, p.inC * sizeof(float));
            } else {
              std::memcpy(d, x + ((b * p.inH + ih) * p.inW + iw) * p.inC, p.inC * sizeof(float));
            }
          }
        }
      }
    }
  }
}

// Scatter-adds col (rows of images b0..b1-1) into dx, which the caller zeroed.
void col2imImages(const ConvParams& p, const float* col, long b0, long b1, float* dx) {
  const long patch = p.kH * p.kW * p.inC;
  for (long b = b0; b < b1; b++) {
    for (long oh = 0; oh < p.outH; oh++) {
      for (long ow = 0; ow < p.outW; ow++) {
        const float* src = col + (((b - b0) * p.outH + oh) * p.outW + ow) * patch;
        for (long kh = 0; kh < p.kH; kh++) {
          const long ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (long kw = 0; kw < p.kW; kw++) {
            const long iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= p.inW) continue;
            const float* s = src + (kh * p.kW + kw) * p.inC;
            float* d = dx + ((b * p.inH + ih) * p.inW + iw) * p.inC;
            for (long c = 0; c < p.inC; c++) d[c] += s[c];
          }
        }
      }
    }
  }
}

// col for the whole batch, images split across the pool.
void im2col(const ConvParams& p, const float* x, float* col) {
  const long rowsPerImage = p.outH * p.outW * p.kH * p.kW * p.inC;
  parallelFor(p.batch, 1, [&](long lo, long hi) { im2colImages(p, x, lo, hi, col + lo * rowsPerImage); });
}

// Scatter-adds col back into dx (zeroed here). Parallel over images: their dx are disjoint.
void col2im(const ConvParams& p, const float* col, float* dx) {
  const long image = p.inH * p.inW * p.inC;
  const long colPerImage = p.outH * p.outW * p.kH * p.kW * p.inC;
  parallelFor(p.batch, 1, [&](long lo, long hi) {
    std::memset(dx + lo * image, 0, (hi - lo) * image * sizeof(float));
    col2imImages(p, col + lo * colPerImage, lo, hi, dx);
  });
}

// Grow-only scratch for the im2col matrix, reused across calls (allocation
// of a fresh multi-MB buffer per call costs more than the copy into it).
std::vector<float>& colScratch(std::size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// Direct loops for convolutions with very few output channels (a decoder's
// output conv to 1 or 3 channels): as GEMMs they are matrix-vector products
// whose im2col matrix (the whole cost) is written and read once for a few
// flops per element; here every tap is an inner loop over inC instead.
constexpr long kDirectMaxOutC = 4;
bool useDirect(const ConvParams& p) { return p.outC <= kDirectMaxOutC; }

// Calls fn(b, oh, ow, kh, kw, xOffset) for every in-image tap of images [b0, b1).
template <class F>
void forEachTap(const ConvParams& p, long b0, long b1, F&& fn) {
  for (long b = b0; b < b1; b++)
    for (long oh = 0; oh < p.outH; oh++)
      for (long ow = 0; ow < p.outW; ow++)
        for (long kh = 0; kh < p.kH; kh++) {
          const long ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (long kw = 0; kw < p.kW; kw++) {
            const long iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= p.inW) continue;
            fn(((b * p.outH + oh) * p.outW + ow), (kh * p.kW + kw), ((b * p.inH + ih) * p.inW + iw) * p.inC);
          }
        }
}

// One output channel with inC a multiple of the vector width (a decoder's output conv: 32 channels to 1),
// in AVX-512 or AVX2 registers: the forward keeps one accumulator per output value across its taps and
// reduces once; the gradients are one fused multiply-add per vector of channels per tap. The generic loops
// below reduced every tap's partial sums and ran at SSE width: 2.4 ms forward and about 3 ms for each
// gradient on a batch of 64 28x28x32 maps, one thread.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
__attribute__((target("avx512f"))) void oneChannelAvx512(int kind, const ConvParams& p, const float* a,
                                                         const float* b, float* out, long b0, long b1) {
  const long C = p.inC;
  for (long bi = b0; bi < b1; bi++)
    for (long oh = 0; oh < p.outH; oh++)
      for (long ow = 0; ow < p.outW; ow++) {
        const long row = (bi * p.outH + oh) * p.outW + ow;
        __m512 acc = _mm512_setzero_ps();
        for (long kh = 0; kh < p.kH; kh++) {
          const long ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (long kw = 0; kw < p.kW; kw++) {
            const long iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= p.inW) continue;
            const long xo = ((bi * p.inH + ih) * p.inW + iw) * C;
            const long tap = (kh * p.kW + kw) * C;
            if (kind == 0) {  // a = x, b = w: y[row] = sum of x . w over taps
              for (long c = 0; c < C; c += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + xo + c), _mm512_loadu_ps(b + tap + c), acc);
            } else if (kind == 1) {  // a = dy, b = w: dx[tap's pixel] += dy[row] w[tap]
              const __m512 g = _mm512_set1_ps(a[row]);
              for (long c = 0; c < C; c += 16)
                _mm512_storeu_ps(out + xo + c, _mm512_fmadd_ps(g, _mm512_loadu_ps(b + tap + c), _mm512_loadu_ps(out + xo + c)));
            } else {  // a = x, b = dy: dw[tap] += x[tap's pixel] dy[row]
              const __m512 g = _mm512_set1_ps(b[row]);
              for (long c = 0; c < C; c += 16)
                _mm512_storeu_ps(out + tap + c, _mm512_fmadd_ps(_mm512_loadu_ps(a + xo + c), g, _mm512_loadu_ps(out + tap + c)));
            }
          }
        }
        if (kind == 0) {
          // Halves added down to one lane (through memory: GCC's 512-to-256 extracts warn of undefined lanes).
          alignas(64) float lanes[16];
          _mm512_store_ps(lanes, acc);
          const __m256 h8 = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
          const __m128 h = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
          const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
          out[row] = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
        }
      }
}

__attribute__((target("avx2,fma"))) void oneChannelAvx2(int kind, const ConvParams& p, const float* a, const float* b,
                                                        float* out, long b0, long b1) {
  const long C = p.inC;
  for (long bi = b0; bi < b1; bi++)
    for (long oh = 0; oh < p.outH; oh++)
      for (long ow = 0; ow < p.outW; ow++) {
        const long row = (bi * p.outH + oh) * p.outW + ow;
        __m256 acc = _mm256_setzero_ps();
        for (long kh = 0; kh < p.kH; kh++) {
          const long ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (long kw = 0; kw < p.kW; kw++) {
            const long iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= p.inW) continue;
            const long xo = ((bi * p.inH + ih) * p.inW + iw) * C;
            const long tap = (kh * p.kW + kw) * C;
            if (kind == 0) {
              for (long c = 0; c < C; c += 8)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + xo + c), _mm256_loadu_ps(b + tap + c), acc);
            } else if (kind == 1) {
              const __m256 g = _mm256_set1_ps(a[row]);
              for (long c = 0; c < C; c += 8)
                _mm256_storeu_ps(out + xo + c, _mm256_fmadd_ps(g, _mm256_loadu_ps(b + tap + c), _mm256_loadu_ps(out + xo + c)));
            } else {
              const __m256 g = _mm256_set1_ps(b[row]);
              for (long c = 0; c < C; c += 8)
                _mm256_storeu_ps(out + tap + c, _mm256_fmadd_ps(_mm256_loadu_ps(a + xo + c), g, _mm256_loadu_ps(out + tap + c)));
            }
          }
        }
        if (kind == 0) {
          const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
          const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
          out[row] = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
        }
      }
}

// 2: AVX-512 (inC a multiple of 16), 1: AVX2 + FMA (inC a multiple of 8), 0: the generic loops.
int oneChannelLevel(const ConvParams& p) {
  static const bool has512 = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f"));
  static const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (p.outC != 1) return 0;
  if (has512 && p.inC % 16 == 0) return 2;
  if (has2 && p.inC % 8 == 0) return 1;
  return 0;
}

// kind 0: out = y from (x, w); 1: out = dx (zeroed by the caller) from (dy, w); 2: out += dw from (x, dy).
bool oneChannel(int kind, const ConvParams& p, const float* a, const float* b, float* out, long b0, long b1) {
  const int level = oneChannelLevel(p);
  if (level == 2) oneChannelAvx512(kind, p, a, b, out, b0, b1);
  if (level == 1) oneChannelAvx2(kind, p, a, b, out, b0, b1);
  return level > 0;
}
#else
bool oneChannel(int, const ConvParams&, const float*, const float*, float*, long, long) { return false; }
#endif

void directForward(const ConvParams& p, const float* x, const float* w, float* y) {
  const long C = p.inC, O = p.outC;
  parallelFor(p.batch, 1, [&](long lo, long hi) {
    if (oneChannel(0, p, x, w, y, lo, hi)) return;
    std::memset(y + lo * p.outH * p.outW * O, 0, (hi - lo) * p.outH * p.outW * O * sizeof(float));
    forEachTap(p, lo, hi, [&](long row, long tap, long xo) {
      const float* xv = x + xo;
      const float* wt = w + tap * C * O;
      float* yv = y + row * O;
      if (O == 1) {
        // Eight partial sums so the dot product vectorises without reassociation.
        float s8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long c = 0;
        for (; c + 8 <= C; c += 8)
          for (int u = 0; u < 8; u++) s8[u] += xv[c + u] * wt[c + u];
        float s = ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
        for (; c < C; c++) s += xv[c] * wt[c];
        yv[0] += s;
        return;
      }
      for (long o = 0; o < O; o++) {
        float s = 0.f;
        for (long c = 0; c < C; c++) s += xv[c] * wt[c * O + o];
        yv[o] += s;
      }
    });
  });
}

void directBackpropInput(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const long C = p.inC, O = p.outC;
  const long image = p.inH * p.inW * C;
  parallelFor(p.batch, 1, [&](long lo, long hi) {
    std::memset(dx + lo * image, 0, (hi - lo) * image * sizeof(float));
    if (oneChannel(1, p, dy, w, dx, lo, hi)) return;
    forEachTap(p, lo, hi, [&](long row, long tap, long xo) {
      const float* g = dy + row * O;
      const float* wt = w + tap * C * O;
      float* d = dx + xo;
      if (O == 1) {
        const float g0 = g[0];
        for (long c = 0; c < C; c++) d[c] += g0 * wt[c];
        return;
      }
      for (long o = 0; o < O; o++) {
        const float go = g[o];
        for (long c = 0; c < C; c++) d[c] += go * wt[c * O + o];
      }
    });
  });
}

void directBackpropFilter(const ConvParams& p, const float* x, const float* dy, float* dw) {
  const long C = p.inC, O = p.outC;
  const long wsize = p.kH * p.kW * C * O;
  const long parts = std::min<long>(p.batch, pool().size());
  std::vector<float> partial(static_cast<std::size_t>(parts) * wsize, 0.f);
  pool().run(static_cast<int>(parts), [&](int t) {
    const long b0 = p.batch * t / parts, b1 = p.batch * (t + 1) / parts;
    float* acc = partial.data() + t * wsize;
    if (oneChannel(2, p, x, dy, acc, b0, b1)) return;
    forEachTap(p, b0, b1, [&](long row, long tap, long xo) {
      const float* xv = x + xo;
      const float* g = dy + row * O;
      float* a = acc + tap * C * O;
      if (O == 1) {
        const float g0 = g[0];
        for (long c = 0; c < C; c++) a[c] += xv[c] * g0;
      } else {
        for (long c = 0; c < C; c++)
          for (long o = 0; o < O; o++) a[c * O + o] += xv[c] * g[o];
      }
    });
  });
  std::memcpy(dw, partial.data(), wsize * sizeof(float));
  for (long t = 1; t < parts; t++) {
    const float* q = partial.data() + t * wsize;
    for (long i = 0; i < wsize; i++) dw[i] += q[i];
  }
}

// Per-image ("implicit") mode: each task takes a few whole images, builds
// their im2col rows in a small thread-local buffer that stays in L2 and runs a
// single-threaded GEMM on it. The full-batch col matrix (58 MB for a 3x3,
// 32-channel conv on 64 28x28 images) is never written, which matters most
// when outC is small and the GEMM is memory-bound. Whole images per task keep
// col2im's scatter race-free. Used when there are enough images to share out.
bool perImage(const ConvParams& p) { return p.batch >= 2L * pool().size(); }

// Images per task so one task's col block is about 1 MB.
long imagesPerTask(const ConvParams& p) {
  const long perImage = p.outH * p.outW * p.kH * p.kW * p.inC;
  const long target = 256L * 1024;
  long n = perImage > 0 ? target / perImage : p.batch;
  if (n < 1) n = 1;
  const long maxPerTask = (p.batch + 2L * pool().size() - 1) / (2L * pool().size());
  return n < maxPerTask ? n : (maxPerTask > 0 ? maxPerTask : 1);
}

}  // namespace

void conv2dForward(const ConvParams& p, const float* x, const float* w, float* y) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  if (isPointwise(p)) {
    sgemm(rows, p.outC, patch, matRef(x, rows, patch, false), matRef(w, patch, p.outC, false), y, p.outC, false);
    return;
  }
  if (useDirect(p)) {
    directForward(p, x, w, y);
    return;
  }
  if (perImage(p)) {
    const long step = imagesPerTask(p);
    const long tasks = (p.batch + step - 1) / step;
    const long rowsPerImage = p.outH * p.outW;
    pool().run(static_cast<int>(tasks), [&](int t) {
      const long b0 = t * step, b1 = std::min(p.batch, b0 + step);
      const long r = (b1 - b0) * rowsPerImage;
      std::vector<float>& buf = colScratch(static_cast<std::size_t>(r) * patch);
      im2colImages(p, x, b0, b1, buf.data());
      sgemm(r, p.outC, patch, matRef(buf.data(), r, patch, false), matRef(w, patch, p.outC, false),
            y + b0 * rowsPerImage * p.outC, p.outC, false, true);
    });
    return;
  }
  std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
  im2col(p, x, buf.data());
  sgemm(rows, p.outC, patch, matRef(buf.data(), rows, patch, false), matRef(w, patch, p.outC, false), y, p.outC, false);
}

void conv2dBackpropInput(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  // dcol = dy [rows, outC] * w^T [outC, patch]
  if (isPointwise(p)) {
    sgemm(rows, patch, p.outC, matRef(dy, rows, p.outC, false), matRef(w, patch, p.outC, true), dx, patch, false);
    return;
  }
  if (useDirect(p)) {
    directBackpropInput(p, dy, w, dx);
    return;
  }
  if (perImage(p)) {
    const long step = imagesPerTask(p);
    const long tasks = (p.batch + step - 1) / step;
    const long rowsPerImage = p.outH * p.outW;
    const long image = p.inH * p.inW * p.inC;
    pool().run(static_cast<int>(tasks), [&](int t) {
      const long b0 = t * step, b1 = std::min(p.batch, b0 + step);
      const long r = (b1 - b0) * rowsPerImage;
      std::vector<float>& buf = colScratch(static_cast<std::size_t>(r) * patch);
      sgemm(r, patch, p.outC, matRef(dy + b0 * rowsPerImage * p.outC, r, p.outC, false),
            matRef(w, patch, p.outC, true), buf.data(), patch, false, true);
      std::memset(dx + b0 * image, 0, (b1 - b0) * image * sizeof(float));
      col2imImages(p, buf.data(), b0, b1, dx);
    });
    return;
  }
  std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
  sgemm(rows, patch, p.outC, matRef(dy, rows, p.outC, false), matRef(w, patch, p.outC, true), buf.data(), patch, false);
  col2im(p, buf.data(), dx);
}

void conv2dBackpropFilter(const ConvParams& p, const float* x, const float* dy, float* dw) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  if (isPointwise(p)) {
    sgemm(patch, p.outC, rows, matRef(x, rows, patch, true), matRef(dy, rows, p.outC, false), dw, p.outC, false);
    return;
  }
  if (useDirect(p)) {
    directBackpropFilter(p, x, dy, dw);
    return;
  }
  if (perImage(p)) {
    // Each task sums its images' contributions into its own partial dW; the partials are added at the end.
    const long step = imagesPerTask(p);
    const long tasks = (p.batch + step - 1) / step;
    const long rowsPerImage = p.outH * p.outW;
    const long wsize = patch * p.outC;
    const long parts = std::min<long>(tasks, pool().size());
    std::vector<float> partial(static_cast<std::size_t>(parts) * wsize, 0.f);
    std::atomic<long> nextTask{0};
    pool().run(static_cast<int>(parts), [&](int t) {
      float* acc = partial.data() + t * wsize;
      for (long task = nextTask.fetch_add(1); task < tasks; task = nextTask.fetch_add(1)) {
        const long b0 = task * step, b1 = std::min(p.batch, b0 + step);
        const long r = (b1 - b0) * rowsPerImage;
        std::vector<float>& buf = colScratch(static_cast<std::size_t>(r) * patch);
        im2colImages(p, x, b0, b1, buf.data());
        sgemm(patch, p.outC, r, matRef(buf.data(), r, patch, true),
              matRef(dy + b0 * rowsPerImage * p.outC, r, p.outC, false), acc, p.outC, true, true);
      }
    });
    std::memcpy(dw, partial.data(), wsize * sizeof(float));
    for (long t = 1; t < parts; t++) {
      const float* q = partial.data() + t * wsize;
      for (long i = 0; i < wsize; i++) dw[i] += q[i];
    }
    return;
  }
  std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
  im2col(p, x, buf.data());
  // dw [patch, outC] = col^T [patch, rows] * dy [rows, outC]
  sgemm(patch, p.outC, rows, matRef(buf.data(), rows, patch, true), matRef(dy, rows, p.outC, false), dw, p.outC, false);
}

}  // namespace elbo
