#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>

#include "core/allocator.h"
#include "core/kernels/copy.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int64_t d = int64_t(s.size()) - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= std::max<int64_t>(s[d], 1);
  }
  return st;
}

// ---- Storage ----------------------------------------------------------------

Storage::Storage(size_t bytes, Device device)
    : data_(device.is_meta() ? nullptr : allocator_for(device).allocate(bytes)), bytes_(bytes), device_(device) {}

Storage::~Storage() {
  if (!device_.is_meta()) allocator_for(device_).deallocate(data_);
}

// ---- error helpers ------------------------------------------------------------

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  LINEA_CHECK(a.device() == b.device(), op, ": tensors on different devices: ", a.desc(), " and ", b.desc(),
              ", expected both on the same device (move one with .to(device))");
}
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  LINEA_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", a.desc(), " and ", b.desc(),
              ", expected the same dtype (convert one with .to(dtype))");
}
void check_floating(const char* op, const Tensor& a) {
  LINEA_CHECK(is_floating(a.dtype()), op, ": expected a floating tensor (f32, bf16, f16, f64), got ", a.desc());
}
void check_dim(const char* op, const Tensor& a, int64_t ndim, const char* what) {
  LINEA_CHECK(a.dim() == ndim, op, ": expected ", what, " with ", ndim, " dims, got ", a.desc());
}
int64_t wrap_dim(const char* op, int64_t d, int64_t ndim) {
  int64_t r = d < 0 ? d + ndim : d;
  LINEA_CHECK(r >= 0 && r < std::max<int64_t>(ndim, 1), op, ": dim ", d, " out of range for a tensor with ", ndim,
              " dims");
  return r;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LINEA_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---- factories ------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) LINEA_CHECK(d >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
  Tensor t;
  t.storage_ = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  LINEA_CHECK(int64_t(values.size()) == shape_numel(shape), "Tensor::from_vector: ", values.size(),
              " values for shape ", shape_str(shape), ", expected ", shape_numel(shape));
  Tensor host = empty(shape, DType::f64, Device::cpu());
  std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(double));
  return host.to(device, dtype);
}

Tensor Tensor::from_indices(const std::vector<int64_t>& values, Device device) {
  Tensor host = empty({int64_t(values.size())}, DType::i64, Device::cpu());
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(int64_t));
  return host.to(device);
}

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = double(i);
  return from_vector(v, {n}, dtype, device);
}

// ---- metadata ---------------------------------------------------------------------

int64_t Tensor::normalize_dim(int64_t d, int64_t ndim, const char* op) const { return wrap_dim(op, d, ndim); }

