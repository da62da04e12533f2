// The training loop behind `linea train`: builds model, optimizer, schedule and data from
// a recipe, optionally resumes, then runs forward / backward / clip / step with logging,
// periodic validation, atomic checkpoints and a clean stop on SIGINT/SIGTERM.
#pragma once
#include <string>
#include <vector>

namespace linea {

struct TrainCommand {
  std::string recipe;
  std::vector<std::string> overrides;  // "a.b=v"
  std::string run_dir;                 // default: runs/<recipe file stem>
  std::string resume;                  // "", "auto" (latest in run_dir, if any) or a checkpoint path
  bool progress = true;                // the one-line progress display on stderr
};

// Returns the process exit code (0 also after a requested stop).
int run_train(const TrainCommand& cmd);

}  // namespace linea
