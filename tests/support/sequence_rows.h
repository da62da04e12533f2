// Where the sequences of a kernel test's batch lie, for the tests' own reference loops: B full
// rows of T, or the spans of cu_seqlens over the [B*T] rows (packed, or padded when they skip
// rows).
#pragma once
#include <cstdint>
#include <vector>

namespace linea::testing {

struct SequenceRows {
  int64_t b, t0, length;  // batch entry, first row in it, length
};

inline std::vector<SequenceRows> sequence_rows(int64_t B, int64_t T, const std::vector<int64_t>& cu_seqlens) {
  std::vector<SequenceRows> out;
  if (cu_seqlens.empty())
    for (int64_t b = 0; b < B; ++b) out.push_back({b, 0, T});
  else
    for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s)
      out.push_back({cu_seqlens[s] / T, cu_seqlens[s] % T, cu_seqlens[s + 1] - cu_seqlens[s]});
  return out;
}

}  // namespace linea::testing
