// The run directory: config.yaml, metrics.jsonl, checkpoints/step_NNNNNNN.h5 and `latest`
// (a one-line file naming the newest complete checkpoint, replaced atomically).
#pragma once
#include <string>
#include <vector>

namespace linea {

class RunDir {
 public:
  // Names the folder; create() makes it, so a run refused at start leaves nothing behind.
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  void create() const;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string checkpoint_path(int64_t step) const;
  // Checkpoints present, oldest first (complete files only: temporaries are ignored); none
  // before create().
  std::vector<std::string> checkpoints() const;
  // The checkpoint `latest` names, or "" when none was written yet.
  std::string latest() const;
  void set_latest(const std::string& checkpoint);
  // Deletes all but the newest `keep` checkpoints (never the one `latest` names).
  void prune(int keep) const;

 private:
  std::string path_;
};

// What `linea eval|info` accept for a checkpoint: a checkpoint file, a run directory (its
// latest checkpoint) or a run directory's `latest` file. Returns the checkpoint file;
// CheckpointError for a directory without checkpoints or a `latest` naming a missing file.
std::string resolve_checkpoint(const std::string& path);

// Writes `content` to path via a temporary file, fsync and rename, so readers see the old
// or the new file, never a partial one.
void write_file_atomically(const std::string& path, const std::string& content);
// ConfigError "<what> <path>: folder not found, expected an existing folder" unless the folder
// an output file is to be written into exists; checked before the work whose result it holds.
void check_output_folder(const std::string& what, const std::string& path);
// fsyncs a file or directory by path (directory fsync makes a rename durable).
void fsync_path(const std::string& path);

}  // namespace linea
