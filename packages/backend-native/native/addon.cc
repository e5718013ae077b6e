// N-API surface of @elbo/backend-native. Every function takes Float32Arrays
// that alias tfjs-backend-cpu's storage (Data() already includes the view's
// byteOffset, so subarrays work without copies) and checks sizes before
// touching memory: a wrong call throws instead of overrunning a buffer.
#include <napi.h>

#include <string>
#include <vector>

#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "thread_pool.h"

// A hash of the sources this binary was compiled from (binding.gyp passes it; scripts/resolve-binary.cjs
// computes the same from native/ and binding.gyp). Kept as a marked string so the loader can find it in
// the file without loading a stale binary.
#define ELBO_STR2(x) #x
#define ELBO_STR(x) ELBO_STR2(x)
#ifndef ELBO_SOURCE_HASH
#define ELBO_SOURCE_HASH unknown
#endif
extern "C" __attribute__((used)) const char elbo_source_hash_marker[] =
    "elbo-native-source-hash:" ELBO_STR(ELBO_SOURCE_HASH);

namespace {

using elbo::MatRef;

float* f32(const Napi::Env& env, const Napi::Value& v, const char* name, long minLength) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  if (static_cast<long>(a.ElementLength()) < minLength) {
    throw Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                                         " elements, needs at least " + std::to_string(minLength));
  }
  return a.Data();
}

long f32Length(const Napi::Value& v) { return static_cast<long>(v.As<Napi::Float32Array>().ElementLength()); }

long num(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != static_cast<double>(static_cast<long>(d))) {
    throw Napi::RangeError::New(env, std::string(name) + " must be a non-negative integer");
  }
  return static_cast<long>(d);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gemmKernel", elbo::gemmKernelName());
  o.Set("threads", elbo::pool().size());
  o.Set("parallelRuns", static_cast<double>(elbo::pool().parallelRuns()));
  o.Set("soloRuns", static_cast<double>(elbo::pool().soloRuns()));
  o.Set("sourceHash", ELBO_STR(ELBO_SOURCE_HASH));
  return o;
}

Napi::Value SetGemmKernel(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Boolean::New(info.Env(), elbo::setGemmKernel(name.c_str()));
}

// sgemm(a, b, c, batch, M, N, K, transA, transB, strideA, strideB, accumulate)
// A_b is row-major [M, K] (or [K, M] when transA) at a + b * strideA; C is dense [batch, M, N].
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long batch = num(env, info[3], "batch"), M = num(env, info[4], "M"), N = num(env, info[5], "N"),
             K = num(env, info[6], "K");
  const bool tA = info[7].ToBoolean(), tB = info[8].ToBoolean();
  const long sA = num(env, info[9], "strideA"), sB = num(env, info[10], "strideB");
  const bool acc = info[11].ToBoolean();
  if (batch == 0 || M == 0 || N == 0) return env.Undefined();
  const float* a = f32(env, info[0], "a", (batch - 1) * sA + M * K);
  const float* b = f32(env, info[1], "b", (batch - 1) * sB + K * N);
  float* c = f32(env, info[2], "c", batch * M * N);
  elbo::sgemmBatched(batch, M, N, K, elbo::matRef(a, tA ? K : M, tA ? M : K, tA), sA,
                     elbo::matRef(b, tB ? N : K, tB ? K : N, tB), sB, c, M * N, acc);
  return env.Undefined();
}

// dense(x, w, bias, out, M, N, K, relu): out = act(x w + bias) for x [M, K], w [K, N], bias [N] or null, act
// relu or identity, in one call: the bias and the activation are applied by the GEMM's threads to the parts
// of out they computed (one pass instead of two kernels' passes over the whole output).
Napi::Value Dense(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long M = num(env, info[4], "M"), N = num(env, info[5], "N"), K = num(env, info[6], "K");
  const bool relu = info[7].ToBoolean();
  if (M == 0 || N == 0) return env.Undefined();
  const float* x = f32(env, info[0], "x", M * K);
  const float* w = f32(env, info[1], "w", K * N);
  const float* bias = info[2].IsNull() || info[2].IsUndefined() ? nullptr : f32(env, info[2], "bias", N);
  float* out = f32(env, info[3], "out", M * N);
  const elbo::Epilogue ep{bias, relu};
  elbo::sgemm(M, N, K, elbo::matRef(x, M, K, false), elbo::matRef(w, K, N, false), out, N, false, false,
              bias || relu ? &ep : nullptr);
  return env.Undefined();
}

