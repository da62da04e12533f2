#include "core/kernels/segments.h"

namespace linea::kernels {

int64_t resolve_segments(const char* op, AttentionSegments& seg, int64_t B, int64_t T) {
  LINEA_CHECK(seg.start.size() == seg.length.size(), op, ": segments have ", seg.start.size(), " starts but ",
              seg.length.size(), " lengths");
  if (seg.empty()) seg = AttentionSegments::padded(std::vector<int64_t>(size_t(B), T), T);
  int64_t covered = 0, previous_end = 0;
  for (size_t s = 0; s < seg.start.size(); ++s) {
    const int64_t st = seg.start[s], len = seg.length[s];
    LINEA_CHECK(len >= 0 && st >= previous_end && st + len <= B * T && (len == 0 || st / T == (st + len - 1) / T), op,
                ": segment ", s, " [", st, ", ", st + len, ") must lie within one batch entry of the ", B, " x ", T,
                " rows, after the previous segment (ending at ", previous_end, ")");
    previous_end = st + len;
    covered += len;
  }
  return covered;
}

}  // namespace linea::kernels
