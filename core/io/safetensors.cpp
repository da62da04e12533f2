#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace linea {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A header larger than this is a damaged length field, not a real checkpoint (Hugging Face's
// own reader refuses headers over 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// The stored dtype names linea can load, and what each becomes in memory.
bool stored_dtype(const std::string& name, DType* out) {
  static const std::map<std::string, DType> kTypes = {{"F32", DType::f32}, {"F64", DType::f64}, {"BF16", DType::bf16},
                                                      {"F16", DType::f16}, {"I64", DType::i64}, {"I32", DType::i32},
                                                      {"U8", DType::u8},   {"BOOL", DType::u8}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return false;
  *out = it->second;
  return true;
}

const char* stored_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    default:
      throw ConfigError(str_cat("safetensors: cannot write dtype ", dtype_name(t), ", expected f32, bf16 or f16"));
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw CheckpointError(str_cat(path, ": ", what));
}

uint64_t as_u64(const json& j, const std::string& path, const std::string& what) {
  if (!j.is_number_unsigned()) fail(path, str_cat(what, " is ", j.dump(), ", expected a non-negative integer"));
  return j.get<uint64_t>();
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  static_assert(sizeof(void*) == 8, "safetensors offsets are 64-bit");
  SafetensorsFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, "cannot stat");
  }
  f.size_ = size_t(st.st_size);
  if (f.size_ < 8) {
    ::close(fd);
    fail(path, str_cat("not a safetensors file or truncated: ", f.size_, " bytes, expected at least the 8-byte header length"));
  }
  void* map = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) fail(path, str_cat("cannot memory-map: ", std::strerror(errno)));
  f.map_ = static_cast<const uint8_t*>(map);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | f.map_[i];  // little-endian
  if (header_len > kMaxHeaderBytes || header_len > f.size_ - 8)
    fail(path, str_cat("not a safetensors file or truncated: header length ", header_len, " with ", f.size_ - 8,
                       " bytes after it"));
  f.data_start_ = 8 + size_t(header_len);
  const json header = json::parse(f.map_ + 8, f.map_ + f.data_start_, nullptr, false);
  if (header.is_discarded() || !header.is_object()) fail(path, "not a safetensors file: its header is not a JSON object");

  const uint64_t data_bytes = f.size_ - f.data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(path, "__metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m)
        f.metadata_[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
      continue;
    }
    const std::string what = str_cat("tensor ", it.key());
    const json& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail(path, str_cat(what, ": expected {dtype, shape, data_offsets}, got ", e.dump()));
    SafetensorsEntry entry;
    entry.name = it.key();
    if (!e["dtype"].is_string()) fail(path, str_cat(what, ": dtype is not a string"));
    entry.dtype = e["dtype"].get<std::string>();
    if (!e["shape"].is_array()) fail(path, str_cat(what, ": shape is not a list"));
    for (const json& d : e["shape"]) entry.shape.push_back(int64_t(as_u64(d, path, what + " shape entry")));
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2) fail(path, str_cat(what, ": data_offsets is not [begin, end]"));
    entry.begin = as_u64(off[0], path, what + " begin");
    entry.end = as_u64(off[1], path, what + " end");
    if (entry.begin > entry.end) fail(path, str_cat(what, ": data_offsets [", entry.begin, ", ", entry.end, "] run backwards"));
    if (entry.end > data_bytes)
      fail(path, str_cat("truncated: ", what, " ends at byte ", entry.end, " of the data, which holds ", data_bytes,
                         " bytes"));
    DType dt;
    if (stored_dtype(entry.dtype, &dt)) {
      const uint64_t want = uint64_t(shape_numel(entry.shape)) * dtype_size(dt);
      if (entry.end - entry.begin != want)
        fail(path, str_cat(what, ": ", entry.end - entry.begin, " bytes for ", entry.dtype, " shape ",
                           shape_str(entry.shape), ", expected ", want));
    }
    f.index_[entry.name] = f.entries_.size();
    f.entries_.push_back(std::move(entry));
  }
  // No two tensors may share bytes (a damaged or hand-made header could alias them).
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : f.entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin != by_offset[i]->end)
      fail(path, str_cat("tensors ", by_offset[i - 1]->name, " and ", by_offset[i]->name, " overlap"));
  std::sort(f.entries_.begin(), f.entries_.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < f.entries_.size(); ++i) f.index_[f.entries_[i].name] = i;
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
    path_ = std::move(o.path_);
    map_ = o.map_;
    size_ = o.size_;
    data_start_ = o.data_start_;
    entries_ = std::move(o.entries_);
    index_ = std::move(o.index_);
    metadata_ = std::move(o.metadata_);
    o.map_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Tensor SafetensorsFile::read(const std::string& name, DType to) const {
  const SafetensorsEntry* e = find(name);
  if (!e) fail(path_, str_cat("no tensor named ", name));
  DType stored;
  if (!stored_dtype(e->dtype, &stored))
    fail(path_, str_cat("tensor ", name, " has dtype ", e->dtype, ", expected F32, F64, BF16, F16, I64, I32 or U8"));
  Tensor raw = Tensor::empty(e->shape, stored);
  if (raw.nbytes() > 0) std::memcpy(raw.data_ptr(), map_ + data_start_ + e->begin, raw.nbytes());
  return stored == to ? raw : raw.to(to);
}