// conv2d(kind, in0, in1, out, params[15]); kind 0: y = conv(x, w); 1: dx from (dy, w); 2: dw from (x, dy)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long kind = num(env, info[0], "kind");
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "params must be an array of 15 integers");
  Napi::Array pa = info[4].As<Napi::Array>();
  if (pa.Length() != 15) throw Napi::RangeError::New(env, "params must be an array of 15 integers");
  long v[15];
  for (uint32_t i = 0; i < 15; i++) v[i] = static_cast<long>(pa.Get(i).As<Napi::Number>().Int64Value());
  elbo::ConvParams p{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  for (long x : v) {
    if (x < 0) throw Napi::RangeError::New(env, "conv params must be non-negative");
  }
  if (p.strideH == 0 || p.strideW == 0 || p.dilationH == 0 || p.dilationW == 0) {
    throw Napi::RangeError::New(env, "conv strides and dilations must be positive");
  }
  const long xs = p.batch * p.inH * p.inW * p.inC, ys = p.batch * p.outH * p.outW * p.outC,
             ws = p.kH * p.kW * p.inC * p.outC;
  if (kind == 0) {
    elbo::conv2dForward(p, f32(env, info[1], "x", xs), f32(env, info[2], "filter", ws), f32(env, info[3], "y", ys));
  } else if (kind == 1) {
    elbo::conv2dBackpropInput(p, f32(env, info[1], "dy", ys), f32(env, info[2], "filter", ws),
                              f32(env, info[3], "dx", xs));
  } else if (kind == 2) {
    elbo::conv2dBackpropFilter(p, f32(env, info[1], "x", xs), f32(env, info[2], "dy", ys),
                               f32(env, info[3], "dw", ws));
  } else {
    throw Napi::RangeError::New(env, "kind must be 0 (forward), 1 (input gradient) or 2 (filter gradient)");
  }
  return env.Undefined();
}

elbo::Operand operand(const Napi::Env& env, const Napi::Value& data, const Napi::Value& mode, long total,
                      const char* name) {
  const long m = num(env, mode, "mode");
  if (m > 3) throw Napi::RangeError::New(env, "broadcast mode must be 0..3");
  float* d = f32(env, data, name, 1);
  const long n = f32Length(data);
  const auto bm = static_cast<elbo::Broadcast>(m);
  if ((bm == elbo::Broadcast::Full && n < total) ||
      ((bm == elbo::Broadcast::Repeat || bm == elbo::Broadcast::Stretch) && (n == 0 || total % n != 0))) {
    throw Napi::RangeError::New(env, std::string(name) + ": size does not fit its broadcast mode");
  }
  return elbo::Operand{d, bm == elbo::Broadcast::Full ? total : n, bm};
}

// binary(op, a, aMode, b, bMode, out)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long op = num(env, info[0], "op");
  if (op >= static_cast<long>(elbo::BinaryOp::Count)) throw Napi::RangeError::New(env, "unknown binary op");
  float* out = f32(env, info[5], "out", 0);
  const long total = f32Length(info[5]);
  elbo::binary(static_cast<elbo::BinaryOp>(op), operand(env, info[1], info[2], total, "a"),
               operand(env, info[3], info[4], total, "b"), out, total);
  return env.Undefined();
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long op = num(env, info[0], "op");
  if (op >= static_cast<long>(elbo::UnaryOp::Count)) throw Napi::RangeError::New(env, "unknown unary op");
  const long n = f32Length(info[2]);
  const float* x = f32(env, info[1], "x", n);
  float* out = f32(env, info[2], "out", n);
  const float alpha = info[3].IsNumber() ? info[3].As<Napi::Number>().FloatValue() : 0.f;
  elbo::unary(static_cast<elbo::UnaryOp>(op), x, out, n, alpha);
  return env.Undefined();
}

