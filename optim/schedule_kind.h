// The learning-rate schedule kinds, shared by optim/schedule.h and the recipe structs in
// configs/ so a recipe's `schedule.kind` is the optimizer library's own enum.
#pragma once
#include <cstdint>

namespace linea {

enum class ScheduleKind : uint8_t { constant, linear, cosine, wsd, plateau };

}  // namespace linea
