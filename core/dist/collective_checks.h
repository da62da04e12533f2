// Argument checks shared by every Communicator backend, so each collective rejects a
// wrong tensor with the same message wherever it runs.
#pragma once
#include "core/dist/communicator.h"

namespace linea::dist {

// `t` is defined, dense and on `device` (any device when `any_device`).
void check_collective_tensor(const char* backend, const char* op, const char* what, const Tensor& t,
                             Device device, bool any_device = false);
// mean needs a floating dtype; every op needs a dtype the backend can reduce.
void check_reduce_dtype(const char* backend, const char* op, ReduceOp reduce, const Tensor& t);
// all_gather: output holds world_size * input elements of input's dtype.
void check_all_gather_sizes(const char* backend, const Tensor& input, const Tensor& output, int world_size);
// reduce_scatter: input holds world_size * output elements of output's dtype.
void check_reduce_scatter_sizes(const char* backend, const Tensor& input, const Tensor& output, int world_size);
// 0 <= root < world_size.
void check_root(const char* backend, int root, int world_size);

// A CommWork that finished when it was created (single-rank collectives).
class CompletedWork : public CommWork {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace linea::dist
