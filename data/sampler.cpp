// Sampler: the Philox-driven Fisher-Yates shuffle (golden orders are fixed forever, since
// checkpoints resume by epoch and cursor) and the per-rank batch stepping.
#include "data/sampler.h"

#include <numeric>
#include <utility>

#include "core/error.h"
#include "core/philox.h"

namespace linea {

Sampler::Sampler(int64_t num_examples, uint64_t seed, int rank, int world, bool shuffle)
    : num_examples_(num_examples), seed_(seed), rank_(rank), world_(world), shuffle_(shuffle) {
  LINEA_CHECK_T(ConfigError, num_examples >= 1, "sampler: num_examples ", num_examples, ", expected >= 1");
  LINEA_CHECK_T(ConfigError, world >= 1 && rank >= 0 && rank < world, "sampler: rank ", rank, " of world ", world,
                ", expected 0 <= rank < world");
}

std::vector<int64_t> Sampler::permutation(int64_t epoch) const {
  LINEA_CHECK_T(ConfigError, epoch >= 0, "sampler: epoch ", epoch, ", expected >= 0");
  const int64_t n = num_examples_;
  std::vector<int64_t> p(size_t(n), 0);
  std::iota(p.begin(), p.end(), int64_t(0));
  if (!shuffle_) return p;
  const uint64_t offset = uint64_t(epoch) << 40;
  // Step s swaps position i = n-1-s with j uniform in [0, i], from the 64-bit draw made of
  // Philox words 2s (high half) and 2s+1 (low half).
  for (int64_t i = n - 1; i >= 1; --i) {
    const uint64_t s = uint64_t(n - 1 - i);
    const uint64_t draw = uint64_t(Philox4x32::word(seed_, offset, 2 * s)) << 32 |
                          uint64_t(Philox4x32::word(seed_, offset, 2 * s + 1));
    const int64_t j = int64_t(draw % uint64_t(i + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

std::vector<int64_t> Sampler::next(int64_t global_batch) {
  LINEA_CHECK_T(ConfigError, global_batch >= 1 && global_batch % world_ == 0, "sampler: global batch ", global_batch,
                ", expected a positive multiple of the world size ", world_);
  LINEA_CHECK_T(ConfigError, global_batch <= num_examples_, "sampler: global batch ", global_batch,
                " is larger than the ", num_examples_, " examples");
  if (state_.cursor + global_batch > num_examples_) state_ = {state_.epoch + 1, 0};
  if (cached_epoch_ != state_.epoch) {
    cached_ = permutation(state_.epoch);
    cached_epoch_ = state_.epoch;
  }
  std::vector<int64_t> mine;
  mine.reserve(size_t(global_batch / world_));
  for (int64_t k = rank_; k < global_batch; k += world_) mine.push_back(cached_[size_t(state_.cursor + k)]);
  state_.cursor += global_batch;
  return mine;
}

void Sampler::set_state(const SamplerState& state) {
  LINEA_CHECK_T(ConfigError, state.epoch >= 0 && state.cursor >= 0 && state.cursor <= num_examples_,
                "sampler: state epoch ", state.epoch, " cursor ", state.cursor, " is outside an epoch of ",
                num_examples_, " examples");
  state_ = state;
}

}  // namespace linea
