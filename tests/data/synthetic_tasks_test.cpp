// The synthetic task generators (kimi_linear spec §8.1, §8.2): mqar's key and value ranges,
// distinctness, P scored answers equal to the queried key's value, both query layouts and the
// noise switch; Zoology's query-slot distribution checked by chi-square against the weights
// (g+1)^(a-1); palindrome and stack labels replayed independently; the preconditions as
// ConfigErrors; one stream per (seed, example).
#include "data/synthetic_tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;

namespace {

SyntheticTaskOptions mqar(int64_t V, int64_t L, int64_t P, uint64_t seed = 1) {
  SyntheticTaskOptions o;
  o.task = SyntheticTask::mqar;
  o.vocab_size = V;
  o.seq_len = L;
  o.pairs = P;
  o.seed = seed;
  return o;
}

SyntheticTaskOptions task(SyntheticTask t, int64_t V, int64_t L, uint64_t seed = 1) {
  SyntheticTaskOptions o;
  o.task = t;
  o.vocab_size = V;
  o.seq_len = L;
  o.seed = seed;
  return o;
}

int64_t count_scored(const SyntheticExample& e) { return std::count(e.scored.begin(), e.scored.end(), 1); }

// Zoology layout: key i's query slot g_i (its query sits at 2P + 2g_i), found as the scored
// answer whose preceding token is key i. -1 when absent.
std::vector<int64_t> query_slots(const SyntheticExample& e, int64_t P) {
  std::vector<int64_t> slots(static_cast<size_t>(P), -1);
  for (int64_t i = 0; i < P; ++i)
    for (size_t p = size_t(2 * P) + 1; p < e.tokens.size(); p += 2)
      if (e.scored[p] && e.tokens[p - 1] == e.tokens[size_t(2 * i)]) slots[size_t(i)] = int64_t(p - 1 - 2 * P) / 2;
  return slots;
}

}  // namespace

TEST(SyntheticMqar, KeysValuesQueriesAndAnswersFollowZoology) {
  const int64_t V = 256, L = 64, P = 4;
  std::set<int32_t> noise;
  for (int64_t n = 0; n < 200; ++n) {
    const SyntheticExample e = synthetic_example(mqar(V, L, P), n);
    ASSERT_EQ(int64_t(e.tokens.size()), L);
    ASSERT_EQ(int64_t(e.scored.size()), L);
    EXPECT_EQ(count_scored(e), P) << "example " << n;
    std::set<int32_t> keys, values;
    for (int64_t i = 0; i < P; ++i) {
      const int32_t k = e.tokens[size_t(2 * i)], v = e.tokens[size_t(2 * i + 1)];
      EXPECT_TRUE(k >= 1 && k < V / 2) << "key " << k;
      EXPECT_TRUE(v >= V / 2 && v < V) << "value " << v;
      keys.insert(k);
      values.insert(v);
    }
    EXPECT_EQ(int64_t(keys.size()), P) << "keys repeat in example " << n;
    EXPECT_EQ(int64_t(values.size()), P) << "values repeat in example " << n;
    for (int64_t p = 0; p < 2 * P + 1; ++p) EXPECT_EQ(e.scored[size_t(p)], 0) << "position " << p;
    // Every answer follows a query at an even offset from 2P and is the value of that key.
    std::set<int64_t> queried;
    for (int64_t p = 2 * P + 1; p < L; ++p) {
      if (!e.scored[size_t(p)]) continue;
      EXPECT_EQ((p - 1 - 2 * P) % 2, 0) << "answer at " << p;
      int64_t i = 0;
      while (i < P && e.tokens[size_t(2 * i)] != e.tokens[size_t(p - 1)]) ++i;
      ASSERT_LT(i, P) << "the token before the answer at " << p << " is no key";
      EXPECT_EQ(e.tokens[size_t(p)], e.tokens[size_t(2 * i + 1)]) << "answer at " << p;
      queried.insert(i);
    }
    EXPECT_EQ(int64_t(queried.size()), P) << "each key is queried once";
    for (int64_t p = 2 * P; p < L; ++p)
      if (!e.scored[size_t(p)] && !(p + 1 < L && e.scored[size_t(p + 1)])) noise.insert(e.tokens[size_t(p)]);
  }
  // random_non_queries: the other positions hold uniform tokens of the whole vocabulary.
  EXPECT_GT(noise.size(), 200u);
  EXPECT_EQ(*noise.begin(), 0);
  EXPECT_EQ(*noise.rbegin(), V - 1);
}

TEST(SyntheticMqar, WithoutRandomNonQueriesTheOtherPositionsAreZero) {
  SyntheticTaskOptions o = mqar(128, 64, 8);
  o.random_non_queries = false;
  for (int64_t n = 0; n < 50; ++n) {
    const SyntheticExample e = synthetic_example(o, n);
    int64_t zeros = 0;
    for (int64_t p = 16; p < 64; ++p) zeros += e.tokens[size_t(p)] == 0;
    EXPECT_EQ(zeros, 64 - 16 - 2 * 8) << "example " << n;  // all but the 8 queries and 8 answers
    for (int64_t s : query_slots(e, 8)) EXPECT_GE(s, 0);
  }
}

