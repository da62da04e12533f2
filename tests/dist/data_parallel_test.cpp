// DataParallel on a tiny Decoder: W ranks with per-rank batch B end with the same
// gradients, parameters (and, with ZeRO-1, gathered optimizer state) as one process with
// batch W*B, within float reduction tolerance, with and without ZeRO-1, gradient
// accumulation and small buckets. Each rank computes the one-process reference itself.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/decoder.h"
#include "optim/clip.h"
#include "support/testing.h"
#include "support/tiny_models.h"
#include "support/world.h"
#include "train/data_parallel.h"

using namespace linea;
using namespace linea::testing;

namespace {

constexpr int64_t kSeqLen = 8;
constexpr int64_t kPerRank = 4;  // rows of each global batch per rank
constexpr double kLr = 3e-3;  // the quickstart recipe's
constexpr double kClip = 0.5;  // below this model's gradient norms (0.7 to 1): clipping is on
const std::vector<std::string> kNoDecay{"norm"};

// Inputs and targets [rows, T] of global batch `step`, the same on every rank.
std::pair<Tensor, Tensor> global_batch(int step, int64_t rows) {
  auto ids = [&](uint64_t seed) {
    std::vector<double> u = random_tensor({rows, kSeqLen}, seed, 0.0, 37.0).to_vector();
    for (double& v : u) v = std::floor(v);
    return Tensor::from_vector(u, {rows, kSeqLen}, DType::i64);
  };
  return {ids(1000 + 2 * step), ids(1001 + 2 * step)};
}

Tensor rows(const Tensor& t, int64_t begin, int64_t n) { return t.narrow(0, begin, n).contiguous(); }

std::unique_ptr<Decoder> make_model(uint64_t seed, bool recompute = false) {
  auto model = std::make_unique<Decoder>(tiny_decoder_config());
  model->set_recompute(recompute);
  Generator gen(seed);
  model->init_parameters(gen);
  return model;
}

// One process trains on the whole global batch: the result W ranks must reproduce.
struct Reference {
  std::unique_ptr<Decoder> model = make_model(7);
  AdamW optimizer{make_param_groups(model->named_parameters(), 0.1, kNoDecay)};
  void backward(int step, int64_t global_rows) {
    model->zero_grad();
    auto [inputs, targets] = global_batch(step, global_rows);
    model->loss(inputs, targets).backward();
  }
  int clipped_steps = 0;
  void step(int s, int64_t global_rows) {
    backward(s, global_rows);
    if (clip_grad_norm(model->named_parameters(), kClip) > kClip) ++clipped_steps;
    optimizer.step(kLr);
  }
};

struct Variant {
  bool zero = false;
  int accum = 1;          // micro-steps per step, each of kPerRank / accum rows
  double bucket_mb = 25;  // 25 MB: one bucket for this model; 0.001: one per parameter or so
  bool never_sync = false;  // hooks never communicate: all of it happens in finish_gradients
  bool recompute = false;   // blocks re-run in backward: their gradients arrive from nested backwards
};

// This rank's replica after `steps` data-parallel steps (replicas start from different
// seeds; broadcast_parameters makes them rank 0's, which uses the reference's seed).
struct Replica {
  Communicator& comm = world();
  Variant v;
  std::unique_ptr<Decoder> model;
  DataParallel dp;
  std::unique_ptr<AdamW> optimizer;  // with ZeRO-1, over this rank's slices

  explicit Replica(Variant variant)
      : v(variant),
        model(make_model(7 + uint64_t(comm.rank()) * 100, variant.recompute)),
        dp(comm, model->named_parameters(), DataParallelOptions{variant.bucket_mb, variant.zero}) {
    dp.broadcast_parameters();
    EXPECT_EQ(dp.owned_slices().has_value(), v.zero);
    optimizer = std::make_unique<AdamW>(make_param_groups(model->named_parameters(), 0.1, kNoDecay), AdamWOptions{},
                                        dp.owned_slices());
  }

  void backward(int step) {
    model->zero_grad();
    auto [inputs, targets] = global_batch(step, kPerRank * comm.size());
    const int64_t micro = kPerRank / v.accum;
    const Tensor scale = Tensor::full({}, 1.0 / double(v.accum));
    for (int m = 0; m < v.accum; ++m) {
      dp.set_gradient_sync(!v.never_sync && m == v.accum - 1);
      const int64_t begin = comm.rank() * kPerRank + m * micro;
      model->loss(rows(inputs, begin, micro), rows(targets, begin, micro)).backward(scale);
    }
    dp.finish_gradients();
  }

