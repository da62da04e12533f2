// The MPI backend of Communicator: collectives over CPU tensors on a private duplicate of
// MPI_COMM_WORLD. Every collective is non-blocking (ring schedules over MPI_Isend/Irecv,
// MPI_Ibcast, MPI_Ibarrier) and completed by polling, so waiting can give up after the
// configured timeout with a clear error.
#pragma once
#include "core/dist/communicator.h"
#include "core/dist/mpi/mpi_runtime.h"
#include "core/dist/mpi/ring_collective.h"

namespace linea {

class MpiCommunicator : public Communicator {
 public:
  // Initializes MPI if needed (ensure_mpi_initialized) and spans every rank of the job.
  explicit MpiCommunicator(CommOptions options = {});
  ~MpiCommunicator() override;

  const char* backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  Device device() const override { return Device::cpu(); }

  std::unique_ptr<CommWork> all_reduce_async(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<CommWork> broadcast_async(const Tensor& tensor, int root) override;
  std::unique_ptr<CommWork> all_gather_async(const Tensor& input, const Tensor& output) override;
  std::unique_ptr<CommWork> reduce_scatter_async(const Tensor& input, const Tensor& output, ReduceOp op) override;
  void barrier() override;
  [[noreturn]] void abort(int code, const std::string& message) override;

 private:
  // The ring collective's common fields for this communicator, with a fresh tag.
  dist::RingCollective ring_for(DType dtype, ReduceOp op);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int64_t next_tag_ = 0;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace linea
