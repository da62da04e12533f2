// Communicator: the collective operations data-parallel training needs (all-reduce,
// broadcast, all-gather, reduce-scatter, barrier, abort) behind one interface, so the
// trainer is the same for one process, MPI over CPU tensors and NCCL over CUDA tensors.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/kernels/reduce.h"  // ReduceOp: sum, mean (the average over ranks), max
#include "core/tensor.h"

namespace linea {

// Which implementation make_communicator builds. automatic: NCCL for a CUDA device and
// MPI for the CPU when the process was launched as several ranks, else the single-rank one.
enum class CommBackend : uint8_t { automatic, mpi, nccl };
const char* comm_backend_name(CommBackend b);       // "auto", "mpi", "nccl"
CommBackend comm_backend_from_name(const std::string& name);  // throws ConfigError

struct CommOptions {
  // A collective that has not completed after this long throws linea::Error naming the
  // operation and rank, so a dead or stuck peer is reported instead of hanging the job.
  double timeout_s = 300.0;
};

// One collective in flight. The tensors it was given are kept alive until it completes;
// they must not be read or written by anyone else before then.
class CommWork {
 public:
  virtual ~CommWork() = default;
  // True once the operation has completed (results in place); never blocks.
  virtual bool test() = 0;
  // Blocks until completion; throws linea::Error after the communicator's timeout. After a
  // timeout the communicator is unusable: report and abort().
  virtual void wait() = 0;
};

// Every rank must call the same collectives in the same order with tensors of the same
// dtype and sizes. Tensors must be dense (contiguous) and live on device(); results are
// written in place. Asynchronous forms return a CommWork; the plain forms start and wait.
class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual const char* backend() const = 0;  // "single", "mpi", "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This rank's index among the ranks on the same host, and how many those are.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // Where the tensors given to collectives must live (any device for the single-rank one).
  virtual Device device() const = 0;
  double timeout_s() const { return options_.timeout_s; }

  // tensor = op over every rank's tensor.
  virtual std::unique_ptr<CommWork> all_reduce_async(const Tensor& tensor, ReduceOp op) = 0;
  // Every rank's tensor becomes root's.
  virtual std::unique_ptr<CommWork> broadcast_async(const Tensor& tensor, int root) = 0;
  // output [size * n] = concatenation over ranks (in rank order) of input [n].
  virtual std::unique_ptr<CommWork> all_gather_async(const Tensor& input, const Tensor& output) = 0;
  // output [n] = op over ranks of input[rank * n : (rank + 1) * n] (input holds size * n).
  virtual std::unique_ptr<CommWork> reduce_scatter_async(const Tensor& input, const Tensor& output,
                                                         ReduceOp op) = 0;
  virtual void barrier() = 0;
  // Prints "error: rank R of N: <message>" on stderr and ends every rank of the job with
  // exit code `code` (never returns). Call it when this rank cannot go on, so the peers
  // stop instead of waiting in a collective.
  [[noreturn]] virtual void abort(int code, const std::string& message) = 0;

  void all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::sum) { all_reduce_async(tensor, op)->wait(); }
  void broadcast(const Tensor& tensor, int root = 0) { broadcast_async(tensor, root)->wait(); }
  void all_gather(const Tensor& input, const Tensor& output) { all_gather_async(input, output)->wait(); }
  void reduce_scatter(const Tensor& input, const Tensor& output, ReduceOp op = ReduceOp::sum) {
    reduce_scatter_async(input, output, op)->wait();
  }
  // One number reduced over ranks (in double), e.g. the loss for logging or a failure flag.
  double all_reduce_value(double value, ReduceOp op = ReduceOp::sum);

 protected:
  explicit Communicator(CommOptions options) : options_(options) {}
  CommOptions options_;
};

// The communicator for this process. Without a launcher (mpirun, srun) or with one rank,
// automatic gives the single-rank communicator and MPI is never initialized; mpi and nccl
// always build that backend (a world of one when launched alone). For nccl, `device` must
// be CUDA: a world of one uses it, several ranks use cuda:<local_rank> (see device()).
// Throws linea::Error when the backend was not built or cannot serve `device`.
std::unique_ptr<Communicator> make_communicator(CommBackend backend, Device device, CommOptions options = {});

// The world size the launcher announced through its environment (Open MPI, MPICH/Hydra,
// Slurm), or 1 when the process was started directly. Needs no MPI call.
int launcher_world_size();

}  // namespace linea
