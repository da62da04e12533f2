#include "train/evaluate.h"

#include <algorithm>
#include <cstdio>
#include <cmath>

#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/views.h"
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
  if (r.target_accuracy) line += " | accuracy " + fixed(*r.target_accuracy, 4);
  if (r.example_accuracy) line += " | example accuracy " + fixed(*r.example_accuracy, 4);
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

void EvalResult::add_rows(const RowScores& rows, bool rows_are_examples) {
  int64_t correct = 0;
  for (size_t b = 0; b < rows.scored.size(); ++b) {
    correct += rows.correct[b];
    if (!rows_are_examples || rows.scored[b] == 0) continue;
    const double right = double(rows.correct[b]) / double(rows.scored[b]);
    example_accuracy = (example_accuracy.value_or(0) * double(examples) + right) / double(examples + 1);
    ++examples;
  }
  const int64_t scored = rows.total_scored();
  if (scored == 0) return;
  target_accuracy = (target_accuracy.value_or(0) * double(tokens) + double(correct)) / double(tokens + scored);
  add_batch(rows.mean_nll, scored);
}

int64_t RowScores::total_scored() const {
  int64_t n = 0;
  for (int64_t s : scored) n += s;
  return n;
}

RowScores score_rows(CausalLM& model, const Tensor& inputs, const Tensor& targets) {
  const int64_t B = inputs.shape()[0], T = inputs.shape()[1];
  const Variable logits = reshape(model.forward(inputs), {B * T, model.vocab_size()});
  RowScores s;
  s.mean_nll = cross_entropy(logits, targets.reshape({B * T}), kIgnoreTarget).data().item();
  Tensor argmax;
  kernels::reduce(ReduceOp::max, logits.data(), {1}, false, &argmax);
  const std::vector<double> predicted = argmax.to_vector(), wanted = targets.to_vector();
  s.scored.assign(static_cast<size_t>(B), 0);
  s.correct.assign(static_cast<size_t>(B), 0);
  for (int64_t i = 0; i < B * T; ++i) {
    if (wanted[size_t(i)] == double(kIgnoreTarget)) continue;
    ++s.scored[size_t(i / T)];
    s.correct[size_t(i / T)] += predicted[size_t(i)] == wanted[size_t(i)];
  }
  return s;
}

EvalResult evaluate_windows(CausalLM& model, const PackedCausalDataset& data, int64_t max_batches, int64_t micro_batch,
                            Device device, EvalShard shard) {
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  r.partial = shard.world > 1;
  const bool masked = data.shards().has_loss_mask(), rows_are_examples = data.shards().example_tokens() > 0;
  for_each_eval_batch(data.num_examples(), max_batches, micro_batch, shard, [&](const std::vector<int64_t>& idx) {
    CausalBatch batch = data.get_batch(idx);  // targets at document boundaries may be ignored
    const RowScores rows = score_rows(model, batch.inputs.to(device), batch.targets.to(device));
    if (masked) r.add_rows(rows, rows_are_examples);
    else r.add_batch(rows.mean_nll, rows.total_scored());
  });
  return r;
}

EvalResult evaluate_transfer(Decoder& model, const PackedCausalDataset& data, double mse_factor, double xent_factor,
                             int64_t max_batches, int64_t micro_batch, Device device, EvalShard shard) {
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  r.partial = shard.world > 1;
  r.language_model = false;
  for_each_eval_batch(data.num_examples(), max_batches, micro_batch, shard, [&](const std::vector<int64_t>& idx) {
    CausalBatch batch = data.get_batch(idx);
    r.add_batch(attention_transfer_loss(model, batch.inputs.to(device), mse_factor, xent_factor).loss.data().item(),
                batch.inputs.numel());
  });
  return r;
}

EvalResult evaluate_sliding(CausalLM& model, const TokenShards& shards, int64_t seq_len, int64_t stride,
                            int64_t micro_batch, Device device) {
  LINEA_CHECK_T(ConfigError, stride >= 1 && stride <= seq_len, "eval: --stride ", stride, " must be in [1, seq_len = ",
                seq_len, "]");
  check_windows_are_examples(shards, seq_len, stride, "eval");
  NoGradGuard ng;
  EvalModeGuard mode(model);
  EvalResult r;
  const int64_t total = shards.total_tokens();
  const bool masked = shards.has_loss_mask(), rows_are_examples = shards.example_tokens() > 0;
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
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> w = shards.read(group[b], T + 1).to_vector();
      const std::vector<double> mask = masked ? shards.read_loss_mask(group[b] + 1, T).to_vector() : std::vector<double>();
      for (int64_t t = 0; t < T; ++t) {
        inputs.push_back(w[t]);
        // Target of position t is global token group[b] + t + 1.
        const bool fresh = group[b] + t + 1 >= scored_until;
        const bool counts = fresh && (!masked || mask[size_t(t)] != 0);
        targets.push_back(counts ? w[t + 1] : double(kIgnoreTarget));
      }
      scored_until = group[b] + T + 1;
    }
    const RowScores rows = score_rows(model, Tensor::from_vector(inputs, {B, T}, DType::i64, device),
                                      Tensor::from_vector(targets, {B, T}, DType::i64, device));
    if (masked) r.add_rows(rows, rows_are_examples);
    else r.add_batch(rows.mean_nll, rows.total_scored());
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
