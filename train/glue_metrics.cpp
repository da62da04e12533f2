// GLUE metrics in double precision: counts for the class metrics, centered sums for the
// correlations (two passes, so large offsets such as STS-B scores near 5 lose no precision).
#include "train/glue_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.h"

namespace linea {

namespace {

template <class T>
void check_inputs(const char* metric, const std::vector<T>& a, const std::vector<T>& b) {
  LINEA_CHECK(a.size() == b.size(), metric, ": ", a.size(), " predictions but ", b.size(),
              " references, expected equal counts");
  LINEA_CHECK(!a.empty(), metric, ": no predictions, expected at least one");
}

bool all_finite(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace

double classification_accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_inputs("accuracy", predictions, labels);
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  return double(correct) / double(labels.size());
}

double binary_f1(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_inputs("f1", predictions, labels);
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool predicted = predictions[i] == 1, actual = labels[i] == 1;
    tp += predicted && actual;
    fp += predicted && !actual;
    fn += !predicted && actual;
  }
  const int64_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : double(2 * tp) / double(denominator);
}

// With the confusion matrix C (rows: labels, columns: predictions), s samples, c correct,
// t_k = row sums and p_k = column sums:
//   MCC = (c s - sum_k t_k p_k) / sqrt((s^2 - sum_k p_k^2) (s^2 - sum_k t_k^2)).
double matthews_correlation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_inputs("matthews", predictions, labels);
  std::map<int64_t, double> label_counts, prediction_counts;
  double correct = 0.0;
  for (size_t i = 0; i < labels.size(); ++i) {
    label_counts[labels[i]] += 1.0;
    prediction_counts[predictions[i]] += 1.0;
    correct += predictions[i] == labels[i];
  }
  const double s = double(labels.size());
  double tp_sum = 0.0, p2 = 0.0, t2 = 0.0;
  for (const auto& [k, t] : label_counts) {
    t2 += t * t;
    auto p = prediction_counts.find(k);
    if (p != prediction_counts.end()) tp_sum += t * p->second;
  }
  for (const auto& kv : prediction_counts) p2 += kv.second * kv.second;
  const double denominator = (s * s - p2) * (s * s - t2);
  if (denominator == 0.0) return 0.0;
  return (correct * s - tp_sum) / std::sqrt(denominator);
}

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  check_inputs("pearson", x, y);
  if (!all_finite(x) || !all_finite(y)) return NAN;
  const double n = double(x.size());
  const double mean_x = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double mean_y = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mean_x, dy = y[i] - mean_y;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0.0 || syy == 0.0) return NAN;
  // Rounding can push |r| a hair past 1 for (anti)collinear inputs; SciPy clips too.
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i)
    LINEA_CHECK(std::isfinite(values[i]), "average_ranks: value ", values[i], " at index ", i, ", expected finite values");
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    // Positions start..end-1 hold equal values: 1-based ranks start+1..end, mean (start+1+end)/2.
    const double rank = 0.5 * double(start + 1 + end);
    for (size_t i = start; i < end; ++i) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  check_inputs("spearman", x, y);
  // Ranking needs an order, which NaN breaks; SciPy's default nan_policy propagates NaN.
  if (!all_finite(x) || !all_finite(y)) return NAN;
  return pearson_correlation(average_ranks(x), average_ranks(y));
}

std::vector<GlueMetricValue> glue_classification_metrics(const std::vector<std::string>& names,
                                                         const std::vector<int64_t>& predictions,
                                                         const std::vector<int64_t>& labels) {
  std::vector<GlueMetricValue> out;
  for (const std::string& name : names) {
    if (name == "accuracy")
      out.push_back({name, classification_accuracy(predictions, labels)});
    else if (name == "f1")
      out.push_back({name, binary_f1(predictions, labels)});
    else if (name == "matthews")
      out.push_back({name, matthews_correlation(predictions, labels)});
    else
      throw ConfigError(str_cat("unknown classification metric \"", name, "\", expected accuracy, f1 or matthews"));
  }
  return out;
}

std::vector<GlueMetricValue> glue_regression_metrics(const std::vector<std::string>& names,
                                                     const std::vector<double>& predictions,
                                                     const std::vector<double>& targets) {
  std::vector<GlueMetricValue> out;
  for (const std::string& name : names) {
    if (name == "pearson")
      out.push_back({name, pearson_correlation(predictions, targets)});
    else if (name == "spearman")
      out.push_back({name, spearman_correlation(predictions, targets)});
    else
      throw ConfigError(str_cat("unknown regression metric \"", name, "\", expected pearson or spearman"));
  }
  return out;
}

double glue_task_score(const std::vector<GlueMetricValue>& values, const std::vector<std::string>& score_names) {
  LINEA_CHECK_T(ConfigError, !score_names.empty(), "GLUE task score: no score metrics, expected at least one");
  double sum = 0.0;
  for (const std::string& name : score_names) {
    auto it = std::find_if(values.begin(), values.end(), [&](const GlueMetricValue& v) { return v.name == name; });
    if (it == values.end()) {
      std::vector<std::string> have;
      for (const GlueMetricValue& v : values) have.push_back(v.name);
      throw ConfigError(str_cat("GLUE task score: metric \"", name, "\" was not computed, expected one of: ",
                                join(have)));
    }
    sum += it->value;
  }
  return sum / double(score_names.size());
}

}  // namespace linea
