// Elementwise and reduction kernels on float32 arrays. Semantics follow
// tfjs-backend-cpu, NaN included (Relu and Step keep NaN: the trainer's NaN
// guard depends on it).
#pragma once

namespace elbo {

// ReluGrad: a * step(b), the gradient dy of relu masked by its output y (b > 0; NaN in either stays NaN).
enum class BinaryOp { Add = 0, Sub, Mul, Div, Max, Min, SquaredDiff, ReluGrad, Count };
enum class UnaryOp { Neg = 0, Exp, Log, Sqrt, Square, Relu, Step, Abs, Log1p, Sigmoid, Softplus, Rsqrt, Reciprocal,
                     LeakyRelu, Relu6, Elu, Tanh, Count };

// How an operand maps onto the output (flat index i of `total`):
//   Full: i   Scalar: 0   Repeat: i % n (operand = trailing dims)   Stretch: i / (total / n) (leading dims)
enum class Broadcast { Full = 0, Scalar, Repeat, Stretch };

struct Operand {
  const float* data;
  long n;
  Broadcast mode;
};

void binary(BinaryOp op, Operand a, Operand b, float* out, long total);
void unary(UnaryOp op, const float* x, float* out, long n, float alpha);

// out[r] = sum_j x[r * inner + j]
void sumInner(const float* x, float* out, long outer, long inner);
// out[j] = sum_r x[r * inner + j]
void sumOuter(const float* x, float* out, long outer, long inner);

// out[t] = sum_i float(xs[t][i]^2) for each of `count` arrays of ns[t] floats, accumulated in double (as
// tfjs's Square then Sum): NaN where an array holds a NaN, +inf where it holds an infinity or the sum overflows.
void squaredNorms(const float* const* xs, const long* ns, long count, float* out);

// Bernoulli negative log-likelihood from logits l and targets x (same length), per element:
//   out = max(l, 0) - l x + log1p(exp(-|l|))      (softplus(l) - l x, NaN where l or x is NaN)
void bernoulliNll(const float* l, const float* x, float* out, long n);
// Its gradient with respect to l: dl = dy (sigmoid(l) - x).
void bernoulliNllGrad(const float* dy, const float* l, const float* x, float* dl, long n);

// One Adam step, per element (each output may alias its input):
//   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;  w' = w - lr_t m' / (sqrt(v') + eps_t)
// with the bias corrections folded into lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and eps_t = eps sqrt(1 - b2^t).
// beta1 and beta2 come as doubles: 1 - beta computed from a float32-rounded beta (0.999f) is off by 1e-5 relative.
void adamUpdate(const float* w, const float* m, const float* v, const float* g, float* wOut, float* mOut, float* vOut,
                long n, double beta1, double beta2, float lrT, float epsT);

}  // namespace elbo
