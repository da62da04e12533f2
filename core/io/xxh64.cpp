// XXH64 as specified in xxHash's xxhash_spec.md: four 64-bit lanes over 32-byte stripes,
// then the remaining bytes and an avalanche. Reads are little-endian (linea's files are).
#include "core/io/xxh64.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace linea {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "xxh64 reads words in host order, which must be little-endian");

constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL,
                   P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t lane_round(uint64_t acc, uint64_t input) { return rotl(acc + input * P2, 31) * P1; }
inline uint64_t merge_round(uint64_t h, uint64_t acc) { return (h ^ lane_round(0, acc)) * P1 + P4; }

// Consumes whole 32-byte stripes from p; returns where it stopped.
const unsigned char* stripes(uint64_t acc[4], const unsigned char* p, const unsigned char* end) {
  uint64_t a = acc[0], b = acc[1], c = acc[2], d = acc[3];
  for (; end - p >= 32; p += 32) {
    a = lane_round(a, load64(p));
    b = lane_round(b, load64(p + 8));
    c = lane_round(c, load64(p + 16));
    d = lane_round(d, load64(p + 24));
  }
  acc[0] = a, acc[1] = b, acc[2] = c, acc[3] = d;
  return p;
}

}  // namespace

void Xxh64::update(const void* data, size_t bytes) {
  if (bytes == 0) return;  // data may be null then
  const unsigned char* p = static_cast<const unsigned char*>(data);
  const unsigned char* end = p + bytes;
  total_ += bytes;
  if (tail_bytes_ > 0) {  // complete the pending stripe first
    const size_t take = std::min(bytes, sizeof tail_ - tail_bytes_);
    std::memcpy(tail_ + tail_bytes_, p, take);
    tail_bytes_ += take;
    p += take;
    if (tail_bytes_ < sizeof tail_) return;
    stripes(acc_, tail_, tail_ + sizeof tail_);
    tail_bytes_ = 0;
  }
  p = stripes(acc_, p, end);
  tail_bytes_ = size_t(end - p);
  std::memcpy(tail_, p, tail_bytes_);
}

uint64_t Xxh64::digest() const {
  uint64_t h;
  if (total_ >= 32) {
    h = rotl(acc_[0], 1) + rotl(acc_[1], 7) + rotl(acc_[2], 12) + rotl(acc_[3], 18);
    for (uint64_t acc : acc_) h = merge_round(h, acc);
  } else {
    h = acc_[2] + P5;  // acc_[2] holds the seed
  }
  h += total_;
  const unsigned char *p = tail_, *end = tail_ + tail_bytes_;
  for (; end - p >= 8; p += 8) h = rotl(h ^ lane_round(0, load64(p)), 27) * P1 + P4;
  if (end - p >= 4) {
    h = rotl(h ^ (uint64_t(load32(p)) * P1), 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; ++p) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

uint64_t xxh64(const void* data, size_t bytes) {
  Xxh64 h;
  h.update(data, bytes);
  return h.digest();
}

std::string xxh64_hex(uint64_t digest) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(digest));
  return text;
}

}  // namespace linea