SafetensorsSet SafetensorsSet::open_folder(const std::string& folder) {
  SafetensorsSet set;
  const fs::path dir(folder);
  const fs::path index = dir / "model.safetensors.index.json";
  if (!fs::exists(index)) {
    const fs::path single = dir / "model.safetensors";
    if (!fs::exists(single))
      throw CheckpointError(str_cat(folder, ": no model.safetensors or model.safetensors.index.json"));
    set.describe_ = single.string();
    set.files_.push_back(SafetensorsFile::open(single.string()));
    for (const auto& e : set.files_[0].entries()) set.file_of_[e.name] = 0;
    return set;
  }
  set.describe_ = index.string();
  std::ifstream in(index);
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail(index.string(), "expected a JSON object with a weight_map {tensor: file}");
  std::map<std::string, size_t> opened;  // shard file -> index into files_
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it->is_string()) fail(index.string(), str_cat("weight_map[", it.key(), "] is not a file name"));
    const std::string shard = it->get<std::string>();
    if (shard.find('/') != std::string::npos || shard.empty() || shard[0] == '.')
      fail(index.string(), str_cat("weight_map[", it.key(), "] = ", shard, ", expected a file name in the folder"));
    auto o = opened.find(shard);
    if (o == opened.end()) {
      o = opened.emplace(shard, set.files_.size()).first;
      set.files_.push_back(SafetensorsFile::open((dir / shard).string()));
    }
    if (!set.files_[o->second].find(it.key()))
      fail(index.string(), str_cat("weight_map puts ", it.key(), " in ", shard, ", which does not hold it"));
    set.file_of_[it.key()] = o->second;
  }
  return set;
}

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : file_of_) out.push_back(name);
  return out;
}

const SafetensorsEntry* SafetensorsSet::find(const std::string& name) const {
  auto it = file_of_.find(name);
  return it == file_of_.end() ? nullptr : files_[it->second].find(name);
}

Tensor SafetensorsSet::read(const std::string& name, DType to) const {
  auto it = file_of_.find(name);
  if (it == file_of_.end()) throw CheckpointError(str_cat(describe_, ": no tensor named ", name));
  return files_[it->second].read(name, to);
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata, const std::set<std::string>& full_precision) {
  std::vector<Tensor> data;
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LINEA_CHECK_T(ConfigError, name != "__metadata__" && !header.contains(name), "write_safetensors ", path,
                  ": tensor name ", name, " is reserved or repeated");
    const DType as = full_precision.count(name) ? DType::f32 : dtype;
    data.push_back(t.to(Device::cpu(), as).contiguous());
    const uint64_t bytes = data.back().nbytes();
    header[name] = {{"dtype", stored_name(as)}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw CheckpointError(str_cat(tmp, ": cannot create"));
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const Tensor& t : data) out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.nbytes()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw CheckpointError(str_cat(tmp, ": write failed"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw CheckpointError(str_cat(path, ": rename from ", tmp, " failed"));
  }
}

}  // namespace linea
