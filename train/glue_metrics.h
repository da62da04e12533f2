// The GLUE evaluation metrics (accuracy, binary F1, Matthews correlation, Pearson and Spearman
// correlation) with scikit-learn's and SciPy's definitions, and by name for a task's metric list.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

// Every function below throws ShapeError when its two inputs differ in length or are empty.

// Fraction of predictions equal to the labels.
double classification_accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

// F1 of the positive class 1 (every other value is negative): 2TP / (2TP + FP + FN); 0 when
// there is no positive prediction or label at all (scikit-learn's f1_score, zero_division=0).
double binary_f1(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

// Matthews correlation coefficient over any number of classes (Gorodkin's R_K, as
// scikit-learn's matthews_corrcoef computes it); 0 when undefined (one class only predicted
// or only labelled).
double matthews_correlation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

// Pearson's r; NaN when either input is constant or holds a NaN or infinity (as
// scipy.stats.pearsonr), so a diverged model logs NaN instead of stopping the run.
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);

// Spearman's rho: Pearson's r of the ranks, ties given their average rank; NaN when either
// input is constant or not finite (as scipy.stats.spearmanr).
double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y);

// 1-based ranks, tied values sharing the mean of their ranks (scipy.stats.rankdata "average").
// ShapeError for a NaN or infinite value.
std::vector<double> average_ranks(const std::vector<double>& values);

struct GlueMetricValue {
  std::string name;
  double value;
};

// The named metrics ("accuracy", "f1", "matthews") of class predictions, in the given order.
// ConfigError for any other name, listing the classification metrics.
std::vector<GlueMetricValue> glue_classification_metrics(const std::vector<std::string>& names,
                                                         const std::vector<int64_t>& predictions,
                                                         const std::vector<int64_t>& labels);

// The named metrics ("pearson", "spearman") of regression predictions, in the given order.
// ConfigError for any other name, listing the regression metrics.
std::vector<GlueMetricValue> glue_regression_metrics(const std::vector<std::string>& names,
                                                     const std::vector<double>& predictions,
                                                     const std::vector<double>& targets);

// The mean of the values named in `score_names` (mosaicbert.md 4.3 averages a task's
// metrics); ConfigError naming a score metric missing from `values`.
double glue_task_score(const std::vector<GlueMetricValue>& values, const std::vector<std::string>& score_names);

}  // namespace linea
