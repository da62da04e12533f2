#include "core/dist/nccl/nccl_communicator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/dist/collective_checks.h"
#include "core/dist/nccl/nccl_library.h"

namespace linea {

namespace {

constexpr const char* kName = "NCCL";

ncclDataType_t nccl_datatype(DType dtype) {
  switch (dtype) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::bf16: return ncclBfloat16;
    case DType::f16: return ncclFloat16;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    case DType::u8: return ncclUint8;
  }
  throw ShapeError(str_cat("NCCL: dtype ", dtype_name(dtype), " has no NCCL datatype"));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::mean: return ncclAvg;
    case ReduceOp::max: return ncclMax;
  }
  throw InternalError(str_cat("NCCL: reduce op ", int(op), " is unknown"));
}

// One NCCL call in flight on the communication stream. On completion the compute stream
// is made to wait for it (on the GPU, not the host), so kernels queued later see the result.
class NcclWork : public CommWork {
 public:
  NcclWork(std::string what, int rank, int size, double timeout_s, ncclComm_t comm, int device, cudaEvent_t done,
           std::vector<Tensor> tensors)
      : what_(std::move(what)), rank_(rank), size_(size), timeout_s_(timeout_s), comm_(comm), device_(device),
        done_event_(done), tensors_(std::move(tensors)) {}

  ~NcclWork() override {
    // Dropped unfinished: still order later compute after it, so the caching allocator
    // cannot hand the tensors' memory to a kernel while NCCL writes it.
    if (!complete_ && cudaSetDevice(device_) == cudaSuccess) cudaStreamWaitEvent(cuda::stream(), done_event_, 0);
    cudaEventDestroy(done_event_);
  }

  bool test() override {
    if (complete_) return true;
    LINEA_CUDA_CHECK(cudaSetDevice(device_));
    const cudaError_t q = cudaEventQuery(done_event_);
    if (q == cudaErrorNotReady) {
      ncclResult_t async = ncclSuccess;
      LINEA_NCCL_CHECK(dist::nccl_library().comm_get_async_error(comm_, &async));
      LINEA_CHECK_T(Error, async == ncclSuccess || async == ncclInProgress, "NCCL ", what_, " failed on rank ",
                    rank_, " of ", size_, ": ", dist::nccl_library().get_error_string(async));
      return false;
    }
    LINEA_CUDA_CHECK(q);
    LINEA_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(), done_event_, 0));
    complete_ = true;
    tensors_.clear();
    return true;
  }

  void wait() override {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s_);
    while (!test()) {
      if (clock::now() > deadline) {
        // A collective stuck on the GPU never finishes on its own; aborting the NCCL
        // communicator releases it (the communicator is unusable afterwards).
        dist::nccl_library().comm_abort(comm_);
        throw Error(str_cat("NCCL ", what_, " did not complete within ", timeout_s_, " s on rank ", rank_, " of ",
                            size_, ", expected every rank to reach the same collective; a peer rank has likely "
                            "failed or is stuck (raise the timeout if it is only slow)"));
      }
    }
  }

 private:
  std::string what_;
  int rank_, size_;
  double timeout_s_;
  ncclComm_t comm_;
  int device_;
  cudaEvent_t done_event_;
  std::vector<Tensor> tensors_;
  bool complete_ = false;
};

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<Communicator> bootstrap, Device device, CommOptions options)
    : Communicator(options), bootstrap_(std::move(bootstrap)), device_(device) {
  LINEA_CHECK_T(Error, bootstrap_ != nullptr, "NCCL communicator: no bootstrap communicator given");
  LINEA_CHECK_T(Error, device.is_cuda(), "NCCL communicator: device ", device.str(),
                " is not a CUDA device, expected cuda:N (use the mpi backend for CPU training)");
  LINEA_CHECK_T(Error, options.timeout_s > 0, "NCCL communicator: timeout ", options.timeout_s,
                " s is not positive, expected seconds > 0");
  cuda::require_device(device.index);
  const dist::NcclLibrary& nccl = dist::nccl_library();
  // Rank 0 creates the unique id; the bootstrap (MPI) carries its bytes to every rank.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (bootstrap_->rank() == 0) LINEA_NCCL_CHECK(nccl.get_unique_id(&id));
  Tensor id_bytes = Tensor::empty({int64_t(sizeof(id))}, DType::u8, bootstrap_->device());
  std::memcpy(id_bytes.data_ptr(), &id, sizeof(id));
  bootstrap_->broadcast(id_bytes, 0);
  std::memcpy(&id, id_bytes.data_ptr(), sizeof(id));
  LINEA_CUDA_CHECK(cudaSetDevice(device.index));
  LINEA_NCCL_CHECK(nccl.comm_init_rank(&comm_, bootstrap_->size(), id, bootstrap_->rank()));
  // Non-blocking: the stream must not synchronize implicitly with the legacy default
  // stream that linea's kernels use, or communication could never overlap them.
  LINEA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

NcclCommunicator::~NcclCommunicator() {
  if (cudaSetDevice(device_.index) != cudaSuccess) return;
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
  if (comm_ != nullptr) dist::nccl_library().comm_destroy(comm_);
}

template <class Enqueue>
std::unique_ptr<CommWork> NcclCommunicator::launch(std::string what, std::vector<Tensor> tensors,
                                                   Enqueue&& enqueue) {
  LINEA_CUDA_CHECK(cudaSetDevice(device_.index));
  cudaEvent_t ready = nullptr, done = nullptr;
  LINEA_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  LINEA_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  // The inputs are written by kernels already queued on the compute stream.
  LINEA_CUDA_CHECK(cudaEventRecord(ready, cuda::stream()));
  LINEA_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready, 0));
  LINEA_CUDA_CHECK(cudaEventDestroy(ready));  // released once the wait has been satisfied
  enqueue(stream_);
  LINEA_CUDA_CHECK(cudaEventRecord(done, stream_));
  return std::make_unique<NcclWork>(std::move(what), rank(), size(), timeout_s(), comm_, device_.index, done,
                                    std::move(tensors));
}

