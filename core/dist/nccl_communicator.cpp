#include "core/dist/nccl_communicator.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/dist/collective_checks.h"

namespace linea {

namespace {
constexpr const char* kName = "NCCL";
}

namespace dist {

// The backend and what has become of its NCCL communicator.
struct NcclState {
  std::unique_ptr<NcclBackend> backend;
  int rank = 0, size = 1;
  bool aborted = false, closed = false;
  std::string failure;  // the first failure, once there was one

  // Remembers the first failure and aborts the NCCL communicator for it; later failures
  // (a second timeout, the trainer's abort()) find it aborted already.
  void fail(const std::string& why) {
    if (failure.empty()) failure = why;
    if (aborted || closed) return;
    aborted = true;
    backend->abort();
  }

  void check_usable(const std::string& what) const {
    if (closed) throw Error(str_cat("NCCL ", what, " on rank ", rank, " of ", size,
                                    ": the communicator was destroyed, expected the work to finish before it"));
    if (aborted)
      throw Error(str_cat("NCCL ", what, " on rank ", rank, " of ", size,
                          ": the communicator was aborted after an earlier failure (", failure,
                          "), expected no collective after it; end the job with abort()"));
  }
};

namespace {

// One collective in flight on the communication stream. On completion the compute stream
// is made to wait for it (on the GPU, not the host), so kernels queued later see the result.
class NcclWork : public CommWork {
 public:
  NcclWork(std::shared_ptr<NcclState> state, std::string what, double timeout_s, NcclBackend::Event done,
           std::vector<Tensor> tensors)
      : state_(std::move(state)), what_(std::move(what)), timeout_s_(timeout_s), done_(done),
        tensors_(std::move(tensors)) {}

  ~NcclWork() override {
    // Dropped unfinished: still order later compute after it, so the caching allocator
    // cannot hand the tensors' memory to a kernel while NCCL writes it. A destructor
    // cannot report an error; the communicator's own teardown will meet it.
    if (!complete_) {
      try {
        state_->backend->order_compute_after(done_);
      } catch (const std::exception&) {
      }
    }
    state_->backend->release(done_);
  }

  bool test() override {
    if (complete_) return true;
    state_->check_usable(what_);
    std::string error;
    const NcclBackend::Progress progress = state_->backend->poll(done_, &error);
    if (progress == NcclBackend::Progress::pending) return false;
    if (progress == NcclBackend::Progress::failed) fail(str_cat("failed: ", error));
    state_->backend->order_compute_after(done_);
    complete_ = true;
    tensors_.clear();
    return true;
  }

  void wait() override {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s_);
    while (!test()) {
      // A collective stuck on the GPU never finishes on its own; aborting the NCCL
      // communicator releases it.
      if (clock::now() > deadline)
        fail(str_cat("did not complete within ", timeout_s_,
                     " s, expected every rank to reach the same collective; a peer rank has likely failed or "
                     "is stuck (raise dist.timeout_s if it is only slow)"));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what_happened) {
    const std::string message =
        str_cat("NCCL ", what_, " on rank ", state_->rank, " of ", state_->size, " ", what_happened);
    state_->fail(message);
    throw Error(message);
  }

