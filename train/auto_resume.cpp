#include "train/auto_resume.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "train/checkpoint.h"

namespace linea {

std::string load_newest_intact(const RunDir& run, const std::function<void(const std::string&)>& load, bool report) {
  const std::string latest = run.latest();
  if (latest.empty()) return "";
  // `latest`, then the older checkpoints newest first (step numbers are zero-padded, so
  // names sort by step); a newer file than `latest` was never completed as the latest.
  std::vector<std::string> candidates = {latest};
  const std::string latest_name = std::filesystem::path(latest).filename().string();
  std::vector<std::string> older = run.checkpoints();
  std::reverse(older.begin(), older.end());
  for (const std::string& c : older)
    if (std::filesystem::path(c).filename().string() < latest_name) candidates.push_back(c);
  std::string first_damage;
  for (const std::string& c : candidates) {
    try {
      load(c);
      return c;
    } catch (const CheckpointError&) {
      // Only a complete check tells damage (skip it) from a checkpoint that does not fit.
      const H5File::VerifyReport r = verify_checkpoint(c);
      if (r.damaged.empty()) throw;
      if (first_damage.empty()) first_damage = r.damaged.front();
      if (report)
        std::fprintf(stderr,
                     "linea: warning: %s is damaged, not resuming from it (%zu damaged object(s), the first: %s)\n",
                     c.c_str(), r.damaged.size(), r.damaged.front().c_str());
    }
  }
  throw CheckpointError(str_cat(run.path(), ": all ", candidates.size(), " checkpoints are damaged (the newest: ",
                                first_damage, "), expected an intact one to resume from; start a new --run-dir"));
}

}  // namespace linea