int64_t Tensor::size(int64_t d) const { return shape_[normalize_dim(d, dim(), "Tensor::size")]; }
int64_t Tensor::stride(int64_t d) const { return strides_[normalize_dim(d, dim(), "Tensor::stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

std::string Tensor::desc() const {
  if (!defined()) return "undefined tensor";
  return str_cat(dtype_name(dtype_), shape_str(shape_), " on ", device_.str(), is_contiguous() ? "" : " (strided)");
}

void* Tensor::data_ptr() const {
  LINEA_CHECK(defined(), "data_ptr: tensor is undefined");
  return static_cast<char*>(storage_->data()) + offset_ * int64_t(dtype_size(dtype_));
}

// ---- views ------------------------------------------------------------------------

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = strides;
  t.offset_ = offset;
  return t;
}

namespace {
// Resolves one -1 in a requested shape.
Shape infer_shape(const char* op, const Shape& requested, int64_t numel, const Shape& from) {
  Shape s = requested;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      LINEA_CHECK(infer < 0, op, ": only one dim may be -1 in ", shape_str(requested));
      infer = int64_t(i);
    } else {
      LINEA_CHECK(s[i] >= 0, op, ": invalid size in ", shape_str(requested));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    LINEA_CHECK(known > 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from), " into ",
                shape_str(requested));
    s[infer] = numel / known;
  }
  LINEA_CHECK(shape_numel(s) == numel, op, ": cannot reshape ", shape_str(from), " (", numel, " elements) into ",
              shape_str(requested));
  return s;
}

// Strides for viewing (shape, strides) as `target` without copying, or empty if
// impossible. Old dims are grouped into chunks that are contiguous among themselves;
// each chunk must map onto whole new dims (the same rule as PyTorch's view).
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& target) {
  Shape out(target.size());
  if (shape.empty() || shape_numel(shape) == 0) return contiguous_strides(target);
  int64_t view_d = int64_t(target.size()) - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || target[view_d] == 1)) {
      out[view_d] = view_numel * chunk_base_stride;
      view_numel *= target[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}
}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  Shape s = infer_shape("view", shape, numel(), shape_);
  auto st = view_strides(shape_, strides_, s);
  LINEA_CHECK(st.has_value(), "view: cannot view ", desc(), " as ", shape_str(s),
              " without copying, use reshape() or contiguous() first");
  return as_strided(s, *st, offset_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = infer_shape("reshape", shape, numel(), shape_);
  if (auto st = view_strides(shape_, strides_, s)) return as_strided(s, *st, offset_);
  return contiguous().as_strided(s, contiguous_strides(s), 0);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = normalize_dim(d0, dim(), "transpose");
  d1 = normalize_dim(d1, dim(), "transpose");
  Shape s = shape_, st = strides_;
  std::swap(s[d0], s[d1]);
  std::swap(st[d0], st[d1]);
  return as_strided(s, st, offset_);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  LINEA_CHECK(int64_t(dims.size()) == dim(), "permute: ", dims.size(), " dims given for ", desc());
  Shape s(dims.size()), st(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = normalize_dim(dims[i], dim(), "permute");
    LINEA_CHECK(!seen[d], "permute: dim ", d, " repeated");
    seen[d] = true;
    s[i] = shape_[d];
    st[i] = strides_[d];
  }
  return as_strided(s, st, offset_);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = normalize_dim(d, dim(), "slice");
  const int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  end = std::min(end, n);
  LINEA_CHECK(step > 0 && start >= 0 && start <= end, "slice: range [", start, ", ", end, ") step ", step,
              " invalid for dim ", d, " of size ", n);
  Shape s = shape_, st = strides_;
  s[d] = (end - start + step - 1) / step;
  st[d] = strides_[d] * step;
  return as_strided(s, st, offset_ + start * strides_[d]);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d, dim(), "select");
  if (index < 0) index += shape_[d];
  LINEA_CHECK(index >= 0 && index < shape_[d], "select: index ", index, " out of range for dim ", d, " of ", desc());
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return as_strided(s, st, offset_ + index * strides_[d]);
}

Tensor Tensor::expand(const Shape& shape) const {
  LINEA_CHECK(int64_t(shape.size()) >= dim(), "expand: cannot expand ", desc(), " to fewer dims ", shape_str(shape));
  Shape st(shape.size(), 0);
  int64_t off = int64_t(shape.size()) - dim();
  for (int64_t i = 0; i < dim(); ++i) {
    LINEA_CHECK(shape_[i] == shape[off + i] || shape_[i] == 1, "expand: cannot expand ", desc(), " to ",
                shape_str(shape), " (dim ", i, ")");
    st[off + i] = shape_[i] == 1 && shape[off + i] != 1 ? 0 : strides_[i];
  }
  return as_strided(shape, st, offset_);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  if (d < 0) d += dim() + 1;
  LINEA_CHECK(d >= 0 && d <= dim(), "unsqueeze: dim ", d, " out of range for ", desc());
  Shape s = shape_, st = strides_;
  int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return as_strided(s, st, offset_);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d, dim(), "squeeze");
  LINEA_CHECK(shape_[d] == 1, "squeeze: dim ", d, " of ", desc(), " has size ", shape_[d], ", expected 1");
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return as_strided(s, st, offset_);
}