std::unique_ptr<CommWork> NcclCommunicator::all_reduce_async(const Tensor& tensor, ReduceOp op) {
  dist::check_collective_tensor(kName, "all_reduce", "tensor", tensor, device_);
  dist::check_reduce_dtype(kName, "all_reduce", op, tensor);
  void* p = tensor.data_ptr();
  return launch(str_cat("all_reduce ", reduce_op_name(op), " of ", tensor.desc()), {tensor}, [&](cudaStream_t s) {
    LINEA_NCCL_CHECK(dist::nccl_library().all_reduce(p, p, size_t(tensor.numel()), nccl_datatype(tensor.dtype()),
                                                     nccl_op(op), comm_, s));
  });
}

std::unique_ptr<CommWork> NcclCommunicator::broadcast_async(const Tensor& tensor, int root) {
  dist::check_collective_tensor(kName, "broadcast", "tensor", tensor, device_);
  dist::check_root(kName, root, size());
  void* p = tensor.data_ptr();
  return launch(str_cat("broadcast from rank ", root, " of ", tensor.desc()), {tensor}, [&](cudaStream_t s) {
    LINEA_NCCL_CHECK(dist::nccl_library().broadcast(p, p, size_t(tensor.numel()), nccl_datatype(tensor.dtype()),
                                                    root, comm_, s));
  });
}

std::unique_ptr<CommWork> NcclCommunicator::all_gather_async(const Tensor& input, const Tensor& output) {
  dist::check_collective_tensor(kName, "all_gather", "input", input, device_);
  dist::check_collective_tensor(kName, "all_gather", "output", output, device_);
  dist::check_all_gather_sizes(kName, input, output, size());
  return launch(str_cat("all_gather of ", input.desc(), " into ", output.desc()), {input, output},
                [&](cudaStream_t s) {
                  LINEA_NCCL_CHECK(dist::nccl_library().all_gather(input.data_ptr(), output.data_ptr(),
                                                                   size_t(input.numel()),
                                                                   nccl_datatype(input.dtype()), comm_, s));
                });
}

std::unique_ptr<CommWork> NcclCommunicator::reduce_scatter_async(const Tensor& input, const Tensor& output,
                                                                ReduceOp op) {
  dist::check_collective_tensor(kName, "reduce_scatter", "input", input, device_);
  dist::check_collective_tensor(kName, "reduce_scatter", "output", output, device_);
  dist::check_reduce_dtype(kName, "reduce_scatter", op, input);
  dist::check_reduce_scatter_sizes(kName, input, output, size());
  return launch(str_cat("reduce_scatter ", reduce_op_name(op), " of ", input.desc(), " into ", output.desc()),
                {input, output}, [&](cudaStream_t s) {
                  LINEA_NCCL_CHECK(dist::nccl_library().reduce_scatter(input.data_ptr(), output.data_ptr(),
                                                                       size_t(output.numel()),
                                                                       nccl_datatype(input.dtype()), nccl_op(op),
                                                                       comm_, s));
                });
}

void NcclCommunicator::barrier() {
  // An empty launch completes once everything queued before it has, within the timeout.
  launch("barrier", {}, [](cudaStream_t) {})->wait();
  bootstrap_->barrier();
}

void NcclCommunicator::abort(int code, const std::string& message) {
  // Free the GPU side first so no kernel of this rank keeps peers' collectives alive.
  if (comm_ != nullptr) dist::nccl_library().comm_abort(comm_);
  comm_ = nullptr;
  bootstrap_->abort(code, message);
  std::_Exit(code);  // not reached: the bootstrap's abort ends the process
}

}  // namespace linea
