// The communicator of a world of one process: every collective is the identity (all_gather
// and reduce_scatter copy), so single-process training runs the data-parallel code path
// without MPI.
#pragma once
#include "core/dist/communicator.h"

namespace linea {

class SingleRankCommunicator : public Communicator {
 public:
  // `device` is what device() reports; collectives accept tensors on any device.
  explicit SingleRankCommunicator(Device device = Device::cpu(), CommOptions options = {});

  const char* backend() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  Device device() const override { return device_; }

  std::unique_ptr<CommWork> all_reduce_async(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<CommWork> broadcast_async(const Tensor& tensor, int root) override;
  std::unique_ptr<CommWork> all_gather_async(const Tensor& input, const Tensor& output) override;
  std::unique_ptr<CommWork> reduce_scatter_async(const Tensor& input, const Tensor& output, ReduceOp op) override;
  void barrier() override {}
  [[noreturn]] void abort(int code, const std::string& message) override;

 private:
  Device device_;
};

}  // namespace linea
