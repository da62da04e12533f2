// Tensor: a cheap handle to (shared storage, shape, strides, offset, dtype, device).
// Views share storage; kernels that need dense memory say so or call contiguous().
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace linea {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// One allocation from a device's caching allocator; returned to it on destruction.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t bytes_;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  // Values given as doubles are converted (and rounded) to `dtype`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32,
                            Device device = Device::cpu());
  // Indices exactly (doubles lose integers above 2^53): an i64 [values.size()] tensor.
  static Tensor from_indices(const std::vector<int64_t>& values, Device device = Device::cpu());
  static Tensor arange(int64_t n, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full({}, value, dtype, device);
  }

  // ---- metadata ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(shape_); }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  // One-line description for error messages: "f32[2, 3] on cpu".
  std::string desc() const;

  // ---- raw data ----
  void* data_ptr() const;  // first element (storage + offset)
  template <class T> T* data() const {
    LINEA_CHECK(DTypeOf<T>::value == dtype_, "Tensor::data: requested ", dtype_name(DTypeOf<T>::value),
                " from a tensor of ", desc());
    return static_cast<T*>(data_ptr());
  }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }

  // ---- views (share storage) ----
  Tensor view(const Shape& shape) const;     // requires a compatible layout; one dim may be -1
  Tensor reshape(const Shape& shape) const;  // view when possible, else a contiguous copy
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor slice(int64_t d, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const { return slice(d, start, start + length); }
  Tensor select(int64_t d, int64_t index) const;  // removes dim d
  Tensor expand(const Shape& shape) const;          // size-1 dims broadcast with stride 0
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze(int64_t d) const;
  Tensor flatten() const { return reshape({numel()}); }

  // ---- copies ----
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a new contiguous tensor
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor to(Device device, DType dtype) const;
  void copy_(const Tensor& src);  // same shape (src broadcast), any dtype, any device
  void fill_(double value);
  void zero_();

  // ---- element access for tests and small host-side work (slow; copies from GPU) ----
  double item() const;
  double at(const std::vector<int64_t>& index) const;
  void set(const std::vector<int64_t>& index, double value);
  std::vector<double> to_vector() const;  // row-major
  std::string to_string(int64_t max_elements = 64) const;

  // Internal: builds a view with explicit geometry over this tensor's storage.
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;

 private:
  int64_t normalize_dim(int64_t d, int64_t ndim, const char* op) const;
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
  Device device_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Error helpers shared by every op: they name the op and describe the offending tensors.
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
void check_floating(const char* op, const Tensor& a);
void check_dim(const char* op, const Tensor& a, int64_t ndim, const char* what);
int64_t wrap_dim(const char* op, int64_t d, int64_t ndim);
// Broadcast two shapes (numpy rules); throws ShapeError naming `op`.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

}  // namespace linea
