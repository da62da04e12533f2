// Damage done to files on purpose, for the tests of checksums and of resuming past a
// damaged checkpoint: flipping bytes in place, and finding where a tensor's bytes lie.
#pragma once
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace linea::testing {

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Inverts `count` bytes of the file from `offset` on.
inline void flip_bytes(const std::string& path, size_t offset, size_t count = 1) {
  std::string bytes = file_bytes(path);
  if (offset + count > bytes.size()) throw std::logic_error("flip_bytes past the end of " + path);
  for (size_t i = offset; i < offset + count; ++i) bytes[i] = char(~bytes[i]);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Where `size` bytes at `data` (a tensor's contents, a string) first occur in the file.
inline size_t offset_of(const std::string& path, const void* data, size_t size) {
  const size_t at = file_bytes(path).find(std::string(static_cast<const char*>(data), size));
  if (at == std::string::npos) throw std::logic_error("bytes not found in " + path);
  return at;
}
inline size_t offset_of(const std::string& path, const std::string& text) {
  return offset_of(path, text.data(), text.size());
}

}  // namespace linea::testing
