// safetensors, Hugging Face's tensor file: an 8-byte little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes (offsets count from the end of the header).
//
// SafetensorsFile reads one file memory-mapped: opening parses and checks the header against
// the file's size (a truncated download or an overlapping entry is an error naming the file
// and the tensor), and `read` copies one tensor out, converted to f32 or f64. Sharded
// checkpoints (model.safetensors.index.json) are SafetensorsSet: the index's weight_map says
// which file holds which tensor. Every failure is a CheckpointError naming the file.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace linea {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as stored: "F32", "BF16", "F16", "F64", "I64", ...
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // in file order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;
  // The tensor `name` as a contiguous CPU tensor of `to` (f32 or f64). Float sources F32,
  // F64, BF16 and F16 convert exactly into f32 (except F64, which rounds) and f64.
  Tensor read(const std::string& name, DType to) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;  // the whole file
  size_t size_ = 0;
  size_t data_start_ = 0;  // 8 + header length
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A folder's tensors: model.safetensors.index.json when present (every file its weight_map
// names is opened, and each must hold what the map says), else model.safetensors.
class SafetensorsSet {
 public:
  static SafetensorsSet open_folder(const std::string& folder);
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  const SafetensorsEntry* find(const std::string& name) const;
  Tensor read(const std::string& name, DType to) const;
  const std::string& describe() const { return describe_; }  // "<folder>/model.safetensors" or the index

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> file_of_;  // tensor name -> index into files_
  std::string describe_;
};

// Writes `tensors` (any dtype/device/layout; stored as `dtype`: f32, bf16 or f16, rounded to
// nearest even) with the given metadata, in the given order, to `path` through a temporary
// file renamed into place. The header is padded with spaces to a multiple of 8 bytes, so
// every tensor's data is 8-byte aligned in the file (as Hugging Face's writer does). Tensors
// named in `full_precision` are stored as f32 whatever `dtype` is.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       DType dtype, const std::map<std::string, std::string>& metadata = {},
                       const std::set<std::string>& full_precision = {});

}  // namespace linea
