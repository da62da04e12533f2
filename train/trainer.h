// The training loop behind `linea train`: builds model, optimizer, schedule and data from
// a recipe, optionally resumes, then runs forward / backward / clip / step with logging,
// periodic validation, atomic checkpoints and a clean stop on SIGINT/SIGTERM.
//
// Console (stderr, rank 0): a start-up header (parameters, tokens per step, threads,
// device, run directory, resolved data paths, MFU peak), then a progress line per log step
// (unless no_progress), a line per evaluation and per saved checkpoint, and a summary.
// The run directory's config.yaml is the config of the latest start; a resume with another
// config keeps the previous one as config.until_step_NNNNNNN.yaml.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace linea {

struct TrainCommand {
  std::string recipe;                  // "": run_dir's config.yaml (with resume only)
  std::vector<std::string> overrides;  // "a.b=v"
  std::string run_dir;                 // default: runs/<recipe file stem>
  std::string resume;                  // "", "auto" (latest in run_dir, if any) or a checkpoint path
  bool no_progress = false;            // no per-step progress lines on stderr
  bool dry_run = false;                // print recipe, parameters, FLOPs/token and peak memory, then exit
};

// Returns the process exit code (0 also after a requested stop).
int run_train(const TrainCommand& cmd);

class TrainingObjective;
struct Config;
// What a run trains: the model, its data and its loss (train/objective.h).
using ObjectiveFactory = std::function<std::unique_ptr<TrainingObjective>(const Config&, Device, DType)>;
// run_train with another objective than make_objective's choice from data.objective (the
// trainer's tests use one that reports auxiliary losses and metrics).
int run_train(const TrainCommand& cmd, const ObjectiveFactory& make);

}  // namespace linea
