// SHA-256 (FIPS 180-4): incremental hashing, one-shot hex digests of strings and files,
// used to record the provenance of token shards (tokenizer and source checksums).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace linea {

class Sha256 {
 public:
  // The x86 SHA extensions are used where the CPU has them (about 10x faster than the portable
  // code, which matters for hashing prepare's sources), unless allow_sha_extensions is false.
  explicit Sha256(bool allow_sha_extensions = true);
  static bool sha_extensions_available();
  void update(const void* data, size_t size);
  void update(const std::string& bytes) { update(bytes.data(), bytes.size()); }
  // Lowercase hex of the digest; finishes the hash (call once).
  std::string hex_digest();

 private:
  // Compresses `blocks` consecutive 64-byte blocks into state_.
  void compress(const uint8_t* data, size_t blocks);

  uint32_t state_[8];
  bool sha_ni_;
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const std::string& bytes);
// The digest of a file's bytes; DataError "cannot read file: <path>" when it can't be read.
std::string sha256_file(const std::string& path);

}  // namespace linea
