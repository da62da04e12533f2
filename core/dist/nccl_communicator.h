// The NCCL backend of Communicator: collectives over CUDA tensors of one GPU per rank, on a
// stream of their own that waits for the compute stream's work so far, so communication
// overlaps later compute. A bootstrap communicator (MPI, or the single-rank one for a world
// of one) supplies ranks, the unique-id broadcast, barrier and abort.
//
// Failures: the first one (a timeout, an asynchronous NCCL error, abort()) aborts the NCCL
// communicator, exactly once; from then on every collective, wait or test throws that
// failure instead of touching the freed communicator, and teardown with collectives still
// running aborts before it waits for the stream, which a dead peer could stall forever.
// NCCL and CUDA are reached through dist::NcclBackend, which tests replace with a fake.
#pragma once
#include <memory>

#include "core/dist/communicator.h"
#include "core/dist/nccl_backend.h"

namespace linea {
namespace dist {
struct NcclState;
}

class NcclCommunicator : public Communicator {
 public:
  // Blocks until every rank has joined.
  NcclCommunicator(std::unique_ptr<Communicator> bootstrap, std::unique_ptr<dist::NcclBackend> backend,
                   CommOptions options = {});
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
  // Aborts the NCCL communicator unless a failure already did, then ends the job through
  // the bootstrap with the message.
  [[noreturn]] void abort(int code, const std::string& message) override;

 private:
  std::unique_ptr<CommWork> launch(std::string what, std::vector<Tensor> tensors, const dist::Collective& c);

  std::unique_ptr<Communicator> bootstrap_;
  Device device_;
  std::shared_ptr<dist::NcclState> state_;  // shared with the works in flight, which may outlive this
};

}  // namespace linea