// dyAct = dy * act'(y) and db += its rows, for rows [0, M) of [M, N]: tfjs's semantics (relu: dy * step(y),
// NaN where y is NaN, so 0 * inf and NaN inputs propagate as in the unfused ops). The outputs are separate
// arrays from the inputs, so the column loops vectorise.
#if defined(__GNUC__) || defined(__clang__)
#define ELBO_ADDON_INLINE inline __attribute__((always_inline))
#else
#define ELBO_ADDON_INLINE inline
#endif

ELBO_ADDON_INLINE void denseActGradRows(const float* dy, const float* y, bool relu, float* dyAct, float* db, long M,
                                        long N) {
  for (long i = 0; i < M; i++) {
    const float* dyr = dy + i * N;
    const float* yr = y + i * N;
    float* ar = dyAct + i * N;
    if (relu) {
#if defined(__GNUC__)
#pragma GCC ivdep
#endif
      for (long j = 0; j < N; j++) {
        const float yj = yr[j];
        const float step = yj != yj ? yj : (yj > 0.f ? 1.f : 0.f);
        const float a = dyr[j] * step;
        ar[j] = a;
        db[j] += a;
      }
    } else {
#if defined(__GNUC__)
#pragma GCC ivdep
#endif
      for (long j = 0; j < N; j++) {
        const float a = dyr[j];
        ar[j] = a;
        db[j] += a;
      }
    }
  }
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
// Sixteen or eight lanes where the CPU has them instead of SSE's four (at batch 128 the loops ran ~0.1 ms
// of a step's seven layer gradients, beside 1.3 ms of GEMMs).
__attribute__((target("avx512f"))) void denseActGradRowsAvx512(const float* dy, const float* y, bool relu, float* dyAct,
                                                               float* db, long M, long N) {
  denseActGradRows(dy, y, relu, dyAct, db, M, N);
}
__attribute__((target("avx2"))) void denseActGradRowsAvx2(const float* dy, const float* y, bool relu, float* dyAct,
                                                          float* db, long M, long N) {
  denseActGradRows(dy, y, relu, dyAct, db, M, N);
}
#endif

void denseActGrad(const float* dy, const float* y, bool relu, float* dyAct, float* db, long M, long N) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  static const int level = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0);
  if (level == 2) return denseActGradRowsAvx512(dy, y, relu, dyAct, db, M, N);
  if (level == 1) return denseActGradRowsAvx2(dy, y, relu, dyAct, db, M, N);
#endif
  denseActGradRows(dy, y, relu, dyAct, db, M, N);
}

// denseGrad(dy, y, x, relu, dyAct, dW, db, M, N, K): the gradient of y = act(x W + b) for
// x [M, K], W [K, N], y and dy [M, N]. dyAct = dy * act'(y) with tfjs's semantics (relu: dy * step(y),
// NaN where y is NaN, so 0 * inf and NaN inputs propagate as in the unfused ops), db = column sums of
// dyAct, dW = x^T dyAct. dx = dyAct W^T is left to the caller (not every layer needs it).
Napi::Value DenseGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long M = num(env, info[7], "M"), N = num(env, info[8], "N"), K = num(env, info[9], "K");
  const bool relu = info[3].ToBoolean();
  const float* dy = f32(env, info[0], "dy", M * N);
  const float* y = f32(env, info[1], "y", M * N);
  const float* x = f32(env, info[2], "x", M * K);
  float* dyAct = f32(env, info[4], "dyAct", M * N);
  float* dW = f32(env, info[5], "dW", K * N);
  float* db = f32(env, info[6], "db", N);
  for (long j = 0; j < N; j++) db[j] = 0.f;
  denseActGrad(dy, y, relu, dyAct, db, M, N);
  if (M == 0) {
    for (long i = 0; i < K * N; i++) dW[i] = 0.f;
  } else if (K > 0 && N > 0) {
    elbo::sgemm(K, N, M, elbo::matRef(x, M, K, true), elbo::matRef(dyAct, M, N, false), dW, N, false);
  }
  return env.Undefined();
}

