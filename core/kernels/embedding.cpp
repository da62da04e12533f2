// Embedding as index_select / index_add along dim 0 with ids flattened, worded errors.
#include "core/kernels/embedding.h"

#include "core/kernels/gather.h"

namespace linea::kernels {
namespace {

void check_ids(const Tensor& ids, const Tensor& other) {
  LINEA_CHECK(ids.dtype() == DType::i32 || ids.dtype() == DType::i64, "embedding: ids must be i32 or i64, got ",
              ids.desc());
  check_same_device("embedding", ids, other);
}

void throw_fault(const IndexFault& f, int64_t vocab) {
  LINEA_CHECK(!f.found, "embedding: id ", f.value, " is out of range for vocab size ", vocab, " (valid ids are 0..",
              vocab - 1, ")");
}

Shape out_shape(const Tensor& ids, int64_t c) {
  Shape s = ids.shape();
  s.push_back(c);
  return s;
}

}  // namespace

Tensor embedding_fwd(const Tensor& weight, const Tensor& ids) {
  check_dim("embedding", weight, 2, "weight [vocab, dim]");
  check_ids(ids, weight);
  const int64_t n = ids.numel(), c = weight.size(1);
  Tensor out = Tensor::empty({n, c}, weight.dtype(), weight.device());
  IndexFault fault;
  gather_into("embedding", out, weight, 0, expand_index(ids.reshape({n}), 0, {n, c}), fault);
  throw_fault(fault, weight.size(0));
  return out.view(out_shape(ids, c));
}

Tensor embedding_bwd(const Tensor& ids, const Tensor& dy, int64_t vocab) {
  check_ids(ids, dy);
  LINEA_CHECK(dy.dim() == ids.dim() + 1 && Shape(dy.shape().begin(), dy.shape().end() - 1) == ids.shape(),
              "embedding backward: gradient ", dy.desc(), " does not match ids ", ids.desc(), " plus a feature dim");
  const int64_t n = ids.numel(), c = dy.size(-1);
  Tensor acc = Tensor::zeros({vocab, c}, dy.dtype() == DType::f64 ? DType::f64 : DType::f32, dy.device());
  IndexFault fault;
  scatter_add_into("embedding backward", acc, 0, expand_index(ids.reshape({n}), 0, {n, c}), dy.reshape({n, c}),
                   fault);
  throw_fault(fault, vocab);
  return acc.to(dy.dtype());
}

}  // namespace linea::kernels