TEST(SyntheticMqar, AfterSepPutsEveryQueryAfterTheSeparatorInRandomOrder) {
  SyntheticTaskOptions o = mqar(512, 64, 4);
  o.query_layout = MqarQueryLayout::after_sep;
  std::set<std::vector<int32_t>> orders;
  for (int64_t n = 0; n < 100; ++n) {
    const SyntheticExample e = synthetic_example(o, n);
    EXPECT_EQ(e.tokens[8], 0) << "<sep> after the 4 pairs";
    EXPECT_EQ(count_scored(e), 4);
    std::vector<int32_t> order;
    for (int64_t j = 0; j < 4; ++j) {
      const size_t q = size_t(9 + 2 * j);
      EXPECT_TRUE(e.scored[q + 1]) << "answer after query " << j;
      int64_t i = 0;
      while (i < 4 && e.tokens[size_t(2 * i)] != e.tokens[q]) ++i;
      ASSERT_LT(i, 4) << "query " << j << " is no key";
      EXPECT_EQ(e.tokens[q + 1], e.tokens[size_t(2 * i + 1)]);
      order.push_back(int32_t(i));
    }
    std::vector<int32_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int32_t>{0, 1, 2, 3})) << "each key queried once";
    orders.insert(order);
    for (size_t p = 17; p < 64; ++p) EXPECT_EQ(e.tokens[p], 0) << "padding at " << p;
  }
  EXPECT_GT(orders.size(), 12u) << "the query order should vary (24 permutations)";
}

// Zoology draws the P query slots one after another, slot g with weight (g+1)^(a-1) among the
// slots left. The first key's slot then has p1(g) = w_g / W; the second key's slot
// p2(j) = sum_{i != j} w_i / W * w_j / (W - w_i). Both are checked by Pearson's chi-square
// over the 28 slots (27 degrees of freedom) against 63.4, its 0.9999 quantile (Wilson-Hilferty),
// on 20,000 examples; the same counts must reject a uniform choice of slots.
TEST(SyntheticMqar, QuerySlotsFollowTheRenormalisedPowerWeights) {
  const int64_t V = 256, L = 64, P = 4, S = (L - 2 * P) / 2, N = 20000;
  const double threshold = 63.4;
  SyntheticTaskOptions o = mqar(V, L, P, 7);
  o.random_non_queries = false;  // no noise token can pose as a key
  std::vector<double> w(static_cast<size_t>(S));
  double W = 0;
  for (int64_t g = 0; g < S; ++g) W += w[size_t(g)] = std::pow(double(g + 1), kMqarPowerA - 1);
  std::vector<double> p1(static_cast<size_t>(S)), p2(static_cast<size_t>(S), 0.0);
  for (int64_t j = 0; j < S; ++j) {
    p1[size_t(j)] = w[size_t(j)] / W;
    for (int64_t i = 0; i < S; ++i)
      if (i != j) p2[size_t(j)] += w[size_t(i)] / W * w[size_t(j)] / (W - w[size_t(i)]);
  }
  std::vector<double> first(static_cast<size_t>(S), 0.0), second(static_cast<size_t>(S), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    const std::vector<int64_t> slots = query_slots(synthetic_example(o, n), P);
    ASSERT_GE(slots[0], 0);
    ASSERT_GE(slots[1], 0);
    first[size_t(slots[0])] += 1;
    second[size_t(slots[1])] += 1;
  }
  auto chi_square = [&](const std::vector<double>& observed, const std::vector<double>& p) {
    double x = 0;
    for (int64_t g = 0; g < S; ++g) {
      const double expected = double(N) * p[size_t(g)];
      x += (observed[size_t(g)] - expected) * (observed[size_t(g)] - expected) / expected;
    }
    return x;
  };
  EXPECT_LT(chi_square(first, p1), threshold);
  EXPECT_LT(chi_square(second, p2), threshold);
  EXPECT_GT(chi_square(first, std::vector<double>(static_cast<size_t>(S), 1.0 / double(S))), 10 * threshold);
  EXPECT_GT(chi_square(second, p1), threshold) << "the second slot is not drawn from the unrenormalised weights";
}

TEST(SyntheticPalindrome, TheReversedSymbolsAreTheScoredTargets) {
  const int64_t V = 256, L = 64, n = L / 2 - 1;
  for (int64_t k = 0; k < 50; ++k) {
    const SyntheticExample e = synthetic_example(task(SyntheticTask::palindrome, V, L), k);
    ASSERT_EQ(int64_t(e.tokens.size()), L);
    for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(e.tokens[size_t(i)] >= 2 && e.tokens[size_t(i)] < V);
    EXPECT_EQ(e.tokens[size_t(n)], kPalindromeSep);
    EXPECT_EQ(e.tokens[size_t(L - 1)], kPalindromePad);
    EXPECT_EQ(count_scored(e), n);
    // The target after <sep> is x_{n-1}; after the reversed x_k it is x_{k-1}.
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_TRUE(e.scored[size_t(n + 1 + j)]);
      EXPECT_EQ(e.tokens[size_t(n + 1 + j)], e.tokens[size_t(n - 1 - j)]);
    }
  }
}

