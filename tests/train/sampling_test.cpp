// Token sampling: greedy ties, top-k / top-p supports, frequencies against the tempered
// softmax, determinism per seed, and the option checks.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "train/sampling.h"

using namespace linea;

TEST(Sampling, GreedyTakesTheFirstMaximum) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  Generator gen(1);
  SamplingOptions greedy{0.0, 0, 1.0};
  EXPECT_EQ(sample_token(logits.data(), 4, greedy, gen), 1);
  EXPECT_EQ(gen.offset(), 0u);  // greedy draws nothing
  SamplingOptions top1{1.0, 1, 1.0};
  EXPECT_EQ(sample_token(logits.data(), 4, top1, gen), 1);
}

TEST(Sampling, FrequenciesFollowTheTemperedSoftmaxWithinTheCuts) {
  const std::vector<float> logits = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
  auto frequencies = [&](SamplingOptions o) {
    Generator gen(7);
    std::vector<double> f(5, 0.0);
    const int n = 40000;
    for (int i = 0; i < n; ++i) f[size_t(sample_token(logits.data(), 5, o, gen))] += 1.0 / n;
    return f;
  };
  auto softmax = [&](double t, const std::vector<int>& support) {
    std::vector<double> p(5, 0.0);
    double z = 0;
    for (int i : support) z += p[size_t(i)] = std::exp(logits[size_t(i)] / t);
    for (double& v : p) v /= z;
    return p;
  };
  // 40000 draws: a frequency's standard deviation is at most 0.0025; 4 sigma = 0.01.
  auto expect_near = [](const std::vector<double>& got, const std::vector<double>& want) {
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.01) << "token " << i;
  };
  expect_near(frequencies({1.0, 0, 1.0}), softmax(1.0, {0, 1, 2, 3, 4}));
  expect_near(frequencies({0.5, 0, 1.0}), softmax(0.5, {0, 1, 2, 3, 4}));
  expect_near(frequencies({1.0, 3, 1.0}), softmax(1.0, {2, 0, 4}));
  // p(2) = 0.53, p(0) = 0.20: the nucleus of 0.6 holds tokens 2 and 0 only.
  expect_near(frequencies({1.0, 0, 0.6}), softmax(1.0, {2, 0}));
}

TEST(Sampling, TheSameSeedGivesTheSameTokens) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f};
  auto draw = [&](uint64_t seed) {
    Generator gen(seed);
    std::vector<int64_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(sample_token(logits.data(), 4, {1.0, 0, 0.9}, gen));
    return ids;
  };
  EXPECT_EQ(draw(3), draw(3));
  EXPECT_NE(draw(3), draw(4));
}

TEST(Sampling, OptionsOutOfRangeAreRefusedByName) {
  EXPECT_THROW(check_sampling_options({-0.5, 0, 1.0}), ConfigError);
  EXPECT_THROW(check_sampling_options({1.0, -1, 1.0}), ConfigError);
  EXPECT_THROW(check_sampling_options({1.0, 0, 0.0}), ConfigError);
  EXPECT_THROW(check_sampling_options({1.0, 0, 1.5}), ConfigError);
  check_sampling_options({0.0, 0, 1.0});
}
