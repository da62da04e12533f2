// Sampler: deterministic epoch permutations from (seed, epoch) via Philox, split by rank
// into strided shares of each global batch, with a resumable (epoch, cursor) position.
//
// Changing the world size on resume is supported exactly: the permutation depends only on
// (seed, epoch, num_examples) and the cursor counts examples handed out to all ranks, so the
// saved state is the same on every rank and independent of the world size. A run resumed
// with any world size that divides the global batch sees the same global batches it would
// have seen, re-sliced among its ranks (tests/data/sampler_test.cpp). Changing the global
// batch size on resume continues from the same position in the epoch's permutation (nothing
// skipped or repeated within the epoch), but the later batches are of course grouped
// differently; changing the dataset (num_examples) is refused by set_state only when the
// cursor no longer fits, so callers should check the dataset is the same.
#pragma once
#include <cstdint>
#include <vector>

namespace linea {

struct SamplerState {
  int64_t epoch = 0;
  int64_t cursor = 0;  // examples of this epoch's permutation already handed out (all ranks)
  bool operator==(const SamplerState& o) const { return epoch == o.epoch && cursor == o.cursor; }
  bool operator!=(const SamplerState& o) const { return !(*this == o); }
};

class Sampler {
 public:
  // ConfigError for num_examples < 1 or a rank outside [0, world).
  Sampler(int64_t num_examples, uint64_t seed, int rank = 0, int world = 1, bool shuffle = true);

  // This rank's share of the next global batch: positions rank, rank + world, ... of the
  // batch within the epoch's permutation. An epoch's tail shorter than a batch is dropped.
  // ConfigError when global_batch is not a positive multiple of the world size (as when a
  // resumed run's world size does not divide the recipe's global batch).
  std::vector<int64_t> next(int64_t global_batch);

  // The same on every rank and for any world size (see above).
  SamplerState state() const { return state_; }
  void set_state(const SamplerState& state);  // ConfigError for a position outside an epoch
  int64_t num_examples() const { return num_examples_; }

  // Fisher-Yates over 0..n-1 driven by Philox keyed by the seed at offset epoch << 40
  // (the identity when shuffle is off).
  std::vector<int64_t> permutation(int64_t epoch) const;

 private:
  int64_t num_examples_;
  uint64_t seed_;
  int rank_, world_;
  bool shuffle_;
  SamplerState state_;
  int64_t cached_epoch_ = -1;  // the epoch whose permutation `cached_` holds
  std::vector<int64_t> cached_;
};

}  // namespace linea
