// Communication benchmarks behind scripts/bench_allreduce.sh, run as one or more MPI ranks.
//   linea_bench_allreduce allreduce            all-reduce (sum, f32) of 1 KiB .. 64 MiB: linea's
//                                              MPI communicator vs a plain MPI_Allreduce of the
//                                              same bytes; time per call and bus bandwidth
//   linea_bench_allreduce train [STEPS] [MB]   data-parallel steps of a small decoder (per-rank
//                                              batch fixed), all communication after backward, then
//                                              started from the hooks: tokens/s over all ranks and
//                                              the share of communication hidden behind backward
// Rank 0 prints; timings are the slowest rank's (all-reduce: best of 5 alternating rounds).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/dist/communicator.h"
#include "layers/decoder.h"
#include "optim/clip.h"
#include "train/data_parallel.h"

using namespace linea;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Seconds per call of fn over `iters` calls, the slowest rank's.
template <class Fn>
double time_per_call(Communicator& comm, int iters, Fn&& fn) {
  comm.barrier();
  const auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i) fn();
  return comm.all_reduce_value(since(t0) / iters, ReduceOp::max);
}

int bench_allreduce() {
  std::unique_ptr<Communicator> comm = make_communicator(CommBackend::mpi, Device::cpu());
  const int n = comm->size();
  if (comm->rank() == 0) {
    std::printf("all-reduce sum of f32, %d rank(s); busbw = bytes * 2 (n-1) / n / time\n", n);
    std::printf("%10s %8s | %12s %12s | %12s %12s | %7s\n", "bytes", "iters", "linea us", "linea GB/s",
                "MPI us", "MPI GB/s", "ratio");
  }
  for (int64_t bytes = 1024; bytes <= (int64_t(64) << 20); bytes *= 4) {
    const int64_t count = bytes / 4;
    // About 256 MiB moved per measurement, between 5 and 2000 calls.
    const int iters = int(std::max<int64_t>(5, std::min<int64_t>(2000, (int64_t(256) << 20) / bytes)));
    Tensor t = Tensor::ones({count});
    auto with_linea = [&] { comm->all_reduce(t, ReduceOp::sum); };
    auto with_mpi = [&] {
      if (MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
        std::fprintf(stderr, "error: MPI_Allreduce failed\n");
        std::exit(1);
      }
    };
    for (int i = 0; i < 3; ++i) with_linea(), with_mpi();  // warm-up
    // Best of 5 rounds, taken alternately, so load from other processes on the machine
    // (shared, 2 cores here) spoils both alike and the best round of each survives.
    double linea_s = 1e30, mpi_s = 1e30;
    for (int round = 0; round < 5; ++round) {
      linea_s = std::min(linea_s, time_per_call(*comm, std::max(1, iters / 5), with_linea));
      mpi_s = std::min(mpi_s, time_per_call(*comm, std::max(1, iters / 5), with_mpi));
    }
    const double factor = n > 1 ? 2.0 * (n - 1) / n : 1.0;
    if (comm->rank() == 0)
      std::printf("%10ld %8d | %12.1f %12.3f | %12.1f %12.3f | %7.2f\n", long(bytes), iters, linea_s * 1e6,
                  double(bytes) * factor / linea_s / 1e9, mpi_s * 1e6, double(bytes) * factor / mpi_s / 1e9,
                  mpi_s / linea_s);
  }
  return 0;
}

int bench_train(int steps, double bucket_mb) {
  std::unique_ptr<Communicator> comm = make_communicator(CommBackend::automatic, Device::cpu());
  ModelConfig opt;
  opt.vocab_size = 2000;
  opt.hidden = 128;
  opt.layers = 4;
  opt.heads = 4;
  opt.kv_heads = 4;
  opt.ffn.hidden = 344;
  opt.max_seq_len = 128;
  const int64_t B = 8, T = 128;
  Decoder model(opt);
  Generator gen(1);
  model.init_parameters(gen);
  DataParallel dp(*comm, model.named_parameters(), DataParallelOptions{bucket_mb, false});
  dp.broadcast_parameters();
  AdamW optimizer(make_param_groups(model.named_parameters(), 0.1, {"norm"}));
  Generator data(100 + uint64_t(comm->rank()));
  auto batch = [&] {
    Tensor u = rand_uniform({B, T}, data, DType::f64);
    std::vector<double> v = u.to_vector();
    for (double& x : v) x = std::floor(x * double(opt.vocab_size));
    return Tensor::from_vector(v, {B, T}, DType::i64);
  };
  double backward_s = 0;
  auto step = [&] {
    model.zero_grad();
    Tensor inputs = batch(), targets = batch();
    Variable loss = model.loss(inputs, targets);
    const auto t0 = Clock::now();
    loss.backward();
    backward_s += since(t0);
    dp.finish_gradients();
    dp.clip_gradients(1.0);
    optimizer.step(1e-3);
  };
  struct Run {
    double step_s, backward_s, wait_s, window_s;
  };
  // `steps` steps with or without starting buckets from the hooks; per-step averages
  // over ranks (the step time is the slowest rank's).
  auto run = [&](bool overlap) {
    dp.set_gradient_sync(overlap);
    dp.reset_comm_stats();
    backward_s = 0;
    comm->barrier();
    const auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double elapsed = comm->all_reduce_value(since(t0), ReduceOp::max);
    const CommStats& s = dp.comm_stats();
    return Run{elapsed / steps, comm->all_reduce_value(backward_s, ReduceOp::mean) / steps,
               comm->all_reduce_value(s.wait_s, ReduceOp::mean) / steps,
               comm->all_reduce_value(s.comm_s, ReduceOp::mean) / steps};
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up
  // Without overlap every collective runs after backward, so the wait is the whole
  // communication cost; with overlap the wait is what backward did not hide.
  const Run serial = run(false);
  const Run overlapped = run(true);
  if (comm->rank() == 0) {
    std::printf("decoder %ld params, %d rank(s), per-rank batch %ldx%ld, %d steps, %ld bucket(s) of <= %.3g MB\n",
                long(model.num_parameters(true)), comm->size(), long(B), long(T), steps, long(dp.bucket_count()),
                bucket_mb);
    const double tokens = double(B * T * comm->size());
    for (const auto& [name, r] : {std::pair<const char*, Run>{"after backward", serial}, {"overlapped", overlapped}})
      std::printf("%-15s tokens/s %6.0f (all ranks), step %6.1f ms, backward %6.1f ms, waited for gradients %6.2f ms\n",
                  name, tokens / r.step_s, r.step_s * 1e3, r.backward_s * 1e3, r.wait_s * 1e3);
    if (comm->size() > 1)
      std::printf("communication hidden behind backward: %.0f%% (1 - overlapped wait / wait after backward)\n",
                  100.0 * std::max(0.0, 1.0 - overlapped.wait_s / serial.wait_s));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "allreduce") return bench_allreduce();
    if (mode == "train") return bench_train(argc > 2 ? std::atoi(argv[2]) : 10, argc > 3 ? std::atof(argv[3]) : 25.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: %s allreduce | train [STEPS] [BUCKET_MB]\n", argv[0]);
  return 2;
}
