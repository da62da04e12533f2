// Learning-rate schedules (constant, linear, cosine, warmup-stable-decay, reduce-on-plateau),
// all with linear warmup from 0; plateau's few doubles of state go into checkpoints.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "optim/schedule_kind.h"

namespace linea {

// The YAML spellings; train/ maps configs' ScheduleConfig::Kind onto this by name.
const char* schedule_kind_name(ScheduleKind kind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::cosine;
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;     // linear, cosine, wsd: lr reaches min_lr_ratio * base_lr here
  double min_lr_ratio = 0.1;   // also plateau's floor
  int64_t decay_steps = 0;     // wsd: length of the final linear decay
  int64_t plateau_patience = 3;
  double plateau_factor = 0.5;
};

// lr_at(step): for step < warmup_steps, base_lr * step / warmup_steps (0 at step 0); then
//   constant: base_lr
//   linear/cosine: from base_lr to min_lr_ratio * base_lr at total_steps (flat after)
//   wsd: base_lr until total_steps - decay_steps, then linear to min_lr_ratio * base_lr
//   plateau: base_lr * scale, where observe() multiplies scale by plateau_factor after
//            plateau_patience evaluations in a row without a strictly lower loss (floor:
//            min_lr_ratio).
// Options are checked on construction (ConfigError).
class LrSchedule {
 public:
  explicit LrSchedule(ScheduleOptions options);
  double lr_at(int64_t step) const;
  // Records one validation loss; a no-op for kinds other than plateau. NaN counts as no improvement.
  void observe(double valid_loss);
  // {scale, best loss, evaluations without improvement}; set_state throws CheckpointError
  // for a vector of the wrong length.
  std::vector<double> state() const;
  void set_state(const std::vector<double>& state);
  const ScheduleOptions& options() const { return options_; }

 private:
  ScheduleOptions options_;
  double scale_ = 1.0;
  double best_loss_;
  int64_t bad_evaluations_ = 0;
};

}  // namespace linea
