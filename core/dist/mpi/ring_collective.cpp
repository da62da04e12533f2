#include "core/dist/mpi/ring_collective.h"

#include <algorithm>
#include <cstring>

namespace linea::dist {

namespace {

int wrap(int k, int n) { return ((k % n) + n) % n; }

template <class T>
void scale_chunk(void* p, int64_t n, double factor) {
  T* x = static_cast<T*>(p);
  for (int64_t i = 0; i < n; ++i) x[i] = T(float(x[i]) * float(factor));
}

void scale(DType dtype, void* p, int64_t n, double factor) {
  switch (dtype) {
    case DType::f32: scale_chunk<float>(p, n, factor); return;
    case DType::bf16: scale_chunk<bf16>(p, n, factor); return;
    case DType::f16: scale_chunk<f16>(p, n, factor); return;
    case DType::f64: {
      double* x = static_cast<double*>(p);
      for (int64_t i = 0; i < n; ++i) x[i] *= factor;
      return;
    }
    default: break;
  }
  throw InternalError(str_cat("ring mean of ", dtype_name(dtype), ": the communicator admits floating dtypes only"));
}

class RingWork : public CommWork {
 public:
  RingWork(const RingCollective& ring, const char* label, double timeout_s, std::vector<Tensor> keep_alive)
      : r_(ring), label_(label), timeout_s_(timeout_s), keep_alive_(std::move(keep_alive)) {
    esize_ = dtype_size(r_.dtype);
    type_ = mpi_datatype(r_.dtype);
    rs_steps_ = r_.reduce_scatter ? r_.size - 1 : 0;
    total_steps_ = rs_steps_ + (r_.all_gather ? r_.size - 1 : 0);
    if (rs_steps_ > 0) {
      // Two chunk-sized halves: one is sent while the next partial sum arrives in the other.
      int64_t largest = 0;
      for (int k = 0; k < r_.size; ++k) largest = std::max(largest, chunk_count(k));
      scratch_ = Tensor::empty({2 * std::max<int64_t>(largest, 1)}, r_.dtype);
      half_elems_ = std::max<int64_t>(largest, 1);
    }
    if (r_.size == 1) {
      finish_alone();
      return;
    }
    post(0);
  }

  bool test() override {
    while (!done_) {
      int flag = 0;
      LINEA_MPI_CHECK(MPI_Testall(2, requests_, &flag, MPI_STATUSES_IGNORE));
      if (!flag) return false;
      complete(step_);
      if (++step_ == total_steps_) {
        done_ = true;
        keep_alive_.clear();
        scratch_ = Tensor();
        break;
      }
      post(step_);
    }
    return true;
  }

  void wait() override {
    wait_polling(*this, [this] { return describe(); }, timeout_s_, r_.rank, r_.size);
  }

 private:
  // "all_reduce sum of f32[1024] on cpu": built only for an error, while the tensors live.
  std::string describe() const {
    std::string text = label_;
    if (r_.reduce_scatter) text += str_cat(" ", reduce_op_name(r_.op));
    if (!keep_alive_.empty()) text += " of " + keep_alive_.front().desc();
    if (keep_alive_.size() > 1) text += " into " + keep_alive_.back().desc();
    return text;
  }

  int64_t chunk_count(int k) const { return r_.offsets[size_t(k) + 1] - r_.offsets[size_t(k)]; }
  const char* input_chunk(int k) const {
    return static_cast<const char*>(r_.input) + size_t(r_.offsets[size_t(k)]) * esize_;
  }
  char* gathered_chunk(int k) const { return static_cast<char*>(r_.gathered) + size_t(r_.offsets[size_t(k)]) * esize_; }
  char* scratch_half(int s) const {
    return static_cast<char*>(scratch_.data_ptr()) + size_t(s % 2) * size_t(half_elems_) * esize_;
  }