  std::shared_ptr<NcclState> state_;
  std::string what_;
  double timeout_s_;
  NcclBackend::Event done_;
  std::vector<Tensor> tensors_;
  bool complete_ = false;
};

}  // namespace
}  // namespace dist

NcclCommunicator::NcclCommunicator(std::unique_ptr<Communicator> bootstrap,
                                   std::unique_ptr<dist::NcclBackend> backend, CommOptions options)
    : Communicator(options), bootstrap_(std::move(bootstrap)) {
  LINEA_CHECK_T(Error, bootstrap_ != nullptr && backend != nullptr,
                "NCCL communicator: no bootstrap communicator or backend given");
  LINEA_CHECK_T(Error, options.timeout_s > 0, "NCCL communicator: timeout ", options.timeout_s,
                " s is not positive, expected seconds > 0");
  device_ = backend->device();
  // Rank 0 creates the unique id; the bootstrap (MPI) carries its bytes to every rank.
  constexpr int64_t kIdBytes = int64_t(dist::NcclBackend::kUniqueIdBytes);
  std::vector<uint8_t> id(kIdBytes, 0);
  if (bootstrap_->rank() == 0) id = backend->unique_id();
  LINEA_ASSERT(int64_t(id.size()) == kIdBytes, "NCCL unique id of ", id.size(), " bytes");
  Tensor id_bytes = Tensor::empty({kIdBytes}, DType::u8, bootstrap_->device());
  std::memcpy(id_bytes.data_ptr(), id.data(), id.size());
  bootstrap_->broadcast(id_bytes, 0);
  std::memcpy(id.data(), id_bytes.data_ptr(), id.size());
  backend->init(id, bootstrap_->size(), bootstrap_->rank());
  state_ = std::make_shared<dist::NcclState>();
  state_->backend = std::move(backend);
  state_->rank = bootstrap_->rank();
  state_->size = bootstrap_->size();
}

NcclCommunicator::~NcclCommunicator() {
  dist::NcclState& s = *state_;
  // Collectives still running here (the rank is unwinding from an error) may wait for a
  // peer that is gone: waiting for the stream first could hang forever, so abort first.
  if (!s.aborted && !s.backend->idle()) s.fail("the communicator was destroyed with collectives in flight");
  s.backend->close();
  s.closed = true;
}

std::unique_ptr<CommWork> NcclCommunicator::launch(std::string what, std::vector<Tensor> tensors,
                                                   const dist::Collective& c) {
  state_->check_usable(what);
  const dist::NcclBackend::Event done = state_->backend->launch(c);
  return std::make_unique<dist::NcclWork>(state_, std::move(what), timeout_s(), done, std::move(tensors));
}

std::unique_ptr<CommWork> NcclCommunicator::all_reduce_async(const Tensor& tensor, ReduceOp op) {
  dist::check_collective_tensor(kName, "all_reduce", "tensor", tensor, device_);
  dist::check_reduce_dtype(kName, "all_reduce", op, tensor);
  dist::Collective c;
  c.kind = dist::Collective::Kind::all_reduce;
  c.send = c.recv = tensor.data_ptr();
  c.count = size_t(tensor.numel());
  c.dtype = tensor.dtype();
  c.op = op;
  return launch(str_cat("all_reduce ", reduce_op_name(op), " of ", tensor.desc()), {tensor}, c);
}

std::unique_ptr<CommWork> NcclCommunicator::broadcast_async(const Tensor& tensor, int root) {
  dist::check_collective_tensor(kName, "broadcast", "tensor", tensor, device_);
  dist::check_root(kName, root, size());
  dist::Collective c;
  c.kind = dist::Collective::Kind::broadcast;
  c.send = c.recv = tensor.data_ptr();
  c.count = size_t(tensor.numel());
  c.dtype = tensor.dtype();
  c.root = root;
  return launch(str_cat("broadcast from rank ", root, " of ", tensor.desc()), {tensor}, c);
}

std::unique_ptr<CommWork> NcclCommunicator::all_gather_async(const Tensor& input, const Tensor& output) {
  dist::check_collective_tensor(kName, "all_gather", "input", input, device_);
  dist::check_collective_tensor(kName, "all_gather", "output", output, device_);
  dist::check_all_gather_sizes(kName, input, output, size());
  dist::Collective c;
  c.kind = dist::Collective::Kind::all_gather;
  c.send = input.data_ptr();
  c.recv = output.data_ptr();
  c.count = size_t(input.numel());
  c.dtype = input.dtype();
  return launch(str_cat("all_gather of ", input.desc(), " into ", output.desc()), {input, output}, c);
}

std::unique_ptr<CommWork> NcclCommunicator::reduce_scatter_async(const Tensor& input, const Tensor& output,
                                                                ReduceOp op) {
  dist::check_collective_tensor(kName, "reduce_scatter", "input", input, device_);
  dist::check_collective_tensor(kName, "reduce_scatter", "output", output, device_);
  dist::check_reduce_dtype(kName, "reduce_scatter", op, input);
  dist::check_reduce_scatter_sizes(kName, input, output, size());
  dist::Collective c;
  c.kind = dist::Collective::Kind::reduce_scatter;
  c.send = input.data_ptr();
  c.recv = output.data_ptr();
  c.count = size_t(output.numel());
  c.dtype = input.dtype();
  c.op = op;
  return launch(str_cat("reduce_scatter ", reduce_op_name(op), " of ", input.desc(), " into ", output.desc()),
                {input, output}, c);
}

void NcclCommunicator::barrier() {
  // An empty launch completes once everything queued before it has, within the timeout.
  launch("barrier", {}, dist::Collective{})->wait();
  bootstrap_->barrier();
}

void NcclCommunicator::abort(int code, const std::string& message) {
  // Free the GPU side first so no kernel of this rank keeps peers' collectives alive.
  state_->fail(message);
  bootstrap_->abort(code, message);
  std::_Exit(code);  // not reached: the bootstrap's abort ends the process
}

}  // namespace linea
