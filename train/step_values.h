// The named values a training step's micro-batches report besides the loss (auxiliary
// losses, metrics such as an MoE router's load): summed as they arrive, then averaged over
// the micro-batches and over the ranks, so the log shows the global batch's mean as it
// does for the loss.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/dist/communicator.h"

namespace linea {

using NamedValues = std::vector<std::pair<std::string, double>>;

class StepValues {
 public:
  // One micro-batch's values. Every micro-batch of a step reports the same names in the
  // same order: InternalError naming both lists otherwise.
  void add(const NamedValues& values);
  // The means over the added micro-batches, then over the ranks of `comm` (every rank added
  // as many), in the order reported; empties this for the next step. With several ranks it
  // is a collective (one per name) every rank calls with the same names.
  NamedValues take_mean(Communicator& comm);

 private:
  NamedValues sums_;
  int64_t count_ = 0;
};

}  // namespace linea
