#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace linea {

namespace {
constexpr const char* kNames[] = {"constant", "linear", "cosine", "wsd", "plateau"};
constexpr double kPi = 3.14159265358979323846;
}  // namespace

const char* schedule_kind_name(ScheduleKind kind) { return kNames[int(kind)]; }

LrSchedule::LrSchedule(ScheduleOptions options)
    : options_(options), best_loss_(std::numeric_limits<double>::infinity()) {
  const ScheduleOptions& o = options_;
  LINEA_CHECK_T(ConfigError, o.base_lr >= 0, "schedule: base_lr must be >= 0, got ", o.base_lr);
  LINEA_CHECK_T(ConfigError, o.warmup_steps >= 0, "schedule: warmup_steps must be >= 0, got ", o.warmup_steps);
  LINEA_CHECK_T(ConfigError, o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1, "schedule: min_lr_ratio must lie in [0, 1], got ",
                o.min_lr_ratio);
  const bool decays = o.kind == ScheduleKind::linear || o.kind == ScheduleKind::cosine || o.kind == ScheduleKind::wsd;
  LINEA_CHECK_T(ConfigError, !decays || o.total_steps > o.warmup_steps, "schedule ", schedule_kind_name(o.kind),
                ": total_steps (", o.total_steps, ") must exceed warmup_steps (", o.warmup_steps, ")");
  if (o.kind == ScheduleKind::wsd)
    LINEA_CHECK_T(ConfigError, o.decay_steps > 0 && o.decay_steps <= o.total_steps - o.warmup_steps,
                  "schedule wsd: decay_steps must lie in [1, total_steps - warmup_steps] = [1, ",
                  o.total_steps - o.warmup_steps, "], got ", o.decay_steps);
  if (o.kind == ScheduleKind::plateau) {
    LINEA_CHECK_T(ConfigError, o.plateau_patience >= 1, "schedule plateau: plateau_patience must be >= 1, got ",
                  o.plateau_patience);
    LINEA_CHECK_T(ConfigError, o.plateau_factor > 0 && o.plateau_factor < 1,
                  "schedule plateau: plateau_factor must lie in (0, 1), got ", o.plateau_factor);
  }
}

double LrSchedule::lr_at(int64_t step) const {
  const ScheduleOptions& o = options_;
  if (step < o.warmup_steps) return o.base_lr * double(std::max<int64_t>(step, 0)) / double(o.warmup_steps);
  const double min_lr = o.min_lr_ratio * o.base_lr;
  auto decay_from = [&](int64_t start, int64_t length) {  // fraction of the decay done, in [0, 1]
    return std::clamp(double(step - start) / double(length), 0.0, 1.0);
  };
  switch (o.kind) {
    case ScheduleKind::constant: return o.base_lr;
    case ScheduleKind::plateau: return o.base_lr * scale_;
    case ScheduleKind::linear: {
      const double t = decay_from(o.warmup_steps, o.total_steps - o.warmup_steps);
      return min_lr + (o.base_lr - min_lr) * (1.0 - t);
    }
    case ScheduleKind::cosine: {
      const double t = decay_from(o.warmup_steps, o.total_steps - o.warmup_steps);
      return min_lr + (o.base_lr - min_lr) * 0.5 * (1.0 + std::cos(kPi * t));
    }
    case ScheduleKind::wsd: {
      const double t = decay_from(o.total_steps - o.decay_steps, o.decay_steps);
      return min_lr + (o.base_lr - min_lr) * (1.0 - t);
    }
  }
  return o.base_lr;
}

void LrSchedule::observe(double valid_loss) {
  if (options_.kind != ScheduleKind::plateau) return;
  if (valid_loss < best_loss_) {
    best_loss_ = valid_loss;
    bad_evaluations_ = 0;
    return;
  }
  if (++bad_evaluations_ >= options_.plateau_patience) {
    scale_ = std::max(scale_ * options_.plateau_factor, options_.min_lr_ratio);
    bad_evaluations_ = 0;
  }
}

std::vector<double> LrSchedule::state() const { return {scale_, best_loss_, double(bad_evaluations_)}; }

void LrSchedule::set_state(const std::vector<double>& state) {
  LINEA_CHECK_T(CheckpointError, state.size() == 3, "schedule state: expected 3 values (scale, best loss, ",
                "evaluations without improvement), got ", state.size());
  scale_ = state[0];
  best_loss_ = state[1];
  bad_evaluations_ = int64_t(state[2]);
}

}  // namespace linea
