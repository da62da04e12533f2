#include "train/step_values.h"

#include "core/error.h"

namespace linea {
namespace {
std::string names_of(const NamedValues& values) {
  std::string s;
  for (const auto& [name, v] : values) s += (s.empty() ? "" : ", ") + name;
  return "[" + s + "]";
}
}  // namespace

void StepValues::add(const NamedValues& values) {
  if (count_++ == 0) {
    sums_ = values;
    return;
  }
  bool same = values.size() == sums_.size();
  for (size_t i = 0; same && i < values.size(); ++i) same = values[i].first == sums_[i].first;
  LINEA_CHECK_T(InternalError, same, "a micro-batch reported the values ", names_of(values), ", an earlier one of ",
                "the same step ", names_of(sums_), "; expected the same names in every micro-batch");
  for (size_t i = 0; i < values.size(); ++i) sums_[i].second += values[i].second;
}

NamedValues StepValues::take_mean(Communicator& comm) {
  NamedValues means = std::move(sums_);
  for (auto& [name, v] : means) v = comm.all_reduce_value(v / double(count_), ReduceOp::mean);
  sums_.clear();
  count_ = 0;
  return means;
}

}  // namespace linea
