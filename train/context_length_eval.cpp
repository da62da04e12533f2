#include "train/context_length_eval.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "autograd/variable.h"
#include "core/error.h"
#include "data/causal_dataset.h"
#include "train/evaluate.h"

namespace linea {

int64_t ContextLengthOptions::targets_per_window() const {
  return score_last > 0 ? score_last : (lengths.empty() ? 1 : (lengths.front() + 1) / 2);
}

int64_t ContextLengthOptions::window_stride() const {
  return stride > 0 ? stride : (lengths.empty() ? 1 : lengths.back());
}

std::vector<int64_t> parse_context_lengths(const std::string& text) {
  const char* kExpected = ", expected a comma-separated list of lengths such as 128,256,512";
  std::vector<int64_t> lengths;
  std::istringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(part.c_str(), &end, 10);
    LINEA_CHECK_T(ConfigError, !part.empty() && *end == '\0' && errno == 0 && v >= 1, "eval: --context-lengths '",
                  text, "': '", part, "' is not an integer >= 1", kExpected);
    lengths.push_back(v);
  }
  LINEA_CHECK_T(ConfigError, !lengths.empty() && text.back() != ',', "eval: --context-lengths '", text,
                "': a length is missing", kExpected);
  std::sort(lengths.begin(), lengths.end());
  const auto twice = std::adjacent_find(lengths.begin(), lengths.end());
  LINEA_CHECK_T(ConfigError, twice == lengths.end(), "eval: --context-lengths '", text, "': ", *twice,
                " is given twice", kExpected);
  return lengths;
}

void check_context_length_options(const ContextLengthOptions& opt, int64_t max_seq_len) {
  LINEA_ASSERT(!opt.lengths.empty() && std::is_sorted(opt.lengths.begin(), opt.lengths.end()),
               "context lengths must be parsed by parse_context_lengths");
  LINEA_CHECK_T(ConfigError, opt.lengths.back() <= max_seq_len, "eval: --context-lengths: ", opt.lengths.back(),
                " exceeds the model's max_seq_len ", max_seq_len, ", expected lengths <= ", max_seq_len);
  const int64_t s = opt.targets_per_window();
  LINEA_CHECK_T(ConfigError, s <= opt.lengths.front(), "eval: --score-last ", s,
                " exceeds the shortest context length ", opt.lengths.front(), ", expected 1 .. ",
                opt.lengths.front(), " targets per window");
  LINEA_CHECK_T(ConfigError, opt.window_stride() >= s, "eval: --stride ", opt.window_stride(),
                " is shorter than the ", s, " targets scored per window (--score-last), so targets would be scored "
                "twice; expected a stride >= ", s);
}

std::vector<int64_t> context_window_ends(int64_t total_tokens, int64_t longest, int64_t stride) {
  std::vector<int64_t> ends;
  for (int64_t e = longest; e < total_tokens; e += stride) ends.push_back(e);
  return ends;
}

std::vector<ContextLengthRow> evaluate_context_lengths(CausalLM& model, const TokenShards& shards,
                                                       const ContextLengthOptions& opt, Device device) {
  check_context_length_options(opt, model.max_seq_len());
  const int64_t longest = opt.lengths.back(), s = opt.targets_per_window();
  const std::vector<int64_t> ends = context_window_ends(shards.total_tokens(), longest, opt.window_stride());
  LINEA_CHECK_T(DataError, !ends.empty(), "eval: ", shards.dir(), " holds ", shards.total_tokens(),
                " tokens, expected at least ", longest + 1, " for --context-lengths up to ", longest);
  NoGradGuard ng;
  EvalModeGuard mode(model);
  std::vector<ContextLengthRow> rows;
  for (int64_t len : opt.lengths) {
    const int64_t batch = opt.micro_batch > 0 ? opt.micro_batch : std::max<int64_t>(1, opt.batch_tokens / len);
    EvalResult r;
    for (size_t first = 0; first < ends.size(); first += size_t(batch)) {
      const int64_t n = std::min<int64_t>(batch, int64_t(ends.size() - first));
      std::vector<double> inputs, targets;
      inputs.reserve(size_t(n * len));
      targets.reserve(size_t(n * len));
      for (int64_t b = 0; b < n; ++b) {
        // ids[e-len .. e]: the inputs are all but the last, only the last s targets count.
        const std::vector<double> ids = shards.read(ends[first + size_t(b)] - len, len + 1).to_vector();
        for (int64_t t = 0; t < len; ++t) {
          inputs.push_back(ids[size_t(t)]);
          targets.push_back(t >= len - s ? ids[size_t(t + 1)] : double(kIgnoreTarget));
        }
      }
      const Tensor in = Tensor::from_vector(inputs, {n, len}, DType::i64, device);
      const Tensor tgt = Tensor::from_vector(targets, {n, len}, DType::i64, device);
      r.add_batch(model.loss(in, tgt, kIgnoreTarget).data().item(), n * s);
    }
    rows.push_back({len, r.tokens, r.mean_nll});
  }
  return rows;
}

}  // namespace linea
