// The NCCL backend of Communicator: collectives over CUDA tensors of one GPU per rank, on
// a stream of their own that an event orders after the compute stream's work so far, so
// communication can overlap later compute. A bootstrap communicator (MPI, or the
// single-rank one for a world of one) supplies ranks, the unique-id broadcast, barrier and
// abort.
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include "core/dist/communicator.h"

namespace linea {

class NcclCommunicator : public Communicator {
 public:
  // `device` is this rank's GPU (CUDA); blocks until every rank has joined.
  NcclCommunicator(std::unique_ptr<Communicator> bootstrap, Device device, CommOptions options = {});
  ~NcclCommunicator() override;

  const char* backend() const override { return "nccl"; }
  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  int local_rank() const override { return bootstrap_->local_rank(); }
  int local_size() const override { return bootstrap_->local_size(); }
  Device device() const override { return device_; }

  std::unique_ptr<CommWork> all_reduce_async(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<CommWork> broadcast_async(const Tensor& tensor, int root) override;
  std::unique_ptr<CommWork> all_gather_async(const Tensor& input, const Tensor& output) override;
  std::unique_ptr<CommWork> reduce_scatter_async(const Tensor& input, const Tensor& output, ReduceOp op) override;
  // Host-side: waits for this rank's queued collectives, then for every rank.
  void barrier() override;
  [[noreturn]] void abort(int code, const std::string& message) override;

 private:
  // Orders `stream_` after the compute stream, runs `enqueue(stream_)` (one NCCL call) and
  // returns the work that tracks it.
  template <class Enqueue>
  std::unique_ptr<CommWork> launch(std::string what, std::vector<Tensor> tensors, Enqueue&& enqueue);

  std::unique_ptr<Communicator> bootstrap_;
  Device device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace linea