  void step(int s) {
    backward(s);
    dp.clip_gradients(kClip);
    optimizer->step(kLr);
    dp.sync_parameters();
  }
};

// Every parameter within `rtol` of the reference in relative L2 error,
// ||got - expected|| <= rtol * ||expected||. (Elementwise relative error is no measure
// here: AdamW's m / sqrt(v) turns float reassociation noise in a near-zero gradient into
// a visible change of that one element, the more so the more ranks split the batch.)
void expect_same_parameters(const Module& got, const Module& expected, double rtol) {
  for (const auto& [name, p] : expected.named_parameters()) {
    const std::vector<double> a = got.parameter(name).data().to_vector(), b = p.data().to_vector();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      diff += (a[i] - b[i]) * (a[i] - b[i]);
      norm += b[i] * b[i];
    }
    EXPECT_LE(std::sqrt(diff), rtol * std::sqrt(norm))
        << name << ": relative L2 error " << std::sqrt(diff / std::max(norm, 1e-300));
  }
}

void expect_matches_reference(Variant v, int steps = 5) {
  Replica replica(v);
  Reference ref;
  const int64_t global_rows = kPerRank * replica.comm.size();
  for (int s = 0; s < steps; ++s) {
    replica.step(s);
    ref.step(s, global_rows);
  }
  expect_same_parameters(*replica.model, *ref.model, 1e-5);
  EXPECT_GT(ref.clipped_steps, 0) << "no step clipped: the clipping path went untested";
}

}  // namespace

TEST(DataParallel, BroadcastMakesEveryReplicaRankZeros) {
  Communicator& comm = world();
  auto model = make_model(50 + uint64_t(comm.rank()));
  DataParallel dp(comm, model->named_parameters());
  dp.broadcast_parameters();
  expect_same_parameters(*model, *make_model(50), 0.0);
}

TEST(DataParallel, AveragedGradientsEqualFullBatchGradients) {
  for (double bucket_mb : {25.0, 0.001}) {
    Replica replica(Variant{false, 1, bucket_mb, false});
    Reference ref;
    replica.backward(0);
    ref.backward(0, kPerRank * replica.comm.size());
    for (const auto& [name, p] : ref.model->named_parameters())
      EXPECT_TRUE(all_close(replica.model->parameter(name).grad(), p.grad(), 1e-7, 1e-5))
          << name << " with " << bucket_mb << " MB buckets";
  }
}

TEST(DataParallel, ZeroOneOwnedGradientsAreSlicesOfFullBatchGradients) {
  for (double bucket_mb : {25.0, 0.001}) {
    Replica replica(Variant{true, 2, bucket_mb, false});
    Reference ref;
    replica.backward(0);
    ref.backward(0, kPerRank * replica.comm.size());
    auto owned = [](const Tensor& grad, const ParamSlice& s) { return grad.reshape({grad.numel()}).narrow(0, s.begin, s.length); };
    ASSERT_TRUE(replica.dp.owned_slices().has_value());
    for (const ParamSlice& s : *replica.dp.owned_slices())
      EXPECT_TRUE(all_close(owned(replica.model->parameter(s.name).grad(), s), owned(ref.model->parameter(s.name).grad(), s),
                            1e-7, 1e-5)) << s.name << " from " << s.begin;
  }
}

TEST(DataParallel, TrainingMatchesOneProcessWithTheGlobalBatch) { expect_matches_reference({false, 1, 25.0, false}); }

TEST(DataParallel, SmallBucketsMatchOneProcess) { expect_matches_reference({false, 1, 0.001, false}); }

TEST(DataParallel, GradientAccumulationMatchesOneProcess) { expect_matches_reference({false, 2, 0.001, false}); }

TEST(DataParallel, CommunicatingOnlyInFinishMatchesOneProcess) { expect_matches_reference({false, 2, 0.002, true}); }

TEST(DataParallel, BlockRecomputationMatchesOneProcess) {
  Variant v{false, 2, 0.001, false};
  v.recompute = true;
  expect_matches_reference(v);
}

TEST(DataParallel, ZeroOneMatchesOneProcess) { expect_matches_reference({true, 1, 25.0, false}); }

TEST(DataParallel, ZeroOneWithAccumulationAndSmallBucketsMatchesOneProcess) {
  expect_matches_reference({true, 4, 0.001, false});
}