// ---- copies -------------------------------------------------------------------------

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device_);
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(Device device) const { return to(device, dtype_); }
Tensor Tensor::to(DType dtype) const { return to(device_, dtype); }

Tensor Tensor::to(Device device, DType dtype) const {
  if (device == device_ && dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device);
  out.copy_(*this);
  return out;
}

void Tensor::copy_(const Tensor& src) {
  // Meta tensors hold no values: copying into one is a no-op, as filling it is (modules that
  // upload a table in their constructor build on meta too); out of one there is nothing to copy.
  if (device_.is_meta()) return;
  LINEA_CHECK(!src.device().is_meta(), "copy_: ", src.desc(),
              " is on the meta device (a shape without data), expected a tensor with data to copy from");
  if (src.device() == device_) {
    kernels::copy(*this, src);
    return;
  }
#ifdef LINEA_WITH_CUDA
  // Across devices: dense bytes move in the source dtype, conversion happens on dst's device.
  Tensor dense = src.contiguous();
  Tensor staged = empty(dense.shape(), dense.dtype(), device_);
  cuda::CopyKind kind = device_.is_cuda() && src.device().is_cpu()   ? cuda::CopyKind::host_to_device
                        : device_.is_cpu() && src.device().is_cuda() ? cuda::CopyKind::device_to_host
                                                                     : cuda::CopyKind::device_to_device;
  int dev = device_.is_cuda() ? device_.index : src.device().index;
  cuda::memcpy(staged.data_ptr(), dense.data_ptr(), dense.nbytes(), kind, dev);
  kernels::copy(*this, staged);
#else
  throw Error(str_cat("copy_: cannot copy ", src.desc(), " to ", device_.str(), ": linea was built without CUDA"));
#endif
}

// A meta tensor's values are not held anywhere: filling it is a no-op, so modules build on it.
void Tensor::fill_(double value) {
  if (!device_.is_meta()) kernels::fill(*this, value);
}
void Tensor::zero_() { fill_(0.0); }

// ---- element access -------------------------------------------------------------------

std::vector<double> Tensor::to_vector() const {
  if (!defined()) return {};
  Tensor host = to(Device::cpu(), DType::f64).contiguous();
  const double* p = static_cast<const double*>(host.data_ptr());
  return std::vector<double>(p, p + host.numel());
}

double Tensor::item() const {
  LINEA_CHECK(numel() == 1, "item: expected a tensor with one element, got ", desc());
  return to_vector()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  LINEA_CHECK(int64_t(index.size()) == dim(), "at: ", index.size(), " indices for ", desc());
  int64_t off = offset_;
  for (int64_t d = 0; d < dim(); ++d) {
    LINEA_CHECK(index[d] >= 0 && index[d] < shape_[d], "at: index ", index[d], " out of range for dim ", d, " of ", desc());
    off += index[d] * strides_[d];
  }
  return as_strided({}, {}, off).to_vector()[0];
}

void Tensor::set(const std::vector<int64_t>& index, double value) {
  LINEA_CHECK(int64_t(index.size()) == dim(), "set: ", index.size(), " indices for ", desc());
  int64_t off = offset_;
  for (int64_t d = 0; d < dim(); ++d) {
    LINEA_CHECK(index[d] >= 0 && index[d] < shape_[d], "set: index ", index[d], " out of range for dim ", d, " of ", desc());
    off += index[d] * strides_[d];
  }
  as_strided({}, {}, off).fill_(value);
}

std::string Tensor::to_string(int64_t max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(" << desc() << ", [";
  std::vector<double> v = numel() <= max_elements ? to_vector() : flatten().slice(0, 0, max_elements).to_vector();
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  if (numel() > max_elements) os << ", ...";
  os << "])";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace linea