// sum(x, out, outer, inner, reduceOuter)
Napi::Value Sum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long outer = num(env, info[2], "outer"), inner = num(env, info[3], "inner");
  const bool reduceOuter = info[4].ToBoolean();
  const float* x = f32(env, info[0], "x", outer * inner);
  float* out = f32(env, info[1], "out", reduceOuter ? inner : outer);
  if (reduceOuter) {
    elbo::sumOuter(x, out, outer, inner);
  } else {
    elbo::sumInner(x, out, outer, inner);
  }
  return env.Undefined();
}

// squaredNorms(arrays, out): out[t] = sum of squares of arrays[t] (an array of Float32Arrays), one call for
// all of a step's gradients.
Napi::Value SquaredNorms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "squaredNorms: arrays must be an array of Float32Arrays");
  Napi::Array arrays = info[0].As<Napi::Array>();
  const long count = static_cast<long>(arrays.Length());
  float* out = f32(env, info[1], "out", count);
  std::vector<const float*> xs(count);
  std::vector<long> ns(count);
  for (long t = 0; t < count; t++) {
    Napi::Value a = arrays.Get(static_cast<uint32_t>(t));
    xs[t] = f32(env, a, "arrays[i]", 0);
    ns[t] = f32Length(a);
  }
  elbo::squaredNorms(xs.data(), ns.data(), count, out);
  return env.Undefined();
}

// bernoulliNll(l, x, out) and bernoulliNllGrad(dy, l, x, dl): see elementwise.h.
Napi::Value BernoulliNll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long n = f32Length(info[2]);
  elbo::bernoulliNll(f32(env, info[0], "logits", n), f32(env, info[1], "x", n), f32(env, info[2], "out", n), n);
  return env.Undefined();
}

Napi::Value BernoulliNllGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long n = f32Length(info[3]);
  elbo::bernoulliNllGrad(f32(env, info[0], "dy", n), f32(env, info[1], "logits", n), f32(env, info[2], "x", n),
                         f32(env, info[3], "dl", n), n);
  return env.Undefined();
}

// adam(w, m, v, g, wOut, mOut, vOut, beta1, beta2, lrT, epsT); outputs may alias inputs.
Napi::Value Adam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long n = f32Length(info[4]);
  const float* w = f32(env, info[0], "w", n);
  const float* m = f32(env, info[1], "m", n);
  const float* v = f32(env, info[2], "v", n);
  const float* g = f32(env, info[3], "g", n);
  float* wOut = f32(env, info[4], "wOut", n);
  float* mOut = f32(env, info[5], "mOut", n);
  float* vOut = f32(env, info[6], "vOut", n);
  for (int i = 7; i < 11; i++) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "adam: beta1, beta2, lrT and epsT must be numbers");
  }
  elbo::adamUpdate(w, m, v, g, wOut, mOut, vOut, n, info[7].As<Napi::Number>().DoubleValue(),
                   info[8].As<Napi::Number>().DoubleValue(), info[9].As<Napi::Number>().FloatValue(),
                   info[10].As<Napi::Number>().FloatValue());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setGemmKernel", Napi::Function::New(env, SetGemmKernel));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("dense", Napi::Function::New(env, Dense));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("sum", Napi::Function::New(env, Sum));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("squaredNorms", Napi::Function::New(env, SquaredNorms));
  exports.Set("bernoulliNll", Napi::Function::New(env, BernoulliNll));
  exports.Set("bernoulliNllGrad", Napi::Function::New(env, BernoulliNllGrad));
  exports.Set("denseGrad", Napi::Function::New(env, DenseGrad));
  return exports;
}

}  // namespace

NODE_API_MODULE(elbo_native, Init)
