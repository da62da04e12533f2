// XXH64: digests equal to the reference xxHash library's (values from libxxhash 0.8.1), also
// when the bytes arrive in pieces of any size, and the hex form xxhash prints.
#include "core/io/xxh64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace linea;

namespace {

std::vector<unsigned char> pattern(size_t n) {
  std::vector<unsigned char> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>((i * 31 + 7) & 0xff);
  return bytes;
}

}  // namespace

TEST(Xxh64, MatchesTheReferenceLibrary) {
  EXPECT_EQ(xxh64("", 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxh64("abc", 3), 0x44bc2cf5ad770999ULL);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(xxh64(fox.data(), fox.size()), 0x0b242d361fda71bcULL);
  // Lengths around the 32-byte stripe, and a long input.
  EXPECT_EQ(xxh64(pattern(31).data(), 31), 0x4a74f3a1a39ad4a1ULL);
  EXPECT_EQ(xxh64(pattern(32).data(), 32), 0x8d57d6a4671cc43dULL);
  EXPECT_EQ(xxh64(pattern(100).data(), 100), 0xefa0ad2d3e70c151ULL);
  EXPECT_EQ(xxh64(pattern(1 << 20).data(), 1 << 20), 0x292cc494f5a2e5ecULL);
}

TEST(Xxh64, PiecesOfAnySizeGiveTheDigestOfTheWhole) {
  const std::vector<unsigned char> bytes = pattern(1000);
  for (size_t piece : {1, 3, 7, 31, 32, 33, 64, 999}) {
    Xxh64 h;
    for (size_t at = 0; at < bytes.size(); at += piece) h.update(bytes.data() + at, std::min(piece, bytes.size() - at));
    EXPECT_EQ(h.digest(), xxh64(bytes.data(), bytes.size())) << "pieces of " << piece;
  }
  Xxh64 empty;
  empty.update(nullptr, 0);
  EXPECT_EQ(empty.digest(), xxh64("", 0));
}

TEST(Xxh64, HexHasSixteenLowercaseDigits) {
  EXPECT_EQ(xxh64_hex(0x1f), "000000000000001f");
  EXPECT_EQ(xxh64_hex(0xef46db3751d8e999ULL), "ef46db3751d8e999");
}
