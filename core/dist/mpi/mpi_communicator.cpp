#include "core/dist/mpi/mpi_communicator.h"

#include <climits>
#include <cstdio>
#include <vector>

#include "core/dist/collective_checks.h"
#include "core/dist/mpi/ring_collective.h"

namespace linea {

namespace {

constexpr const char* kName = "MPI";

// One MPI request in flight (broadcast, barrier) with the tensors it reads and writes,
// kept alive until it completes.
class MpiWork : public CommWork {
 public:
  MpiWork(std::string what, int rank, int size, double timeout_s, std::vector<Tensor> tensors)
      : what_(std::move(what)), rank_(rank), size_(size), timeout_s_(timeout_s), tensors_(std::move(tensors)) {}

  MPI_Request* request() { return &request_; }

  bool test() override {
    if (done_) return true;
    int flag = 0;
    LINEA_MPI_CHECK(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE));
    if (!flag) return false;
    done_ = true;
    tensors_.clear();
    return true;
  }

  void wait() override {
    dist::wait_polling(*this, [this] { return what_; }, timeout_s_, rank_, size_);
  }

 private:
  std::string what_;
  int rank_, size_;
  double timeout_s_;
  std::vector<Tensor> tensors_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool done_ = false;
};

int element_count(const char* op, const Tensor& t) {
  LINEA_CHECK(t.numel() <= INT_MAX, "MPI ", op, ": ", t.desc(), " has more than ", INT_MAX,
              " elements, expected at most INT_MAX per collective (split it)");
  return int(t.numel());
}

bool overlaps(const Tensor& a, const Tensor& b) {
  const char* pa = static_cast<const char*>(a.data_ptr());
  const char* pb = static_cast<const char*>(b.data_ptr());
  return pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

std::vector<int64_t> even_offsets(int64_t n, int size) {
  std::vector<int64_t> offsets(size_t(size) + 1);
  for (int k = 0; k <= size; ++k) offsets[size_t(k)] = n * k / size;
  return offsets;
}

void check_chunks(const char* op, const Tensor& t, const std::vector<int64_t>& offsets) {
  for (size_t k = 0; k + 1 < offsets.size(); ++k)
    LINEA_CHECK(offsets[k + 1] - offsets[k] <= INT_MAX, "MPI ", op, ": ", t.desc(), " gives each rank more than ",
                INT_MAX, " elements, expected at most INT_MAX per rank and collective (split it)");
}

}  // namespace

MpiCommunicator::MpiCommunicator(CommOptions options) : Communicator(options) {
  LINEA_CHECK_T(Error, options.timeout_s > 0, "MPI communicator: timeout ", options.timeout_s,
                " s is not positive, expected seconds > 0");
  dist::ensure_mpi_initialized();
  // A private communicator keeps linea's collectives apart from any the application makes.
  LINEA_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
  LINEA_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  LINEA_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  LINEA_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  // Ranks sharing memory are the ranks on this host.
  MPI_Comm local = MPI_COMM_NULL;
  LINEA_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  LINEA_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
  LINEA_MPI_CHECK(MPI_Comm_size(local, &local_size_));
  LINEA_MPI_CHECK(MPI_Comm_free(&local));
}

MpiCommunicator::~MpiCommunicator() {
  if (comm_ != MPI_COMM_NULL && dist::mpi_active()) MPI_Comm_free(&comm_);
}

std::unique_ptr<CommWork> MpiCommunicator::all_reduce_async(const Tensor& tensor, ReduceOp op) {
  dist::check_collective_tensor(kName, "all_reduce", "tensor", tensor, device());
  dist::check_reduce_dtype(kName, "all_reduce", op, tensor);
  dist::RingCollective ring = ring_for(tensor.dtype(), op);
  ring.offsets = even_offsets(tensor.numel(), size_);
  check_chunks("all_reduce", tensor, ring.offsets);
  ring.reduce_scatter = ring.all_gather = true;
  ring.input = tensor.data_ptr();
  ring.gathered = tensor.data_ptr();
  ring.owned = static_cast<char*>(tensor.data_ptr()) + size_t(ring.offsets[size_t(rank_)]) * dtype_size(tensor.dtype());
  return dist::start_ring(ring, "all_reduce", timeout_s(), {tensor});
}

std::unique_ptr<CommWork> MpiCommunicator::broadcast_async(const Tensor& tensor, int root) {
  dist::check_collective_tensor(kName, "broadcast", "tensor", tensor, device());
  dist::check_root(kName, root, size_);
  const int n = element_count("broadcast", tensor);
  auto work = std::make_unique<MpiWork>(str_cat("broadcast from rank ", root, " of ", tensor.desc()), rank_, size_,
                                        timeout_s(), std::vector<Tensor>{tensor});
  LINEA_MPI_CHECK(
      MPI_Ibcast(tensor.data_ptr(), n, dist::mpi_datatype(tensor.dtype()), root, comm_, work->request()));
  return work;
}

std::unique_ptr<CommWork> MpiCommunicator::all_gather_async(const Tensor& input, const Tensor& output) {
  dist::check_collective_tensor(kName, "all_gather", "input", input, device());
  dist::check_collective_tensor(kName, "all_gather", "output", output, device());
  dist::check_all_gather_sizes(kName, input, output, size_);
  dist::RingCollective ring = ring_for(input.dtype(), ReduceOp::sum);
  ring.offsets = even_offsets(output.numel(), size_);  // blocks of input.numel()
  check_chunks("all_gather", output, ring.offsets);
  ring.all_gather = true;
  ring.gathered = output.data_ptr();
  // This rank's block first (nothing to do when the input already is that block).
  Tensor mine = output.view({output.numel()}).narrow(0, ring.offsets[size_t(rank_)], input.numel());
  if (mine.data_ptr() != input.data_ptr()) {
    LINEA_CHECK(!overlaps(input, output), "MPI all_gather: input ", input.desc(), " overlaps output ", output.desc(),
                ", expected separate buffers or input at this rank's block");
    mine.copy_(input.reshape({input.numel()}));
  }
  return dist::start_ring(ring, "all_gather", timeout_s(), {input, output});
}

std::unique_ptr<CommWork> MpiCommunicator::reduce_scatter_async(const Tensor& input, const Tensor& output,
                                                               ReduceOp op) {
  dist::check_collective_tensor(kName, "reduce_scatter", "input", input, device());
  dist::check_collective_tensor(kName, "reduce_scatter", "output", output, device());
  dist::check_reduce_dtype(kName, "reduce_scatter", op, input);
  dist::check_reduce_scatter_sizes(kName, input, output, size_);
  LINEA_CHECK(!overlaps(input, output), "MPI reduce_scatter: output ", output.desc(), " overlaps input ",
              input.desc(), ", expected separate buffers");
  dist::RingCollective ring = ring_for(input.dtype(), op);
  ring.offsets = even_offsets(input.numel(), size_);  // blocks of output.numel()
  check_chunks("reduce_scatter", input, ring.offsets);
  ring.reduce_scatter = true;
  ring.input = input.data_ptr();
  ring.owned = output.data_ptr();
  return dist::start_ring(ring, "reduce_scatter", timeout_s(), {input, output});
}

dist::RingCollective MpiCommunicator::ring_for(DType dtype, ReduceOp op) {
  dist::RingCollective ring;
  ring.comm = comm_;
  ring.rank = rank_;
  ring.size = size_;
  // Collectives start in the same order on every rank, so the counter agrees; a tag per
  // collective keeps the messages of several in flight apart (MPI guarantees tags < 32768).
  ring.tag = int(next_tag_++ % 32768);
  ring.dtype = dtype;
  ring.op = op;
  return ring;
}

void MpiCommunicator::barrier() {
  MpiWork work("barrier", rank_, size_, timeout_s(), {});
  LINEA_MPI_CHECK(MPI_Ibarrier(comm_, work.request()));
  work.wait();
}

void MpiCommunicator::abort(int code, const std::string& message) {
  std::fprintf(stderr, "error: rank %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  // Ends every process of the job (mpirun exits with `code`), including peers blocked in
  // a collective that this rank will never join.
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this satisfies [[noreturn]] if it ever did
}

}  // namespace linea
