// What NcclCommunicator asks of NCCL and the CUDA runtime, behind an interface so that its
// failure handling (timeouts, asynchronous errors, one abort, teardown while a dead peer
// stalls the stream) runs in tests against a fake, without a GPU or NCCL. The real backend
// (dist/nccl/nccl_cuda_backend.h) drives one NCCL communicator on a CUDA stream of its own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels/reduce.h"
#include "core/tensor.h"

namespace linea::dist {

// One NCCL call on device memory. `none` enqueues nothing: it completes once everything
// launched before it has (a barrier's first half).
struct Collective {
  enum class Kind : uint8_t { none, all_reduce, broadcast, all_gather, reduce_scatter };
  Kind kind = Kind::none;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // elements each rank sends (all_gather) or receives (the others)
  DType dtype = DType::f32;
  ReduceOp op = ReduceOp::sum;
  int root = 0;
};

class NcclBackend {
 public:
  // Marks the end of one launched collective on the communication stream.
  using Event = void*;
  enum class Progress : uint8_t { pending, done, failed };
  // The size of an ncclUniqueId, which the bootstrap carries from rank 0 to every rank.
  static constexpr size_t kUniqueIdBytes = 128;

  virtual ~NcclBackend() = default;
  // Where the tensors given to collectives live.
  virtual Device device() const = 0;
  // A new communicator's id (rank 0 makes it), kUniqueIdBytes long.
  virtual std::vector<uint8_t> unique_id() = 0;
  // Joins the communicator; blocks until every rank has.
  virtual void init(const std::vector<uint8_t>& id, int size, int rank) = 0;
  // Orders the communication stream after the compute stream's work so far, enqueues c and
  // returns the event that marks its end.
  virtual Event launch(const Collective& c) = 0;
  // Never blocks: whether ev's collective has completed, or failed with an asynchronous
  // NCCL error (described in *error).
  virtual Progress poll(Event ev, std::string* error) = 0;
  // Makes the compute stream wait for ev on the device (the host does not wait).
  virtual void order_compute_after(Event ev) = 0;
  // The teardown calls below never throw.
  virtual void release(Event ev) = 0;
  // True when nothing launched is still running on the communication stream (never blocks).
  virtual bool idle() = 0;
  // ncclCommAbort: stops the collectives in flight and frees the communicator without
  // waiting for any peer. Nothing may use the communicator afterwards.
  virtual void abort() = 0;
  // Frees the communicator (ncclCommDestroy, unless aborted) and then the stream, after
  // waiting for it; call it once nothing is running or after abort(), or it may hang.
  virtual void close() = 0;
};

}  // namespace linea::dist
