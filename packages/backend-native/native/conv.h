// 2-D convolution over NHWC data as im2col + GEMM, and both gradients.
// Filters are [kH, kW, inC, outC] (tfjs layout), i.e. a row-major
// [kH * kW * inC, outC] matrix whose rows match im2col's column order.
#pragma once

namespace elbo {

struct ConvParams {
  long batch, inH, inW, inC;
  long outH, outW, outC;
  long kH, kW;
  long strideH, strideW;
  long dilationH, dilationW;
  long padTop, padLeft;
};

// y [batch, outH, outW, outC] = conv(x [batch, inH, inW, inC], w)
void conv2dForward(const ConvParams& p, const float* x, const float* w, float* y);
// dx [batch, inH, inW, inC] from dy [batch, outH, outW, outC] (also conv2dTranspose's forward)
void conv2dBackpropInput(const ConvParams& p, const float* dy, const float* w, float* dx);
// dw [kH, kW, inC, outC] from x and dy
void conv2dBackpropFilter(const ConvParams& p, const float* x, const float* dy, float* dw);

}  // namespace elbo
