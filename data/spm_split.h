// Exact segment-wise SentencePiece encoding: when a model allows it, text cut before every
// run of spaces encodes piece by piece to the same ids as the whole text, which lets the
// Tokenizer cache the ids of each word (SentencePiece's BPE cost grows with input length, and
// most words repeat).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace linea {

// Whether a SentencePiece model (its serialized ModelProto) encodes every text to the
// concatenation of the encodings of its segments, where the text is cut right before each
// ' ' (0x20) byte that follows a byte other than ' '; `reason` says why not. It holds when:
// - the model is BPE (merges never cross a boundary no piece spans; unigram's Viterbi sums
//   float scores, whose rounding depends on the prefix, so it is left alone);
// - the normalizer adds the dummy prefix, removes extra whitespace and escapes spaces as
//   U+2581, without treat_whitespace_as_suffix (a segment " word" then normalizes to
//   "\u2581word", exactly what the whole text holds there, or what it collapses into);
// - no normalization rule key contains ' ' (a rule matching across the cut) and no rule
//   output contains two spaces (two U+2581 that the cut would collapse into one) or U+2581;
// - no piece has U+2581 after its first character or contains ' ' (a merge across the cut),
//   there are no user-defined pieces (matched before normalization) and no unused pieces
//   (resegmented), and "\u2581" is a normal piece, so a segment never starts with an unknown
//   piece that SentencePiece would fuse with a preceding unknown one.
// A text holding U+2581 itself is encoded whole (spm_text_splits): SentencePiece strips
// trailing U+2581 with the escaped spaces, so a segment ending in "▁ " would lose it.
// tests/data/tokenizer_test.cpp checks the equality on the whole KJV corpus and on
// whitespace edge cases, and that models breaking a condition are detected.
struct SpmSplitCheck {
  bool exact = false;
  std::string reason;  // empty when exact
};
SpmSplitCheck spm_split_check(const std::string& serialized_model_proto);

// Whether a text may be cut at all: it holds no U+2581.
bool spm_text_splits(std::string_view text);

// The byte offsets where spm_split_check's cuts fall in `text` (each a ' ' after a non-' ').
// Segment k is [cuts[k-1], cuts[k]) with cuts[-1] = 0 and cuts[end] = text.size().
std::vector<size_t> spm_split_points(std::string_view text);

// Ids of short segments, shared by threads: 64 shards, each behind its own mutex, holding
// at most kMaxEntriesPerShard entries (inserts stop when a shard is full, so memory is bounded
// and output never depends on what is cached).
class SegmentCache {
 public:
  static constexpr size_t kMaxSegmentBytes = 64;
  static constexpr size_t kMaxEntriesPerShard = 4096;

  // Appends the cached ids of `segment` to `out`; false when absent.
  bool lookup(std::string_view segment, std::vector<int32_t>& out) const;
  void insert(std::string_view segment, const int32_t* ids, size_t count);

 private:
  struct Entry {
    uint32_t begin, count;  // in Shard::ids
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string_view, Entry> map;  // keys point into `keys`
    std::vector<std::unique_ptr<char[]>> keys;         // one allocation per key: stable addresses
    std::vector<int32_t> ids;
  };
  static size_t shard_of(std::string_view segment);
  std::array<Shard, 64> shards_;
};

}  // namespace linea
