// Greedy, temperature, top-k and top-p sampling.
#include "train/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace linea {

void check_sampling_options(const SamplingOptions& o) {
  LINEA_CHECK_T(ConfigError, o.temperature >= 0 && std::isfinite(o.temperature),
                "--temperature: expected a number >= 0 (0: greedy), got ", o.temperature);
  LINEA_CHECK_T(ConfigError, o.top_k >= 0, "--top-k: expected an integer >= 0 (0: every token), got ", o.top_k);
  LINEA_CHECK_T(ConfigError, o.top_p > 0 && o.top_p <= 1, "--top-p: expected a number in (0, 1], got ", o.top_p);
}

int64_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& o, Generator& gen) {
  if (o.temperature == 0) return std::max_element(logits, logits + vocab) - logits;
  // Candidates by decreasing logit (ties by id, so the order is deterministic).
  std::vector<int64_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  const int64_t k = o.top_k > 0 ? std::min(o.top_k, vocab) : vocab;
  auto by_logit = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), by_logit);
  ids.resize(size_t(k));
  std::vector<double> p(ids.size());
  const double top = double(logits[ids[0]]) / o.temperature;
  double total = 0;
  for (size_t i = 0; i < ids.size(); ++i) total += p[i] = std::exp(double(logits[ids[i]]) / o.temperature - top);
  // The nucleus: the fewest candidates whose probability reaches top_p.
  size_t keep = ids.size();
  if (o.top_p < 1) {
    double cumulative = 0;
    for (keep = 0; keep < ids.size();) {
      cumulative += p[keep++] / total;
      if (cumulative >= o.top_p) break;
    }
    total = std::accumulate(p.begin(), p.begin() + long(keep), 0.0);
  }
  Tensor u = Tensor::empty({1}, DType::f64);
  uniform_(u, gen);
  double target = u.item() * total;
  for (size_t i = 0; i + 1 < keep; ++i)
    if ((target -= p[i]) < 0) return ids[i];
  return ids[keep - 1];
}

}  // namespace linea
