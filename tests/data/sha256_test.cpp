// SHA-256 against the FIPS 180-4 / NIST example vectors, incremental updates split at
// every position, file hashing, and the SHA-extension path against the portable one.
#include "data/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "support/temp_dir.h"

using namespace linea;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                       "klmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalUpdatesMatchOneShotAtEverySplitAndLength) {
  std::string text;
  for (int i = 0; i < 130; ++i) text += char('a' + i * 7 % 26);
  for (size_t len = 0; len <= text.size(); ++len) {
    std::string prefix = text.substr(0, len);
    std::string whole = sha256_hex(prefix);
    for (size_t split : {size_t(0), len / 3, len / 2, len}) {
      Sha256 h;
      h.update(prefix.substr(0, split));
      h.update(prefix.substr(split));
      EXPECT_EQ(h.hex_digest(), whole) << "length " << len << " split " << split;
    }
  }
}

TEST(Sha256, FilesHashTheirBytesAndMissingFilesAreNamed) {
  linea::testing::TempDir dir;
  std::string path = dir.file("data.bin");
  std::string bytes(3 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 131 % 251);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  EXPECT_EQ(sha256_file(path), sha256_hex(bytes));
  try {
    sha256_file(dir.file("missing.txt"));
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read file: " + dir.file("missing.txt")), std::string::npos);
  }
}

TEST(Sha256, ShaExtensionsAndPortableCodeAgree) {
  // The portable code on the NIST vectors (the default path may be the SHA extensions).
  Sha256 portable(false);
  portable.update("abc");
  EXPECT_EQ(portable.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 portable_long(false);
  portable_long.update(std::string(1000000, 'a'));
  EXPECT_EQ(portable_long.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  if (!Sha256::sha_extensions_available()) GTEST_SKIP() << "this CPU has no SHA extensions";
  // Both paths over every length up to 4 blocks and a large buffer fed in uneven pieces.
  std::string bytes(1 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char((i * 2654435761u) >> 13);
  for (size_t len = 0; len <= 256; ++len) {
    Sha256 a(true), b(false);
    a.update(bytes.data(), len);
    b.update(bytes.data(), len);
    EXPECT_EQ(a.hex_digest(), b.hex_digest()) << "length " << len;
  }
  Sha256 a(true), b(false);
  for (size_t pos = 0, step = 1; pos < bytes.size(); pos += step, step = step * 3 % 100003 + 1) {
    const size_t n = std::min(step, bytes.size() - pos);
    a.update(bytes.data() + pos, n);
    b.update(bytes.data() + pos, n);
  }
  EXPECT_EQ(a.hex_digest(), b.hex_digest());
}
