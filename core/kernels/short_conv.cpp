// Validation, allocation and dispatch of the short causal depthwise convolution to its CPU or CUDA kernel.
#include "core/kernels/short_conv.h"

#include "core/kernels/dispatch.h"
#include "core/kernels/segments.h"

namespace linea::kernels {
namespace {

struct CheckedConv {
  ShortConvDims dims;
  AttentionSegments segments;
};

void check(CheckedConv& c, const char* op, const Tensor& x, const Tensor& weight, const AttentionSegments& segments,
           const Tensor& initial_state) {
  check_floating(op, x);
  check_same_device(op, x, weight);
  check_same_dtype(op, x, weight);
  check_dim(op, x, 3, "x [B, T, C]");
  check_dim(op, weight, 2, "weight [C, W]");
  LINEA_CHECK(!x.device().is_cpu() || x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": ", x.desc(),
              " must be f32 or f64 (the CPU kernel's types)");
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = weight.size(1);
  LINEA_CHECK(weight.size(0) == C && W >= 2, op, ": weight ", weight.desc(), " must be [", C, ", W] with W >= 2");
  c.segments = segments;
  resolve_segments(op, c.segments, B, T);
  const int64_t N = int64_t(c.segments.start.size());
  if (initial_state.defined()) {
    LINEA_CHECK(initial_state.shape() == (Shape{N, C, W - 1}) && initial_state.dtype() == x.dtype() &&
                    initial_state.device() == x.device(),
                op, ": initial_state ", initial_state.desc(), " must be [", N, ", ", C, ", ", W - 1, "] in ",
                x.desc(), "'s dtype and device");
  }
  c.dims = ShortConvDims{B, T, C, W, c.segments.start.data(), c.segments.length.data(), N};
}

}  // namespace

Tensor short_conv_fwd(const Tensor& x, const Tensor& weight, const AttentionSegments& segments,
                      const Tensor& initial_state, Tensor* final_state) {
  CheckedConv c;
  check(c, "short_conv_fwd", x, weight, segments, initial_state);
  const ShortConvDims& d = c.dims;
  Tensor y = Tensor::zeros(x.shape(), x.dtype(), x.device());
  Tensor fin;
  if (final_state) fin = Tensor::empty({d.segments, d.C, d.W - 1}, x.dtype(), x.device());
  LINEA_DISPATCH_DEVICE(x.device(), short_conv_fwd, x.contiguous(), weight.contiguous(),
                        contiguous_or_undefined(initial_state), y, fin, d);
  if (final_state) *final_state = fin;
  return y;
}

ShortConvGrads short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const AttentionSegments& segments,
                              const Tensor& initial_state, const Tensor& dfinal_state) {
  const char* op = "short_conv_bwd";
  CheckedConv c;
  check(c, op, x, weight, segments, initial_state);
  const ShortConvDims& d = c.dims;
  LINEA_CHECK(dy.shape() == x.shape(), op, ": dy ", dy.desc(), " must match x ", x.desc());
  LINEA_CHECK(!dfinal_state.defined() ||
                  (dfinal_state.shape() == (Shape{d.segments, d.C, d.W - 1}) && dfinal_state.device() == x.device()),
              op, ": dfinal_state ", dfinal_state.desc(), " must be [", d.segments, ", ", d.C, ", ", d.W - 1, "] on ",
              x.device().str());
  ShortConvGrads g;
  g.dx = Tensor::zeros(x.shape(), x.dtype(), x.device());
  g.dweight = Tensor::empty(weight.shape(), x.dtype(), x.device());
  if (initial_state.defined()) g.dinitial_state = Tensor::zeros(initial_state.shape(), x.dtype(), x.device());
  LINEA_DISPATCH_DEVICE(x.device(), short_conv_bwd, x.contiguous(), weight.contiguous(), dy.to(x.dtype()).contiguous(),
                        contiguous_or_undefined(initial_state),
                        dfinal_state.defined() ? dfinal_state.to(x.dtype()).contiguous() : Tensor(), g.dx, g.dweight,
                        g.dinitial_state, d);
  return g;
}

}  // namespace linea::kernels
