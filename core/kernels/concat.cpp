// concat (one strided copy per input into the output's slice) and split (narrow views).
#include "core/kernels/concat.h"

#include "core/kernels/copy.h"

namespace linea::kernels {

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  LINEA_CHECK(!xs.empty(), "concat: expected at least one tensor");
  const Tensor& first = xs[0];
  LINEA_CHECK(first.dim() >= 1, "concat: cannot concatenate 0-dim tensors, got ", first.desc());
  dim = wrap_dim("concat", dim, first.dim());
  Shape out_shape = first.shape();
  out_shape[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check_same_device("concat", first, x);
    check_same_dtype("concat", first, x);
    bool compatible = x.dim() == first.dim();
    for (int64_t d = 0; compatible && d < x.dim(); ++d)
      if (d != dim && x.size(d) != first.size(d)) compatible = false;
    LINEA_CHECK(compatible, "concat: input ", i, " ", x.desc(), " does not match input 0 ", first.desc(),
                " outside dim ", dim);
    out_shape[dim] += x.size(dim);
  }
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  int64_t start = 0;
  for (const Tensor& x : xs) {
    copy(out.narrow(dim, start, x.size(dim)), x);
    start += x.size(dim);
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  LINEA_CHECK(x.dim() >= 1, "split: cannot split a 0-dim tensor ", x.desc());
  dim = wrap_dim("split", dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    LINEA_CHECK(s >= 0, "split: negative size ", s);
    total += s;
  }
  LINEA_CHECK(total == x.size(dim), "split: sizes sum to ", total, " but ", x.desc(), " has ", x.size(dim),
              " elements in dim ", dim);
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(x.narrow(dim, start, s));
    start += s;
  }
  return parts;
}

}  // namespace linea::kernels
