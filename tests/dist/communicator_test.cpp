// The communicator of the test job (MPI with 1 or 2 ranks): every collective against
// values computed from the rank formula, in f32, f64, bf16 and i64; asynchronous
// collectives completing out of order; argument errors; a collective a peer never joins
// timing out with a message; the backend names and the launcher's world size.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/testing.h"
#include "support/world.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Element i of rank r's input: distinct per rank and element, small integers (exact in
// every dtype, i64 included).
double value(int rank, int64_t i) { return double(3 * rank + 1) + double(i % 7) - 3.0; }

Tensor rank_tensor(int rank, int64_t n, DType dtype) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = value(rank, i);
  return Tensor::from_vector(v, {n}, dtype);
}

}  // namespace

TEST(Communicator, RankSizeAndLocalRank) {
  Communicator& w = world();
  EXPECT_GE(w.size(), 1);
  EXPECT_GE(w.rank(), 0);
  EXPECT_LT(w.rank(), w.size());
  // Every rank of the test job runs on this one host.
  EXPECT_EQ(w.local_size(), w.size());
  EXPECT_EQ(w.local_rank(), w.rank());
  EXPECT_EQ(w.device(), Device::cpu());
  EXPECT_EQ(launcher_world_size(), w.size());
  // The sum of ranks tells each rank the world agrees on who is who.
  EXPECT_EQ(w.all_reduce_value(w.rank()), w.size() * (w.size() - 1) / 2.0);
}

TEST(Communicator, AllReduceSumMeanMaxEveryDtype) {
  Communicator& w = world();
  const int64_t n = 1000;
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::i64}) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
      if (op == ReduceOp::mean && dtype == DType::i64) continue;
      Tensor t = rank_tensor(w.rank(), n, dtype);
      w.all_reduce(t, op);
      std::vector<double> got = t.to_vector();
      for (int64_t i = 0; i < n; ++i) {
        double sum = 0, max = -1e9;
        for (int r = 0; r < w.size(); ++r) {
          sum += value(r, i);
          max = std::max(max, value(r, i));
        }
        const double expected = op == ReduceOp::sum ? sum : op == ReduceOp::mean ? sum / w.size() : max;
        // bf16 holds these sums exactly up to 2 ranks; the mean may round once.
        const double tol = dtype == DType::bf16 ? std::abs(expected) / 128 : 1e-12;
        ASSERT_NEAR(got[size_t(i)], expected, tol)
            << dtype_name(dtype) << " " << reduce_op_name(op) << " element " << i;
      }
    }
  }
}

TEST(Communicator, BroadcastFromEveryRoot) {
  Communicator& w = world();
  for (int root = 0; root < w.size(); ++root) {
    Tensor t = rank_tensor(w.rank(), 37, DType::f32).reshape({37, 1});
    w.broadcast(t, root);
    EXPECT_TRUE(all_close(t, rank_tensor(root, 37, DType::f32).reshape({37, 1}), 0, 0)) << "root " << root;
  }
}

TEST(Communicator, AllGatherConcatenatesInRankOrder) {
  Communicator& w = world();
  const int64_t n = 5;
  Tensor in = rank_tensor(w.rank(), n, DType::f64);
  Tensor out = Tensor::full({w.size() * n}, -99.0, DType::f64);
  w.all_gather(in, out);
  for (int r = 0; r < w.size(); ++r)
    EXPECT_TRUE(all_close(out.narrow(0, r * n, n), rank_tensor(r, n, DType::f64), 0, 0)) << "block " << r;
  // In place: the input is this rank's block of the output.
  Tensor whole = Tensor::zeros({w.size() * n}, DType::f64);
  whole.narrow(0, w.rank() * n, n).copy_(rank_tensor(w.rank(), n, DType::f64));
  w.all_gather(whole.narrow(0, w.rank() * n, n), whole);
  EXPECT_TRUE(all_close(whole, out, 0, 0));
}

TEST(Communicator, ReduceScatterGivesEachRankItsBlock) {
  Communicator& w = world();
  const int64_t n = 6;
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean}) {
    Tensor in = rank_tensor(w.rank(), w.size() * n, DType::f32);
    Tensor out = Tensor::zeros({n}, DType::f32);
    w.reduce_scatter(in, out, op);
    std::vector<double> got = out.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t global = w.rank() * n + i;
      double sum = 0;
      for (int r = 0; r < w.size(); ++r) sum += value(r, global);
      EXPECT_NEAR(got[size_t(i)], op == ReduceOp::sum ? sum : sum / w.size(), 1e-6) << "element " << i;
    }
  }
}

