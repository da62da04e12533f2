#include "train/evaluate.h"

#include <algorithm>
#include <cstdio>
#include <cmath>

#include "autograd/variable.h"
#include "core/kernels/reduce.h"
#include "data/unpad.h"
#include "layers/attention_transfer.h"

namespace linea {

double EvalResult::perplexity() const { return language_model ? std::exp(mean_nll) : std::nan(""); }

namespace {
std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
}  // namespace

std::string format_eval_metrics(const EvalResult& r) {
  std::string out;
  for (const auto& [name, value] : r.metrics) out += " | " + name + " " + fixed(value, 4);
  return out;
}

std::string format_eval_line(int64_t step, const EvalResult& r) {
  std::string line = "eval step " + std::to_string(step) + " | valid loss " + fixed(r.mean_nll, 4);
  if (r.metrics.empty() && r.language_model) line += " | perplexity " + fixed(r.perplexity(), 2);
  if (r.accuracy) line += " | mlm accuracy " + fixed(*r.accuracy, 4);
  return line + format_eval_metrics(r) + " | " + std::to_string(r.tokens) + (r.metrics.empty() ? " tokens" : " examples");
}

namespace {
// Calls fn(indices) for this shard's batches among the first `max_batches` batches (all
// when 0) of `micro_batch` consecutive examples out of n.
template <class Fn>
void for_each_eval_batch(int64_t n, int64_t max_batches, int64_t micro_batch, EvalShard shard, Fn fn) {
  const int64_t batches = (n + micro_batch - 1) / micro_batch;
  const int64_t limit = max_batches > 0 ? std::min(max_batches, batches) : batches;
  for (int64_t b = shard.rank; b < limit; b += shard.world) {
    std::vector<int64_t> idx;
    for (int64_t i = b * micro_batch; i < std::min(n, (b + 1) * micro_batch); ++i) idx.push_back(i);
    fn(idx);
  }
}

}  // namespace

void EvalResult::add_batch(double batch_mean_nll, int64_t scored, std::optional<int64_t> correct) {
  if (scored == 0) return;
  const int64_t total = tokens + scored;
  mean_nll = (mean_nll * double(tokens) + batch_mean_nll * double(scored)) / double(total);
  if (correct) accuracy = (accuracy.value_or(0) * double(tokens) + double(*correct)) / double(total);
  tokens = total;
}

EvalResult evaluate_windows(CausalLM& model, const PackedCausalDataset& data, int64_t max_batches, int64_t micro_batch,
                            Device device, EvalShard shard) {
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  r.partial = shard.world > 1;
  for_each_eval_batch(data.num_examples(), max_batches, micro_batch, shard, [&](const std::vector<int64_t>& idx) {
    CausalBatch batch = data.get_batch(idx);
    const double loss = model.loss(batch.inputs.to(device), batch.targets.to(device)).data().item();
    int64_t scored = 0;  // targets at document boundaries may be ignored
    for (double t : batch.targets.to_vector()) scored += t != double(kIgnoreTarget);
    r.add_batch(loss, scored);
  });
  return r;
}

EvalResult evaluate_transfer(Decoder& model, const PackedCausalDataset& data, double mse_factor, int64_t max_batches,
                             int64_t micro_batch, Device device, EvalShard shard) {
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  r.partial = shard.world > 1;
  r.language_model = false;
  for_each_eval_batch(data.num_examples(), max_batches, micro_batch, shard, [&](const std::vector<int64_t>& idx) {
    CausalBatch batch = data.get_batch(idx);
    r.add_batch(attention_transfer_loss(model, batch.inputs.to(device), mse_factor).loss.data().item(),
                batch.inputs.numel());
  });
  return r;
}

EvalResult evaluate_sliding(CausalLM& model, const TokenShards& shards, int64_t seq_len, int64_t stride,
                            int64_t micro_batch, Device device) {
  LINEA_CHECK_T(ConfigError, stride >= 1 && stride <= seq_len, "eval: --stride ", stride, " must be in [1, seq_len = ",
                seq_len, "]");
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  const int64_t total = shards.total_tokens();
  // Windows that share a length are batched; the last, shorter window runs alone.
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + 1 < total; s += stride) {
    starts.push_back(s);
    if (s + seq_len + 1 >= total) break;
  }
  int64_t scored_until = 1;  // targets before this global position were already scored
  for (size_t i = 0; i < starts.size();) {
    const int64_t T = std::min(seq_len, total - 1 - starts[i]);
    std::vector<int64_t> group;
    while (i < starts.size() && int64_t(group.size()) < micro_batch && std::min(seq_len, total - 1 - starts[i]) == T)
      group.push_back(starts[i++]);
    const int64_t B = int64_t(group.size());
    std::vector<double> inputs, targets;
    int64_t scored = 0;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> w = shards.read(group[b], T + 1).to_vector();
      for (int64_t t = 0; t < T; ++t) {
        inputs.push_back(w[t]);
        // Target of position t is global token group[b] + t + 1.
        const bool fresh = group[b] + t + 1 >= scored_until;
        targets.push_back(fresh ? w[t + 1] : -100.0);
        scored += fresh;
      }
      scored_until = group[b] + T + 1;
    }
    const double loss = model.loss(Tensor::from_vector(inputs, {B, T}, DType::i64, device),
                                   Tensor::from_vector(targets, {B, T}, DType::i64, device))
                            .data()
                            .item();
    r.add_batch(loss, scored);
  }
  return r;
}

}  // namespace linea

namespace linea {

EvalResult evaluate_mlm(Encoder& model, const MlmDataset& data, int64_t max_batches, int64_t micro_batch,
                        EvalShard shard) {
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  r.partial = shard.world > 1;
  for_each_eval_batch(data.num_examples(), max_batches, micro_batch, shard, [&](const std::vector<int64_t>& idx) {
    MlmBatch batch = data.get_batch(idx, 0);
    const EncoderRows rows = encoder_rows({batch.input_ids, batch.attention_mask, Tensor()}, model.config().unpad);
    Encoder::MlmOutput out = model.mlm(rows, batch.labels);
    const int64_t m = out.targets.numel();
    if (m == 0) return;
    Tensor argmax;
    kernels::reduce(ReduceOp::max, out.logits, {1}, false, &argmax);
    const std::vector<double> pred = argmax.to_vector(), want = out.targets.to_vector();
    int64_t correct = 0;
    for (int64_t i = 0; i < m; ++i) correct += pred[size_t(i)] == want[size_t(i)];
    r.add_batch(out.loss.data().item(), m, correct);
  });
  return r;
}

}  // namespace linea
