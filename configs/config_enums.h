// The YAML spellings of every config enum, in declaration order (value i is names[i]),
// so the reader, the writer and error messages share one table per enum.
#pragma once
#include <string>
#include <vector>

#include "configs/config.h"

namespace linea {

using EnumNames = std::vector<std::string>;
// The argument only selects the table.
const EnumNames& enum_names(ModelKind);
const EnumNames& enum_names(FfnKind);
const EnumNames& enum_names(Activation);
const EnumNames& enum_names(BlockScores);
const EnumNames& enum_names(WindowLayout);
const EnumNames& enum_names(FeatureMapKind);
const EnumNames& enum_names(KdaDecay);
const EnumNames& enum_names(OutputGateRank);
const EnumNames& enum_names(OutputGateActivation);
const EnumNames& enum_names(NormKind);
const EnumNames& enum_names(NormPosition);
const EnumNames& enum_names(AbsolutePositions);
const EnumNames& enum_names(AttentionKind);
const EnumNames& enum_names(PositionKind);
const EnumNames& enum_names(Objective);
const EnumNames& enum_names(OptimKind);
const EnumNames& enum_names(ScheduleKind);
const EnumNames& enum_names(Precision);
const EnumNames& enum_names(DistBackend);

}  // namespace linea
