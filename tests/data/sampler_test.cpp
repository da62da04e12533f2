// Sampler: Philox-driven epoch permutations, determinism, disjoint rank shares that
// rebuild the 1-rank batch, tail dropping across epochs, and resume from a saved state,
// also with another world size.
#include "data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "support/testing.h"

using namespace linea;

TEST(Sampler, EpochsArePermutationsFixedBySeedAndEpoch) {
  Sampler a(1000, 7), b(1000, 7), c(1000, 8);
  std::vector<int64_t> p0 = a.permutation(0), p1 = a.permutation(1);
  std::vector<int64_t> sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[size_t(i)], i);
  EXPECT_EQ(p0, b.permutation(0));
  EXPECT_NE(p0, p1);
  EXPECT_NE(p0, c.permutation(0));
  EXPECT_NE(p0, Sampler(1000, 7, 0, 1, false).permutation(0));
  std::vector<int64_t> identity = Sampler(5, 7, 0, 1, false).permutation(3);
  EXPECT_EQ(identity, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // Golden orders: resuming an old checkpoint relies on them never changing.
  EXPECT_EQ(Sampler(8, 42).permutation(0), (std::vector<int64_t>{2, 1, 6, 5, 0, 7, 4, 3}));
  EXPECT_EQ(Sampler(8, 42).permutation(1), (std::vector<int64_t>{3, 4, 6, 1, 7, 0, 5, 2}));
  int fixed_points = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed_points += p0[size_t(i)] == i;
  EXPECT_LT(fixed_points, 10);  // a shuffle, not a near-identity
}

TEST(Sampler, RanksTakeDisjointStridedSharesOfTheGlobalBatch) {
  const int world = 4;
  Sampler single(103, 3);
  std::vector<Sampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(103, 3, r, world);
  for (int step = 0; step < 30; ++step) {  // several epochs of 103 examples, batch 12
    std::vector<int64_t> global = single.next(12);
    std::set<int64_t> seen;
    for (int r = 0; r < world; ++r) {
      std::vector<int64_t> mine = ranks[size_t(r)].next(12);
      ASSERT_EQ(mine.size(), 3u);
      for (size_t j = 0; j < mine.size(); ++j) {
        EXPECT_EQ(mine[j], global[j * world + size_t(r)]);
        EXPECT_TRUE(seen.insert(mine[j]).second) << "index " << mine[j] << " on two ranks";
      }
    }
    EXPECT_EQ(ranks[0].state(), single.state());
  }
}

TEST(Sampler, IncompleteTailsAreDroppedAndEpochsAdvance) {
  Sampler s(10, 1);
  std::vector<int64_t> p0 = s.permutation(0), p1 = s.permutation(1);
  EXPECT_EQ(s.next(4), std::vector<int64_t>(p0.begin(), p0.begin() + 4));
  EXPECT_EQ(s.next(4), std::vector<int64_t>(p0.begin() + 4, p0.begin() + 8));
  EXPECT_EQ(s.state(), (SamplerState{0, 8}));
  EXPECT_EQ(s.next(4), std::vector<int64_t>(p1.begin(), p1.begin() + 4));  // p0[8..9] dropped
  EXPECT_EQ(s.state(), (SamplerState{1, 4}));
  EXPECT_EQ(s.next(6), std::vector<int64_t>(p1.begin() + 4, p1.end()));
  EXPECT_EQ(s.next(10), s.permutation(2));
}

TEST(Sampler, ResumingFromASavedStateContinuesIdentically) {
  Sampler straight(57, 11, 1, 2);
  std::vector<std::vector<int64_t>> batches;
  SamplerState saved;
  for (int step = 0; step < 20; ++step) {
    if (step == 9) saved = straight.state();
    batches.push_back(straight.next(8));
  }
  Sampler resumed(57, 11, 1, 2);
  resumed.set_state(saved);
  for (int step = 9; step < 20; ++step) EXPECT_EQ(resumed.next(8), batches[size_t(step)]) << "step " << step;
  EXPECT_EQ(resumed.state(), straight.state());
}

TEST(Sampler, BadArgumentsAreConfigErrors) {
  EXPECT_THROW(Sampler(0, 1), ConfigError);
  EXPECT_THROW(Sampler(10, 1, 2, 2), ConfigError);
  Sampler s(10, 1, 0, 4);
  EXPECT_THROW(s.next(6), ConfigError);   // not divisible by 4
  EXPECT_THROW(s.next(12), ConfigError);  // more than the dataset
  EXPECT_THROW(s.set_state({0, 11}), ConfigError);
  EXPECT_THROW(s.set_state({-1, 0}), ConfigError);
}

TEST(Sampler, ResumingWithAnotherWorldSizeReslicesTheSameGlobalBatches) {
  // A run on 2 ranks saves its state at step 7; resumed on 1, 3, 4 or 6 ranks, the ranks'
  // shares of every later step rebuild exactly the global batch of an uninterrupted run.
  const int64_t n = 97, batch = 12;
  Sampler straight(n, 5);
  std::vector<std::vector<int64_t>> global;
  for (int step = 0; step < 30; ++step) global.push_back(straight.next(batch));  // spans epochs
  std::vector<Sampler> two = {Sampler(n, 5, 0, 2), Sampler(n, 5, 1, 2)};
  for (int step = 0; step < 7; ++step)
    for (Sampler& s : two) s.next(batch);
  const SamplerState saved = two[0].state();
  EXPECT_EQ(two[1].state(), saved);  // every rank saves the same state
  for (int world : {1, 3, 4, 6}) {
    std::vector<Sampler> ranks;
    for (int r = 0; r < world; ++r) {
      ranks.emplace_back(n, 5, r, world);
      ranks.back().set_state(saved);
    }
    for (int step = 7; step < 30; ++step) {
      std::vector<int64_t> rebuilt(size_t(batch), -1);
      for (int r = 0; r < world; ++r) {
        std::vector<int64_t> mine = ranks[size_t(r)].next(batch);
        ASSERT_EQ(int64_t(mine.size()), batch / world);
        for (size_t j = 0; j < mine.size(); ++j) rebuilt[j * size_t(world) + size_t(r)] = mine[j];
      }
      EXPECT_EQ(rebuilt, global[size_t(step)]) << "world " << world << " step " << step;
      EXPECT_EQ(ranks[0].state(), ranks[size_t(world) - 1].state());
    }
  }
  // A world size that does not divide the global batch is refused with the reason.
  Sampler five(n, 5, 0, 5);
  five.set_state(saved);
  linea::testing::expect_error<ConfigError>([&] { five.next(batch); },
                                            "sampler: global batch 12, expected a positive multiple of the world size 5");
}
