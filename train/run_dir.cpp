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

RunDir::RunDir(std::string path) : path_(std::move(path)) {
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
  for (const auto& e : fs::directory_iterator(path_ + "/checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0 && e.path().extension() == ".h5") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // zero-padded step numbers sort in step order
  return out;
}

std::string RunDir::latest() const {
  std::ifstream in(file("latest"));
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return "";
  return path_ + "/" + name;
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
  fsync_path(fs::path(path).parent_path().string());
}

}  // namespace linea