TEST(Communicator, AsyncCollectivesCompleteInAnyWaitOrder) {
  Communicator& w = world();
  Tensor a = Tensor::full({1 << 16}, 1.0, DType::f32);
  Tensor b = Tensor::full({3}, double(w.rank()), DType::f64);
  auto first = w.all_reduce_async(a, ReduceOp::sum);
  auto second = w.all_reduce_async(b, ReduceOp::max);
  second->wait();
  first->wait();
  EXPECT_TRUE(first->test());
  EXPECT_EQ(a.at({12345}), double(w.size()));
  EXPECT_EQ(b.at({2}), double(w.size() - 1));
  w.barrier();
}

TEST(Communicator, RejectsWrongArguments) {
  Communicator& w = world();
  const int n = w.size();
  expect_error<ShapeError>([&] { w.all_gather(Tensor::zeros({4}), Tensor::zeros({4 * n + 1})); },
                           "must hold world size");
  expect_error<ShapeError>([&] { w.reduce_scatter(Tensor::zeros({4 * n + 1}), Tensor::zeros({4})); },
                           "one output-sized block per rank");
  expect_error<ShapeError>([&] { w.all_reduce(Tensor::zeros({4, 4}).transpose(0, 1)); }, "is not contiguous");
  expect_error<ShapeError>([&] { w.all_reduce(Tensor::zeros({4}, DType::i32), ReduceOp::mean); },
                           "needs a floating dtype");
  expect_error<ShapeError>([&] { w.broadcast(Tensor::zeros({4}), n); }, "is not a rank");
  expect_error<ShapeError>([&] { w.all_gather(Tensor::zeros({4}), Tensor::zeros({4 * n}, DType::f64)); },
                           "must have the dtype of input");
  // Nothing above reached the network: the next collective still pairs up.
  EXPECT_EQ(w.all_reduce_value(1.0), double(n));
}

TEST(Communicator, CollectiveNoPeerJoinsTimesOutWithMessage) {
  LINEA_REQUIRE_RANKS(2);
  Communicator& w = world();
  CommOptions quick;
  quick.timeout_s = 0.5;
  // Every rank creates it (creation is itself collective); only rank 0 starts a collective.
  std::unique_ptr<Communicator> comm = make_communicator(CommBackend::mpi, Device::cpu(), quick);
  Tensor t = Tensor::ones({8});
  std::unique_ptr<CommWork> pending;
  if (comm->rank() == 0) {
    pending = comm->all_reduce_async(t, ReduceOp::sum);
    expect_error<Error>([&] { pending->wait(); }, "did not complete within 0.5 s on rank 0 of");
  }
  w.barrier();
  // The late ranks join now, so the job leaves no collective half done.
  if (comm->rank() != 0) comm->all_reduce(t, ReduceOp::sum);
  else pending->wait();
  EXPECT_EQ(t.at({0}), double(w.size()));
}

TEST(Communicator, BackendNamesAndFactoryChoices) {
  EXPECT_EQ(comm_backend_from_name("auto"), CommBackend::automatic);
  EXPECT_EQ(comm_backend_from_name("mpi"), CommBackend::mpi);
  EXPECT_EQ(comm_backend_from_name("nccl"), CommBackend::nccl);
  EXPECT_STREQ(comm_backend_name(CommBackend::automatic), "auto");
  expect_error<ConfigError>([] { comm_backend_from_name("gloo"); }, "expected auto, mpi or nccl");
  expect_error<Error>([] { make_communicator(CommBackend::mpi, Device::cuda(0)); }, "carries CPU tensors");
  expect_error<Error>([] { make_communicator(CommBackend::nccl, Device::cpu()); }, "CUDA device");
  // Automatic is the single-rank communicator exactly when the job has one process.
  std::unique_ptr<Communicator> automatic = make_communicator(CommBackend::automatic, Device::cpu());
  EXPECT_EQ(automatic->size(), world().size());
  EXPECT_STREQ(automatic->backend(), world().size() == 1 ? "single" : "mpi");
}
