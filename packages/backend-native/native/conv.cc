#include "conv.h"

#include <cstring>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace elbo {

namespace {

bool isPointwise(const ConvParams& p) {
  return p.kH == 1 && p.kW == 1 && p.strideH == 1 && p.strideW == 1 && p.padTop == 0 && p.padLeft == 0 &&
         p.outH == p.inH && p.outW == p.inW;
}

// col [batch * outH * outW, kH * kW * inC]; out-of-image taps are zero.
void im2col(const ConvParams& p, const float* x, float* col) {
  const long patch = p.kH * p.kW * p.inC;
  parallelFor(p.batch * p.outH, 4, [&](long lo, long hi) {
    for (long bo = lo; bo < hi; bo++) {
      const long b = bo / p.outH, oh = bo % p.outH;
      for (long ow = 0; ow < p.outW; ow++) {
        float* dst = col + (bo * p.outW + ow) * patch;
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
  });
}

// Scatter-adds col back into dx (zeroed here). Parallel over images: their dx are disjoint.
void col2im(const ConvParams& p, const float* col, float* dx) {
  const long patch = p.kH * p.kW * p.inC;
  const long image = p.inH * p.inW * p.inC;
  parallelFor(p.batch, 1, [&](long lo, long hi) {
    std::memset(dx + lo * image, 0, (hi - lo) * image * sizeof(float));
    for (long b = lo; b < hi; b++) {
      for (long oh = 0; oh < p.outH; oh++) {
        for (long ow = 0; ow < p.outW; ow++) {
          const float* src = col + ((b * p.outH + oh) * p.outW + ow) * patch;
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
  });
}

// Grow-only scratch for the im2col matrix, reused across calls (allocation
// of a fresh multi-MB buffer per call costs more than the copy into it).
std::vector<float>& colScratch(std::size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

}  // namespace

void conv2dForward(const ConvParams& p, const float* x, const float* w, float* y) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  const float* col = x;
  if (!isPointwise(p)) {
    std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
    im2col(p, x, buf.data());
    col = buf.data();
  }
  sgemm(rows, p.outC, patch, matRef(col, rows, patch, false), matRef(w, patch, p.outC, false), y, p.outC, false);
}

void conv2dBackpropInput(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  // dcol = dy [rows, outC] * w^T [outC, patch]
  if (isPointwise(p)) {
    sgemm(rows, patch, p.outC, matRef(dy, rows, p.outC, false), matRef(w, patch, p.outC, true), dx, patch, false);
    return;
  }
  std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
  sgemm(rows, patch, p.outC, matRef(dy, rows, p.outC, false), matRef(w, patch, p.outC, true), buf.data(), patch, false);
  col2im(p, buf.data(), dx);
}

void conv2dBackpropFilter(const ConvParams& p, const float* x, const float* dy, float* dw) {
  const long rows = p.batch * p.outH * p.outW;
  const long patch = p.kH * p.kW * p.inC;
  const float* col = x;
  if (!isPointwise(p)) {
    std::vector<float>& buf = colScratch(static_cast<std::size_t>(rows) * patch);
    im2col(p, x, buf.data());
    col = buf.data();
  }
  // dw [patch, outC] = col^T [patch, rows] * dy [rows, outC]
  sgemm(patch, p.outC, rows, matRef(col, rows, patch, true), matRef(dy, rows, p.outC, false), dw, p.outC, false);
}

}  // namespace elbo