TEST(SyntheticStack, EveryPopShowsTheElementPushedLastOnItsStack) {
  const int64_t V = 256, L = 128;
  int64_t pops = 0, pushes = 0;
  for (int64_t k = 0; k < 100; ++k) {
    const SyntheticExample e = synthetic_example(task(SyntheticTask::stack, V, L), k);
    std::vector<std::vector<int32_t>> stacks(kStackCount);
    for (int64_t op = 0; op < L / 3; ++op) {
      const size_t p = size_t(3 * op);
      const int32_t id = e.tokens[p + 1] - kStackFirstId, x = e.tokens[p + 2];
      ASSERT_TRUE(id >= 0 && id < kStackCount) << "stack id token " << e.tokens[p + 1];
      EXPECT_TRUE(x >= kStackFirstElement && x < V) << "element " << x;
      EXPECT_EQ(e.scored[p], 0);
      EXPECT_EQ(e.scored[p + 1], 0);
      if (e.tokens[p] == kStackPush) {
        EXPECT_EQ(e.scored[p + 2], 0);
        stacks[size_t(id)].push_back(x);
        ++pushes;
        continue;
      }
      ASSERT_EQ(e.tokens[p], kStackPop) << "operation " << op;
      ASSERT_FALSE(stacks[size_t(id)].empty()) << "a pop of an empty stack";
      EXPECT_EQ(e.scored[p + 2], 1);
      EXPECT_EQ(x, stacks[size_t(id)].back());
      stacks[size_t(id)].pop_back();
      ++pops;
    }
    for (int64_t p = 3 * (L / 3); p < L; ++p) EXPECT_EQ(e.tokens[size_t(p)], kStackPad);
    int64_t scored_pops = 0;
    for (int64_t op = 0; op < L / 3; ++op) scored_pops += e.tokens[size_t(3 * op)] == kStackPop;
    EXPECT_EQ(count_scored(e), scored_pops);
  }
  // A pop has probability 1/2 whenever some stack holds an element, so a bit under half of all operations.
  const double pop_share = double(pops) / double(pops + pushes);
  EXPECT_GT(pop_share, 0.40);
  EXPECT_LT(pop_share, 0.50);
}

TEST(SyntheticTasks, EachExampleDependsOnSeedAndIndexOnly) {
  for (const SyntheticTaskOptions& o : {mqar(256, 64, 4, 3), task(SyntheticTask::palindrome, 256, 64, 3),
                                        task(SyntheticTask::stack, 256, 64, 3)}) {
    const SyntheticExample a = synthetic_example(o, 5), b = synthetic_example(o, 5);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.scored, b.scored);
    EXPECT_NE(synthetic_example(o, 6).tokens, a.tokens);
    SyntheticTaskOptions other = o;
    other.seed = 4;
    EXPECT_NE(synthetic_example(other, 5).tokens, a.tokens) << synthetic_task_name(o.task);
  }
}

TEST(SyntheticTasks, PreconditionsAreConfigErrors) {
  auto check = [](const SyntheticTaskOptions& o) { return [o] { check_synthetic_options(o, "where"); }; };
  check_synthetic_options(mqar(65, 64, 16), "where");  // V = L + 1 and 4P = L are allowed
  expect_error<ConfigError>(check(mqar(256, 63, 4)), "where: sequence length 63 is odd");
  expect_error<ConfigError>(check(mqar(64, 64, 4)), "vocabulary 64 is not larger than the sequence length 64");
  expect_error<ConfigError>(check(mqar(256, 64, 17)), "expected 4P <= L");
  expect_error<ConfigError>(check(mqar(256, 64, 0)), "0 pairs, expected >= 1");
  SyntheticTaskOptions after_sep = mqar(256, 64, 16);
  after_sep.query_layout = MqarQueryLayout::after_sep;
  expect_error<ConfigError>(check(after_sep), "expected 4P + 1 <= L");
  expect_error<ConfigError>(check(task(SyntheticTask::palindrome, 256, 63)), "expected an even length >= 4");
  expect_error<ConfigError>(check(task(SyntheticTask::palindrome, 2, 64)), "vocabulary 2, expected >= 3");
  expect_error<ConfigError>(check(task(SyntheticTask::stack, 256, 5)), "sequence length 5, expected >= 6");
  expect_error<ConfigError>(check(task(SyntheticTask::stack, 67, 64)), "vocabulary 67, expected > 67");
  SyntheticTaskOptions pairs = task(SyntheticTask::palindrome, 256, 64);
  pairs.pairs = 4;
  expect_error<ConfigError>(check(pairs), "pairs are for mqar only");
  expect_error<ConfigError>([] { parse_synthetic_task("mqr"); }, "synthetic task 'mqr', expected mqar, palindrome or stack");
  expect_error<ConfigError>([] { parse_mqar_query_layout("sep"); }, "expected zoology or after_sep");
}
