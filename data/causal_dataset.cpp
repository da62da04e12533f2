// PackedCausalDataset: window bookkeeping and batch assembly from TokenShards range reads.
#include "data/causal_dataset.h"

#include <cstring>

#include "core/error.h"

namespace linea {

void check_windows_are_examples(const TokenShards& shards, int64_t seq_len, int64_t stride, const std::string& where) {
  const int64_t L = shards.example_tokens();
  if (L == 0) return;
  LINEA_CHECK_T(ConfigError, seq_len == L && stride == L, where, ": windows of seq_len ", seq_len, " every ", stride,
                " tokens do not fit the ", L, "-token examples of the synthetic ", shards.synthetic_task(),
                " shards in ", shards.dir(), ", expected seq_len ", L, " and stride ", L, " (one window per example)");
}

PackedCausalDataset::PackedCausalDataset(TokenShards shards, int64_t seq_len, bool mask_document_boundaries)
    : shards_(std::move(shards)), seq_len_(seq_len), mask_document_boundaries_(mask_document_boundaries),
      num_examples_(0) {
  LINEA_CHECK_T(ConfigError, seq_len >= 1, "seq_len ", seq_len, ", expected >= 1");
  check_windows_are_examples(shards_, seq_len, seq_len, "causal dataset");
  const int64_t total = shards_.total_tokens();
  LINEA_CHECK_T(DataError, total >= seq_len + 1, shards_.dir(), ": ", total,
                " tokens are fewer than one window of seq_len + 1 = ", seq_len + 1);
  num_examples_ = (total - 1) / seq_len;
  if (mask_document_boundaries_) shards_.num_documents();  // DataError now when the shards have no boundaries
}

CausalBatch PackedCausalDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t B = int64_t(indices.size()), T = seq_len_;
  CausalBatch batch{Tensor::empty({B, T}, DType::i64), Tensor::empty({B, T}, DType::i64)};
  int64_t* inputs = batch.inputs.data<int64_t>();
  int64_t* targets = batch.targets.data<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = indices[size_t(b)];
    LINEA_CHECK_T(DataError, i >= 0 && i < num_examples_, "example index ", i, " is outside the ", num_examples_,
                  " windows of seq_len ", T, " in ", shards_.dir());
    Tensor window = shards_.read(i * T, T + 1);
    const int64_t* w = window.data<int64_t>();
    std::memcpy(inputs + b * T, w, size_t(T) * sizeof(int64_t));
    std::memcpy(targets + b * T, w + 1, size_t(T) * sizeof(int64_t));
    if (shards_.has_loss_mask()) {  // prompt tokens are read but never targets
      const Tensor mask = shards_.read_loss_mask(i * T + 1, T);
      for (int64_t t = 0; t < T; ++t)
        if (mask.data<int64_t>()[t] == 0) targets[b * T + t] = kIgnoreTarget;
    }
    if (!mask_document_boundaries_) continue;
    // Targets sit at stream positions i*T + 1 ... i*T + T; mask those where a document starts.
    const int64_t first = i * T + 1, last = i * T + T;
    for (int64_t d = shards_.document_at(first - 1) + 1; d < shards_.num_documents(); ++d) {
      const int64_t start = shards_.document(d).first;
      if (start > last) break;
      targets[b * T + (start - first)] = kIgnoreTarget;
    }
  }
  return batch;
}

}  // namespace linea
