// A tiny byte-level BPE vocabulary for tokenizer tests that need no download: every
// single-byte symbol under GPT-2's bytes_to_unicode map, then "ab", "abc" and "Ġabc".
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace linea::testing {

// Returns the vocab (token -> id); `next_id` receives the first unused id.
inline nlohmann::json tiny_byte_level_vocab(int& next_id) {
  nlohmann::json vocab = nlohmann::json::object();
  int next = 256, id = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const uint32_t cp = printable ? uint32_t(b) : uint32_t(next++);
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab[s] = id++;
  }
  vocab["ab"] = id++;
  vocab["abc"] = id++;
  vocab["\xC4\xA0" "abc"] = id++;  // "Ġabc"
  next_id = id;
  return vocab;
}

}  // namespace linea::testing