  // Reduce-scatter step s sends chunk rank-s-1 (its own contribution at s = 0, else the
  // partial sum finished at step s-1) and receives the partial sum of chunk rank-s-2; the
  // last step's is chunk `rank`. All-gather step s passes on chunk rank-s and receives
  // chunk rank-s-1.
  void post(int k) {
    const int right = wrap(r_.rank + 1, r_.size), left = wrap(r_.rank - 1, r_.size);
    const void* send = nullptr;
    void* recv = nullptr;
    int send_chunk = 0, recv_chunk = 0;
    if (k < rs_steps_) {
      send_chunk = wrap(r_.rank - k - 1, r_.size);
      recv_chunk = wrap(r_.rank - k - 2, r_.size);
      send = k == 0 ? static_cast<const void*>(input_chunk(send_chunk)) : scratch_half(k - 1);
      recv = scratch_half(k);
    } else {
      const int s = k - rs_steps_;
      send_chunk = wrap(r_.rank - s, r_.size);
      recv_chunk = wrap(r_.rank - s - 1, r_.size);
      send = gathered_chunk(send_chunk);
      recv = gathered_chunk(recv_chunk);
    }
    LINEA_MPI_CHECK(MPI_Irecv(recv, int(chunk_count(recv_chunk)), type_, left, r_.tag, r_.comm, &requests_[0]));
    LINEA_MPI_CHECK(
        MPI_Isend(const_cast<void*>(send), int(chunk_count(send_chunk)), type_, right, r_.tag, r_.comm, &requests_[1]));
  }

  // Adds this rank's contribution to the partial sum that just arrived.
  void complete(int k) {
    if (k >= rs_steps_) return;  // all-gather: the chunk arrived where it belongs
    const int chunk = wrap(r_.rank - k - 2, r_.size);
    const int64_t n = chunk_count(chunk);
    if (k < rs_steps_ - 1) {
      combine(r_.dtype, r_.op, scratch_half(k), scratch_half(k), input_chunk(chunk), n);
      return;
    }
    combine(r_.dtype, r_.op, r_.owned, scratch_half(k), input_chunk(chunk), n);
    if (r_.op == ReduceOp::mean) scale(r_.dtype, r_.owned, n, 1.0 / double(r_.size));
  }

  // A world of one: the owned chunk is the input.
  void finish_alone() {
    if (r_.reduce_scatter && r_.owned != static_cast<const void*>(input_chunk(0)))
      std::memcpy(r_.owned, input_chunk(0), size_t(chunk_count(0)) * esize_);
    done_ = true;
    keep_alive_.clear();
  }

  RingCollective r_;
  const char* label_;
  double timeout_s_;
  std::vector<Tensor> keep_alive_;
  size_t esize_ = 4;
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
  int rs_steps_ = 0, total_steps_ = 0, step_ = 0;
  Tensor scratch_;
  int64_t half_elems_ = 0;
  MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  bool done_ = false;
};

template <class T, class A>
void combine_typed(ReduceOp op, void* dst, const void* a, const void* b, int64_t n) {
  T* d = static_cast<T*>(dst);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  if (op == ReduceOp::max) {
    for (int64_t i = 0; i < n; ++i) {
      const A u = A(x[i]), v = A(y[i]);
      d[i] = T(u > v ? u : v);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = T(A(x[i]) + A(y[i]));
  }
}

}  // namespace

void combine(DType dtype, ReduceOp op, void* dst, const void* a, const void* b, int64_t n) {
  switch (dtype) {
    case DType::f32: return combine_typed<float, float>(op, dst, a, b, n);
    case DType::f64: return combine_typed<double, double>(op, dst, a, b, n);
    case DType::bf16: return combine_typed<bf16, float>(op, dst, a, b, n);
    case DType::f16: return combine_typed<f16, float>(op, dst, a, b, n);
    case DType::i32: return combine_typed<int32_t, int32_t>(op, dst, a, b, n);
    case DType::i64: return combine_typed<int64_t, int64_t>(op, dst, a, b, n);
    case DType::u8: return combine_typed<uint8_t, int>(op, dst, a, b, n);
  }
  throw InternalError(str_cat("combine: dtype ", int(dtype), " is unknown"));
}

std::unique_ptr<CommWork> start_ring(const RingCollective& ring, const char* label, double timeout_s,
                                     std::vector<Tensor> keep_alive) {
  LINEA_ASSERT(ring.offsets.size() == size_t(ring.size) + 1, "ring offsets: ", ring.offsets.size(), " for ",
               ring.size, " ranks");
  return std::make_unique<RingWork>(ring, label, timeout_s, std::move(keep_alive));
}

}  // namespace linea::dist
