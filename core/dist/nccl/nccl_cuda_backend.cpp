#include "core/dist/nccl/nccl_cuda_backend.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "core/cuda/check.cuh"
#include "core/dist/nccl/nccl_library.h"

namespace linea::dist {

namespace {

static_assert(sizeof(ncclUniqueId) == NcclBackend::kUniqueIdBytes, "ncclUniqueId changed size");

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

cudaEvent_t as_event(NcclBackend::Event ev) { return static_cast<cudaEvent_t>(ev); }

class NcclCudaBackend : public NcclBackend {
 public:
  explicit NcclCudaBackend(Device device) : device_(device), nccl_(nccl_library()) {
    LINEA_CHECK_T(Error, device.is_cuda(), "NCCL communicator: device ", device.str(),
                  " is not a CUDA device, expected cuda:N (use the mpi backend for CPU training)");
    cuda::require_device(device.index);
    // Non-blocking: the stream must not synchronize implicitly with the legacy default
    // stream that linea's kernels use, or communication could never overlap them.
    LINEA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~NcclCudaBackend() override { close(); }

  Device device() const override { return device_; }

  std::vector<uint8_t> unique_id() override {
    ncclUniqueId id;
    LINEA_NCCL_CHECK(nccl_.get_unique_id(&id));
    std::vector<uint8_t> bytes(sizeof(id));
    std::memcpy(bytes.data(), &id, sizeof(id));
    return bytes;
  }

  void init(const std::vector<uint8_t>& bytes, int size, int rank) override {
    ncclUniqueId id;
    std::memcpy(&id, bytes.data(), sizeof(id));
    LINEA_CUDA_CHECK(cudaSetDevice(device_.index));
    LINEA_NCCL_CHECK(nccl_.comm_init_rank(&comm_, size, id, rank));
  }

  Event launch(const Collective& c) override {
    LINEA_CUDA_CHECK(cudaSetDevice(device_.index));
    cudaEvent_t ready = nullptr, done = nullptr;
    LINEA_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    // The inputs are written by kernels already queued on the compute stream.
    LINEA_CUDA_CHECK(cudaEventRecord(ready, cuda::stream()));
    LINEA_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready, 0));
    LINEA_CUDA_CHECK(cudaEventDestroy(ready));  // released once the wait has been satisfied
    enqueue(c);
    LINEA_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    LINEA_CUDA_CHECK(cudaEventRecord(done, stream_));
    return done;
  }

  Progress poll(Event ev, std::string* error) override {
    LINEA_CUDA_CHECK(cudaSetDevice(device_.index));
    const cudaError_t q = cudaEventQuery(as_event(ev));
    if (q == cudaSuccess) return Progress::done;
    if (q != cudaErrorNotReady) LINEA_CUDA_CHECK(q);
    ncclResult_t async = ncclSuccess;
    LINEA_NCCL_CHECK(nccl_.comm_get_async_error(comm_, &async));
    if (async == ncclSuccess || async == ncclInProgress) return Progress::pending;
    *error = nccl_.get_error_string(async);
    return Progress::failed;
  }

  void order_compute_after(Event ev) override {
    LINEA_CUDA_CHECK(cudaSetDevice(device_.index));
    LINEA_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(), as_event(ev), 0));
  }

  void release(Event ev) override { cudaEventDestroy(as_event(ev)); }

  bool idle() override {
    // Any error (a lost context) counts as busy, so teardown aborts rather than waits.
    return cudaSetDevice(device_.index) == cudaSuccess && cudaStreamQuery(stream_) == cudaSuccess;
  }

  void abort() override {
    if (comm_ != nullptr) nccl_.comm_abort(comm_);
    comm_ = nullptr;
  }

  void close() override {
    if (cudaSetDevice(device_.index) != cudaSuccess) return;
    if (comm_ != nullptr) nccl_.comm_destroy(comm_);
    comm_ = nullptr;
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
    stream_ = nullptr;
  }

 private:
  void enqueue(const Collective& c) {
    const size_t n = c.count;
    switch (c.kind) {
      case Collective::Kind::none: return;
      case Collective::Kind::all_reduce:
        LINEA_NCCL_CHECK(nccl_.all_reduce(c.send, c.recv, n, nccl_datatype(c.dtype), nccl_op(c.op), comm_, stream_));
        return;
      case Collective::Kind::broadcast:
        LINEA_NCCL_CHECK(nccl_.broadcast(c.send, c.recv, n, nccl_datatype(c.dtype), c.root, comm_, stream_));
        return;
      case Collective::Kind::all_gather:
        LINEA_NCCL_CHECK(nccl_.all_gather(c.send, c.recv, n, nccl_datatype(c.dtype), comm_, stream_));
        return;
      case Collective::Kind::reduce_scatter:
        LINEA_NCCL_CHECK(
            nccl_.reduce_scatter(c.send, c.recv, n, nccl_datatype(c.dtype), nccl_op(c.op), comm_, stream_));
        return;
    }
  }

  Device device_;
  const NcclLibrary& nccl_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<NcclBackend> make_nccl_cuda_backend(Device device) { return std::make_unique<NcclCudaBackend>(device); }

}  // namespace linea::dist
