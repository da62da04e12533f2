// `linea train --resume auto`: continue from the newest checkpoint of the run directory that
// loads intact, so that a damaged checkpoint is named and skipped, never trained from.
#pragma once
#include <functional>
#include <string>

#include "train/run_dir.h"

namespace linea {

// Calls `load` on the checkpoint `latest` names, then on the older ones newest first, until
// one loads. A load that throws CheckpointError is checked with verify_checkpoint: damage
// (named on stderr when `report`) moves on to the next, anything else is rethrown. `load`
// must leave nothing of a failed attempt behind once a later one succeeds (every read is
// verified, so a load that returns read only intact data). Returns the checkpoint loaded, ""
// when none was written yet; CheckpointError when every one is damaged.
std::string load_newest_intact(const RunDir& run, const std::function<void(const std::string&)>& load, bool report);

}  // namespace linea