TEST(DataParallel, ZeroOneGatheredStateIsTheFullAdamWState) {
  Replica replica(Variant{true, 1, 0.001, false});
  Reference ref;
  for (int s = 0; s < 3; ++s) {
    replica.step(s);
    ref.step(s, kPerRank * replica.comm.size());
  }
  const OptimizerState gathered = replica.optimizer->gather_state(replica.comm);
  const OptimizerState expected = ref.optimizer.state();
  ASSERT_EQ(gathered.size(), expected.size());
  for (const auto& [name, states] : expected) {
    ASSERT_TRUE(gathered.count(name)) << name;
    for (const auto& [state_name, t] : states) {
      // Moments of tiny gradients are tiny: compare relative to the tensor's scale.
      double scale = 0;
      for (double x : t.to_vector()) scale = std::max(scale, std::abs(x));
      EXPECT_TRUE(all_close(gathered.at(name).at(state_name), t, 1e-5 * scale, 1e-4)) << name << "/" << state_name;
    }
  }
  // Resuming that full state on another world size (here: one process owning every
  // element) continues exactly as the reference does.
  std::vector<ParamSlice> everything;
  for (const auto& [name, p] : replica.model->named_parameters()) everything.push_back({name, 0, p.numel()});
  AdamW whole(make_param_groups(replica.model->named_parameters(), 0.1, kNoDecay), AdamWOptions{}, everything);
  whole.load_state(gathered, replica.optimizer->step_count());
  EXPECT_EQ(whole.step_count(), 3);
  Reference again;  // a fresh reference run to step 3, then one more step each way
  for (int s = 0; s < 3; ++s) again.step(s, kPerRank * replica.comm.size());
  again.backward(3, kPerRank * replica.comm.size());
  ref.backward(3, kPerRank * replica.comm.size());
  AdamW resumed(make_param_groups(ref.model->named_parameters(), 0.1, kNoDecay), AdamWOptions{}, everything);
  resumed.load_state(gathered, 3);
  resumed.step(kLr);
  again.optimizer.step(kLr);
  expect_same_parameters(*ref.model, *again.model, 1e-5);
}

TEST(DataParallel, SecondSynchronizedBackwardBeforeFinishIsAnError) {
  Communicator& comm = world();
  auto model = make_model(3);
  DataParallel dp(comm, model->named_parameters(), DataParallelOptions{0.001, false});
  auto [inputs, targets] = global_batch(0, 2);
  model->loss(inputs, targets).backward();
  expect_error<Error>([&] { model->loss(inputs, targets).backward(); }, "became ready twice before finish_gradients");
  dp.finish_gradients();  // completes what the first backward started, on every rank alike
}

TEST(DataParallel, CountsStepsCollectivesAndOverlap) {
  Replica replica(Variant{false, 1, 0.001, false});
  EXPECT_GT(replica.dp.bucket_count(), 10);
  replica.step(0);
  replica.step(1);
  const CommStats& stats = replica.dp.comm_stats();
  EXPECT_EQ(stats.steps, 2);
  EXPECT_EQ(stats.collectives, 2 * replica.dp.bucket_count());
  EXPECT_GE(stats.comm_s, 0.0);
  EXPECT_GE(stats.wait_s, 0.0);
  EXPECT_GE(stats.hidden_fraction(), 0.0);
  EXPECT_LE(stats.hidden_fraction(), 1.0);
  replica.dp.reset_comm_stats();
  EXPECT_EQ(replica.dp.comm_stats().steps, 0);
}

TEST(DataParallel, OwnedSlicesOfAllRanksCoverTheModel) {
  Communicator& comm = world();
  auto model = make_model(3);
  DataParallel dp(comm, model->named_parameters(), DataParallelOptions{0.001, true});
  double mine = 0;
  for (const ParamSlice& s : *dp.owned_slices()) mine += double(s.length);
  EXPECT_EQ(comm.all_reduce_value(mine), double(model->num_parameters(true)));
}

TEST(DataParallel, FrozenParametersAreBroadcastButNotCommunicated) {
  Communicator& comm = world();
  auto model = make_model(60 + uint64_t(comm.rank()));
  // A helper that goes away leaves its hooks behind, doing nothing.
  const int64_t all_buckets =
      DataParallel(comm, model->named_parameters(), DataParallelOptions{0.001, false}).bucket_count();
  EXPECT_EQ(model->freeze("*norm.weight"), 5);  // 2 per layer and the final norm
  DataParallel dp(comm, model->named_parameters(), DataParallelOptions{0.001, false});
  EXPECT_LT(dp.bucket_count(), all_buckets);
  dp.broadcast_parameters();
  expect_same_parameters(*model, *make_model(60), 0.0);  // frozen ones included
  auto [inputs, targets] = global_batch(0, 2);
  model->loss(inputs, targets).backward();
  dp.finish_gradients();
  EXPECT_FALSE(model->parameter("norm.weight").grad().defined());
  EXPECT_TRUE(model->parameter("embed_tokens.weight").grad().defined());
}

TEST(DataParallel, RejectsBadOptionsAndOwnsNothingWithoutSharding) {
  Communicator& comm = world();
  auto model = make_model(3);
  expect_error<ConfigError>([&] { DataParallel(comm, model->named_parameters(), DataParallelOptions{0.0, false}); },
                            "expected dist.bucket_mb > 0");
  DataParallel dp(comm, model->named_parameters());
  EXPECT_FALSE(dp.owned_slices().has_value());  // every rank updates everything
  const Tensor before = model->parameter("norm.weight").data().clone();
  dp.sync_parameters();  // and so has nothing to gather
  EXPECT_TRUE(all_close(model->parameter("norm.weight").data(), before, 0, 0));
}
