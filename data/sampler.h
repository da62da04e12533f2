// Sampler: deterministic epoch permutations from (seed, epoch) via Philox, split by rank
// into strided shares of each global batch, with a resumable (epoch, cursor) position.
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
  std::vector<int64_t> next(int64_t global_batch);

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
