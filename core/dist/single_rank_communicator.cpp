#include "core/dist/single_rank_communicator.h"

#include <cstdio>
#include <cstdlib>

#include "core/dist/collective_checks.h"

namespace linea {

namespace {
constexpr const char* kName = "single-rank";
}

SingleRankCommunicator::SingleRankCommunicator(Device device, CommOptions options)
    : Communicator(options), device_(device) {}

std::unique_ptr<CommWork> SingleRankCommunicator::all_reduce_async(const Tensor& tensor, ReduceOp op) {
  dist::check_collective_tensor(kName, "all_reduce", "tensor", tensor, device_, true);
  dist::check_reduce_dtype(kName, "all_reduce", op, tensor);
  return std::make_unique<dist::CompletedWork>();  // sum, mean and max over one rank: the tensor itself
}

std::unique_ptr<CommWork> SingleRankCommunicator::broadcast_async(const Tensor& tensor, int root) {
  dist::check_collective_tensor(kName, "broadcast", "tensor", tensor, device_, true);
  dist::check_root(kName, root, 1);
  return std::make_unique<dist::CompletedWork>();
}

std::unique_ptr<CommWork> SingleRankCommunicator::all_gather_async(const Tensor& input, const Tensor& output) {
  dist::check_collective_tensor(kName, "all_gather", "input", input, device_, true);
  dist::check_collective_tensor(kName, "all_gather", "output", output, device_, true);
  dist::check_all_gather_sizes(kName, input, output, 1);
  Tensor out = output;
  if (!out.shares_storage(input) || out.data_ptr() != input.data_ptr()) out.copy_(input.reshape(out.shape()));
  return std::make_unique<dist::CompletedWork>();
}

std::unique_ptr<CommWork> SingleRankCommunicator::reduce_scatter_async(const Tensor& input, const Tensor& output,
                                                                      ReduceOp op) {
  dist::check_collective_tensor(kName, "reduce_scatter", "input", input, device_, true);
  dist::check_collective_tensor(kName, "reduce_scatter", "output", output, device_, true);
  dist::check_reduce_dtype(kName, "reduce_scatter", op, input);
  dist::check_reduce_scatter_sizes(kName, input, output, 1);
  Tensor out = output;
  if (!out.shares_storage(input) || out.data_ptr() != input.data_ptr()) out.copy_(input.reshape(out.shape()));
  return std::make_unique<dist::CompletedWork>();
}

void SingleRankCommunicator::abort(int code, const std::string& message) {
  std::fprintf(stderr, "error: rank 0 of 1: %s\n", message.c_str());
  std::fflush(stderr);
  std::exit(code);
}

}  // namespace linea
