#include "train/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace linea {

void RunDir::create() const {
  std::error_code ec;
  fs::create_directories(path_ + "/checkpoints", ec);
  if (ec) throw Error(str_cat(path_, ": cannot create the run directory: ", ec.message()));
}

std::string RunDir::checkpoint_path(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof name, "step_%07ld.h5", long(step));
  return path_ + "/checkpoints/" + name;
}

std::vector<std::string> RunDir::checkpoints() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(path_ + "/checkpoints", ec)) return out;
  for (const auto& e : fs::directory_iterator(path_ + "/checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0 && e.path().extension() == ".h5") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // zero-padded step numbers sort in step order
  return out;
}

namespace {
// The checkpoint a `latest` file names (relative to its folder), or "" without one.
std::string read_latest(const fs::path& latest) {
  std::ifstream in(latest);
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return "";
  return (latest.parent_path() / name).string();
}
}  // namespace

std::string RunDir::latest() const { return read_latest(file("latest")); }

std::string resolve_checkpoint(const std::string& path) {
  std::error_code ec;
  const bool dir = fs::is_directory(path, ec);
  if (!dir && fs::path(path).filename() != "latest") return path;
  const fs::path latest = dir ? fs::path(path) / "latest" : fs::path(path);
  const std::string named = read_latest(latest);
  if (named.empty()) {
    if (dir && fs::is_directory(fs::path(path) / "checkpoints", ec))
      throw CheckpointError(str_cat(path, ": the run directory has no checkpoint yet (no `latest` file)"));
    throw CheckpointError(str_cat(path, dir ? ": a directory" : ": an empty `latest` file",
                                  ", expected a checkpoint .h5, a run directory or its `latest` file"));
  }
  if (!fs::is_regular_file(named, ec))
    throw CheckpointError(str_cat(latest.string(), " names ", named, ", which does not exist"));
  return named;
}

void RunDir::set_latest(const std::string& checkpoint) {
  std::string rel = fs::relative(checkpoint, path_).string();
  write_file_atomically(file("latest"), rel + "\n");
}

void RunDir::prune(int keep) const {
  std::vector<std::string> all = checkpoints();
  const std::string newest = latest();
  for (size_t i = 0; i + size_t(keep) < all.size(); ++i)
    if (newest.empty() || !fs::equivalent(all[i], newest)) fs::remove(all[i]);
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(str_cat(path, ": cannot open for fsync"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(str_cat(path, ": fsync failed"));
}

void check_output_folder(const std::string& what, const std::string& path) {
  const fs::path folder = fs::path(path).parent_path();
  LINEA_CHECK_T(ConfigError, folder.empty() || fs::is_directory(folder), what, " ", path,
                ": folder not found, expected an existing folder");
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw Error(str_cat(tmp, ": write failed"));
  }
  fsync_path(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(str_cat(path, ": rename from ", tmp, " failed"));
  const fs::path folder = fs::path(path).parent_path();
  fsync_path(folder.empty() ? "." : folder.string());  // a bare file name lives in the working folder
}

}  // namespace linea
