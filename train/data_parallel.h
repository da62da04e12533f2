// DataParallel: what each rank of a data-parallel run does around its own backward. It
// broadcasts rank 0's parameters, and averages gradients over ranks in buckets that are
// started from the autograd gradient-ready hooks, so communication overlaps the rest of
// backward; with shard_optimizer (ZeRO-1) it reduce-scatters them instead, into the slices
// this rank's optimizer owns (built with owned_slices()), and all-gathers the updated
// parameters. The trainer's calls are the same with and without sharding.
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/dist/communicator.h"
#include "optim/optimizer.h"

namespace linea {

struct DataParallelOptions {
  double bucket_mb = 25.0;       // gradient bytes per bucket (MiB, counted in f32/f64); > 0
  bool shard_optimizer = false;  // ZeRO-1: reduce-scatter gradients into per-rank slices
};

// How much of the gradient communication backward hid, summed over finish_gradients calls.
struct CommStats {
  int64_t steps = 0;          // finish_gradients calls
  int64_t collectives = 0;    // bucket collectives started
  double comm_s = 0.0;        // per step: first bucket started -> last bucket seen complete
  double wait_s = 0.0;        // per step: time finish_gradients blocked on communication
  // Share of communication time that ran while backward still computed, in [0, 1].
  // Completion is seen when the hooks poll, so comm_s may run long by up to one
  // parameter's backward, which errs towards more hidden time.
  double hidden_fraction() const { return comm_s > 0 ? std::max(0.0, 1.0 - wait_s / comm_s) : 0.0; }
};

class DataParallel {
 public:
  // `params` in a fixed order, the same on every rank (Module::named_parameters()); those
  // with requires_grad get gradient hooks and buckets, all are broadcast. They must be
  // dense and on one device, the communicator's. `comm` must outlive this object.
  DataParallel(Communicator& comm, std::vector<std::pair<std::string, Variable>> params,
               DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  Communicator& communicator() const;
  // Buckets of the gradient layout (each is one collective per step).
  int64_t bucket_count() const;
  // Every parameter takes `root`'s value (call once after initializing or loading).
  void broadcast_parameters(int root = 0);

  // While off, gradient hooks start no communication: turn it off for the micro-steps of
  // gradient accumulation that are not the last one. On by default.
  void set_gradient_sync(bool on);
  bool gradient_sync() const;

  // After the (last micro-step's) backward: sends what the hooks have not sent (gradients
  // of parameters no hook reported are sent as they are, or as zeros when undefined) and
  // waits. Without sharding every trained parameter's .grad is then the average over
  // ranks; with sharding the elements of owned_slices() in .grad are (a .grad that was
  // undefined is created), the rest keeps this rank's own gradient, which no one reads.
  // Throws linea::Error on a communication timeout.
  void finish_gradients();

  // Clips like clip_grad_norm over the averaged gradients of all ranks and returns the
  // global norm before clipping (the same on every rank); call after finish_gradients.
  // With sharding it scales the owned elements only (each rank clips its own).
  double clip_gradients(double max_norm);

  // The slices of trained parameters this rank's optimizer updates: with shard_optimizer
  // (ZeRO-1) each rank owns a disjoint part, the parts of all ranks covering every element;
  // without, nullopt (every rank updates everything). Build the optimizer with them.
  const OwnedSlices& owned_slices() const;
  // After the optimizer step: with sharding every rank receives the elements the others
  // updated; without, every rank made the same update and there is nothing to do.
  void sync_parameters();

  const CommStats& comm_stats() const;
  void reset_comm_stats();

  struct State;  // in data_parallel.cpp; the gradient hooks hold it weakly

 private:
  std::shared_ptr<State> state_;
};

}  // namespace linea
