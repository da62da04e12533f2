// GLUE metrics: hand-computed small cases, reference values of the scikit-learn/SciPy
// definitions (tests/train/glue_metrics_reference.py), undefined cases and bad input.
#include "train/glue_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;

namespace {

// preds [1,0,1,1,0] vs labels [1,0,0,1,1]: TP 2 (0, 3), TN 1 (1), FP 1 (2), FN 1 (4).
const std::vector<int64_t> kHandPredictions = {1, 0, 1, 1, 0};
const std::vector<int64_t> kHandLabels = {1, 0, 0, 1, 1};

TEST(GlueMetrics, AccuracyF1AndMatthewsByHand) {
  EXPECT_DOUBLE_EQ(classification_accuracy(kHandPredictions, kHandLabels), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(binary_f1(kHandPredictions, kHandLabels), 4.0 / 6.0);  // 2TP / (2TP + FP + FN)
  // (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3 * 3 * 2 * 2).
  EXPECT_DOUBLE_EQ(matthews_correlation(kHandPredictions, kHandLabels), 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(matthews_correlation(kHandLabels, kHandLabels), 1.0);
  std::vector<int64_t> flipped;
  for (int64_t l : kHandLabels) flipped.push_back(1 - l);
  EXPECT_DOUBLE_EQ(matthews_correlation(flipped, kHandLabels), -1.0);
  EXPECT_DOUBLE_EQ(classification_accuracy(flipped, kHandLabels), 0.0);
}

TEST(GlueMetrics, MatthewsOverThreeClassesByHand) {
  // 4 of 6 correct; label and prediction counts are 2 per class:
  // (4 * 6 - 3 * 2 * 2) / sqrt((36 - 12) (36 - 12)) = 12 / 24.
  EXPECT_DOUBLE_EQ(matthews_correlation({0, 2, 2, 0, 1, 1}, {0, 1, 2, 0, 1, 2}), 0.5);
}

TEST(GlueMetrics, F1CountsOnlyClassOneAsPositive) {
  // Class 2 is a negative like 0: predictions 2 on label-1 rows are false negatives.
  // TP 1, FP 0, FN 2 -> 2 / (2 + 0 + 2). (Labels {1, 1, 1, 0} as a literal are miscompiled to
  // {1, 1, 1, 1} by GCC 12.2 with -O3 -march=native on AVX-512 CPUs, hence this order.)
  EXPECT_DOUBLE_EQ(binary_f1({1, 0, 2, 2}, {1, 0, 1, 1}), 0.5);
  // A label 2 predicted as 1 is a false positive: TP 1, FP 1 -> 2 / (2 + 1).
  EXPECT_DOUBLE_EQ(binary_f1({1, 1, 0}, {1, 2, 0}), 2.0 / 3.0);
}

TEST(GlueMetrics, UndefinedCasesFollowScikitLearn) {
  // No positive prediction nor label: F1 0 (zero_division=0).
  EXPECT_DOUBLE_EQ(binary_f1({0, 0, 0}, {0, 0, 0}), 0.0);
  // One class predicted for everything: the prediction variance is 0 -> MCC 0.
  EXPECT_DOUBLE_EQ(matthews_correlation({1, 1, 1, 1}, {1, 0, 1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(matthews_correlation({1, 0, 1, 0}, {0, 0, 0, 0}), 0.0);
}

TEST(GlueMetrics, PearsonAndSpearmanByHand) {
  // x = 1..5, y = [2,4,5,4,5]: dx = [-2,-1,0,1,2], dy = [-2,0,1,0,1]; Sxy 6, Sxx 10, Syy 6.
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 4, 5, 4, 5};
  EXPECT_NEAR(pearson_correlation(x, y), 6.0 / std::sqrt(60.0), 1e-15);
  // Ranks of y with ties averaged: [1, 2.5, 4.5, 2.5, 4.5]; against ranks 1..5:
  // drank = [-2,-0.5,1.5,-0.5,1.5], Sxy 7, Sxx 10, Syy 9.
  EXPECT_EQ(average_ranks(y), (std::vector<double>{1, 2.5, 4.5, 2.5, 4.5}));
  EXPECT_NEAR(spearman_correlation(x, y), 7.0 / std::sqrt(90.0), 1e-15);
  // Spearman sees only the order: any increasing map of x correlates perfectly.
  EXPECT_NEAR(spearman_correlation(x, {1, 8, 27, 64, 125}), 1.0, 1e-15);
  EXPECT_LT(pearson_correlation(x, {1, 8, 27, 64, 125}), 0.95);
  EXPECT_DOUBLE_EQ(pearson_correlation(x, {10, 8, 6, 4, 2}), -1.0);
  // Pearson is unchanged by a large common offset (STS-B scores sit in [0, 5]).
  EXPECT_NEAR(pearson_correlation({1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5}, y), 6.0 / std::sqrt(60.0), 1e-12);
}

TEST(GlueMetrics, AverageRanksOfTiesAndOrder) {
  // Sorted: 1 1 2 3 4 5 5 6 9 -> ranks 1.5 1.5 3 4 5 6.5 6.5 8 9.
  EXPECT_EQ(average_ranks({3, 1, 4, 1, 5, 9, 2, 6, 5}), (std::vector<double>{4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5}));
  EXPECT_EQ(average_ranks({7, 7, 7}), (std::vector<double>{2, 2, 2}));
  expect_error<ShapeError>([] { average_ranks({1.0, NAN}); }, "expected finite values");
}

TEST(GlueMetrics, ConstantOrNonFiniteInputsGiveNaNAsSciPy) {
  EXPECT_TRUE(std::isnan(pearson_correlation({1, 2, 3}, {4, 4, 4})));
  EXPECT_TRUE(std::isnan(spearman_correlation({5, 5, 5}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(pearson_correlation({1, NAN, 3}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman_correlation({1, 2, 3}, {1, INFINITY, 3})));
}

// Inputs and expected values printed by tests/train/glue_metrics_reference.py (numpy).
const std::vector<int64_t> kLabels = {0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                                      0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0};
const std::vector<int64_t> kPredictions = {0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0,
                                           0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0};
const std::vector<int64_t> kLabels3 = {1, 1, 1, 1, 1, 1, 2, 2, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0,
                                       2, 0, 1, 0, 0, 0, 0, 1, 0, 2, 1, 0, 0, 2, 1, 1, 2, 1, 2, 0};
const std::vector<int64_t> kPredictions3 = {1, 1, 1, 1, 1, 1, 2, 0, 1, 0, 1, 0, 1, 1, 1, 1, 2, 0, 0, 1,
                                            2, 0, 1, 0, 1, 0, 0, 0, 0, 2, 1, 0, 0, 2, 2, 2, 2, 0, 2, 0};
const std::vector<double> kTargets = {1.6, 0.6, 4.0, 0.2, 2.6, 0.8, 4.8, 1.0, 2.4, 4.8, 2.6, 4.4, 5.0, 0.6, 3.4,
                                      4.0, 4.4, 0.0, 4.8, 3.4, 1.4, 1.6, 1.4, 1.8, 5.0, 1.0, 1.0, 2.8, 3.6, 4.8};
const std::vector<double> kRegressionPredictions = {2.7, 1.2, 3.9, 2.2, 3.5, 0.8,  5.0,  3.4, 3.8, 5.7,
                                                    2.8, 5.0, 5.1, -0.9, 4.3, 4.4, 3.0, -0.6, 4.6, 3.7,
                                                    3.1, 1.6, -0.5, 2.4, 4.8, -0.7, -1.3, 1.7, 4.0, 4.0};

TEST(GlueMetrics, MatchReferenceValues) {
  EXPECT_NEAR(classification_accuracy(kPredictions, kLabels), 0.80000000000000004, 1e-15);
  EXPECT_NEAR(binary_f1(kPredictions, kLabels), 0.78947368421052633, 1e-15);
  EXPECT_NEAR(matthews_correlation(kPredictions, kLabels), 0.60302268915552726, 1e-14);
  EXPECT_NEAR(classification_accuracy(kPredictions3, kLabels3), 0.77500000000000002, 1e-15);
  EXPECT_NEAR(matthews_correlation(kPredictions3, kLabels3), 0.65076468666301801, 1e-14);
  EXPECT_NEAR(pearson_correlation(kRegressionPredictions, kTargets), 0.82284147954723463, 1e-14);
  // kTargets holds 13 repeated values, so this checks the tie handling too.
  EXPECT_NEAR(spearman_correlation(kRegressionPredictions, kTargets), 0.87140524626562887, 1e-14);
}

TEST(GlueMetrics, ByNameAndTaskScore) {
  std::vector<GlueMetricValue> v = glue_classification_metrics({"f1", "accuracy"}, kHandPredictions, kHandLabels);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].name, "f1");
  EXPECT_DOUBLE_EQ(v[0].value, 4.0 / 6.0);
  EXPECT_EQ(v[1].name, "accuracy");
  EXPECT_DOUBLE_EQ(glue_task_score(v, {"accuracy", "f1"}), (0.6 + 4.0 / 6.0) / 2.0);
  std::vector<GlueMetricValue> r = glue_regression_metrics({"pearson", "spearman"}, {1, 2, 3, 4, 5}, {2, 4, 5, 4, 5});
  EXPECT_NEAR(glue_task_score(r, {"spearman"}), 7.0 / std::sqrt(90.0), 1e-15);
  expect_error<ConfigError>([] { glue_classification_metrics({"pearson"}, {1}, {1}); },
                            "unknown classification metric \"pearson\", expected accuracy, f1 or matthews");
  expect_error<ConfigError>([] { glue_regression_metrics({"accuracy"}, {1}, {1}); },
                            "unknown regression metric \"accuracy\"");
  expect_error<ConfigError>([&] { glue_task_score(v, {"matthews"}); },
                            "metric \"matthews\" was not computed, expected one of: f1, accuracy");
}

TEST(GlueMetrics, MismatchedOrEmptyInputsAreErrors) {
  expect_error<ShapeError>([] { classification_accuracy({1, 0}, {1}); }, "accuracy: 2 predictions but 1 references");
  expect_error<ShapeError>([] { binary_f1({}, {}); }, "f1: no predictions");
  expect_error<ShapeError>([] { matthews_correlation({1}, {1, 0}); }, "matthews: 1 predictions but 2");
  expect_error<ShapeError>([] { spearman_correlation({1.0, 2.0}, {1.0}); }, "spearman: 2 predictions but 1");
  expect_error<ShapeError>([] { pearson_correlation({}, {}); }, "pearson: no predictions");
}

}  // namespace
