// XXH64 (xxHash's 64-bit hash, seed 0): the checksum H5File stores with every dataset it
// writes. Fast (about 15 GB/s on one core) and bit-identical to the reference library, so
// `xxhash.xxh64(dataset[()].tobytes())` in Python checks a linea file without linea.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace linea {

// The hash of a byte stream fed in pieces of any size: equal to xxh64 of their concatenation.
class Xxh64 {
 public:
  void update(const void* data, size_t bytes);
  uint64_t digest() const;

 private:
  uint64_t acc_[4] = {0x9E3779B185EBCA87ULL + 0xC2B2AE3D27D4EB4FULL, 0xC2B2AE3D27D4EB4FULL, 0,
                      0 - 0x9E3779B185EBCA87ULL};  // seed 0: seed + P1 + P2, seed + P2, seed, seed - P1
  uint64_t total_ = 0;       // bytes fed
  unsigned char tail_[32];   // bytes of an incomplete 32-byte stripe
  size_t tail_bytes_ = 0;
};

uint64_t xxh64(const void* data, size_t bytes);
// 16 lowercase hex digits, as xxhash's hexdigest() prints them.
std::string xxh64_hex(uint64_t digest);

}  // namespace linea
