// spm_split_check reads the few ModelProto fields it needs straight from the protobuf wire
// format (Debian ships no sentencepiece_model.pb.h), and walks the normalizer's darts-clone
// double array to find rule keys containing a space.
#include "data/spm_split.h"

#include <cstring>
#include <functional>

#include "core/error.h"

namespace linea {
namespace {

// Field numbers of sentencepiece_model.proto.
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerTreatWhitespaceAsSuffix = 24;
constexpr uint32_t kNormalizerCharsmap = 2, kNormalizerAddDummyPrefix = 3, kNormalizerRemoveExtraWhitespaces = 4,
                   kNormalizerEscapeWhitespaces = 5;
// Enum values (the proto2 defaults are UNIGRAM and NORMAL).
constexpr uint64_t kModelTypeUnigram = 1, kModelTypeBpe = 2;
constexpr uint64_t kPieceNormal = 1, kPieceUserDefined = 4, kPieceUnused = 5;
constexpr const char* kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's escaped space

// One field of a protobuf message: its number and either a varint or a byte range.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Iterates the fields of one serialized message; ok() turns false on malformed input.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool next(Field& f) {
    if (pos_ >= data_.size() || !ok_) return false;
    uint64_t tag = 0;
    if (!varint(tag)) return fail();
    f.number = uint32_t(tag >> 3);
    f.wire_type = uint32_t(tag & 7);
    f.varint = 0;
    f.bytes = {};
    switch (f.wire_type) {
      case 0:
        return varint(f.varint) || fail();
      case 1:
        return skip(8);
      case 2: {
        uint64_t len = 0;
        if (!varint(len) || len > data_.size() - pos_) return fail();
        f.bytes = data_.substr(pos_, size_t(len));
        pos_ += size_t(len);
        return true;
      }
      case 5:
        return skip(4);
      default:  // groups (3, 4) do not occur in ModelProto
        return fail();
    }
  }
  bool ok() const { return ok_; }

 private:
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const uint8_t b = uint8_t(data_[pos_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool skip(size_t n) {
    if (n > data_.size() - pos_) return fail();
    pos_ += n;
    return true;
  }
  bool fail() {
    ok_ = false;
    return false;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Whether any key of the darts-clone double array in `trie` (little-endian 32-bit units,
// as SentencePiece stores its precompiled charsmap) contains byte `byte`; a depth-first walk
// over the trie's nodes (a DAWG, so nodes are visited once by their child base).
// `broken` is set when the array does not parse.
bool trie_has_key_byte(std::string_view trie, uint8_t byte, bool& broken) {
  const size_t n = trie.size() / 4;
  broken = n == 0 || trie.size() % 4 != 0;
  if (broken) return false;
  std::vector<uint32_t> units(n);
  std::memcpy(units.data(), trie.data(), n * 4);  // x86-64 and the file are both little-endian
  auto offset = [](uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  auto label = [](uint32_t u) { return u & ((1u << 31) | 0xFFu); };
  std::vector<bool> visited(n, false);
  std::vector<size_t> stack = {size_t(offset(units[0]))};  // the root's child base
  while (!stack.empty()) {
    const size_t base = stack.back();
    stack.pop_back();
    if (base >= n || visited[base]) continue;
    visited[base] = true;
    for (uint32_t c = 1; c < 256; ++c) {  // label 0 is the leaf (value) unit
      const size_t pos = base ^ c;
      if (pos >= n || label(units[pos]) != c) continue;
      if (c == byte) return true;
      stack.push_back(pos ^ offset(units[pos]));
    }
  }
  return false;
}

// The normalizer's rules: "" when fine for cutting, else why not.
std::string check_charsmap(std::string_view blob) {
  if (blob.empty()) return "";  // identity normalization
  uint32_t trie_size = 0;
  if (blob.size() <= 4) return "the precompiled charsmap is truncated";
  std::memcpy(&trie_size, blob.data(), 4);
  if (trie_size >= blob.size() - 4) return "the precompiled charsmap is truncated";
  const std::string_view trie = blob.substr(4, trie_size), outputs = blob.substr(4 + trie_size);
  bool broken = false;
  if (trie_has_key_byte(trie, ' ', broken)) return "a normalization rule matches text containing a space";
  if (broken) return "the precompiled charsmap does not parse";
  // Outputs are NUL-separated strings; two spaces within one would be collapsed by a cut.
  if (outputs.find("  ") != std::string_view::npos) return "a normalization rule outputs two spaces";
  if (outputs.find(kSpaceSymbol) != std::string_view::npos) return "a normalization rule outputs U+2581";
  return "";
}

}  // namespace

SpmSplitCheck spm_split_check(const std::string& serialized_model_proto) {
  uint64_t model_type = kModelTypeUnigram;
  bool treat_whitespace_as_suffix = false, add_dummy_prefix = true, remove_extra_whitespaces = true,
       escape_whitespaces = true, space_piece_normal = false;
  std::string_view charsmap;
  std::string piece_problem;
  WireReader model(serialized_model_proto);
  Field f;
  while (model.next(f)) {
    if (f.wire_type != 2) continue;
    if (f.number == kModelPieces) {
      std::string_view piece;
      uint64_t type = kPieceNormal;
      WireReader r(f.bytes);
      Field g;
      while (r.next(g)) {
        if (g.number == kPiecePiece && g.wire_type == 2) piece = g.bytes;
        if (g.number == kPieceType && g.wire_type == 0) type = g.varint;
      }
      if (!r.ok()) return {false, "the model proto does not parse"};
      if (piece == kSpaceSymbol) space_piece_normal = type == kPieceNormal;
      if (!piece_problem.empty()) continue;
      if (type == kPieceUserDefined)
        piece_problem = str_cat("it has user-defined pieces (", piece, ")");
      else if (type == kPieceUnused)
        piece_problem = str_cat("it has unused pieces (", piece, ")");
      else if (piece.find(' ') != std::string_view::npos || piece.find(kSpaceSymbol, 1) != std::string_view::npos)
        piece_problem = str_cat("piece '", piece, "' spans a space");
    } else if (f.number == kModelTrainerSpec) {
      WireReader r(f.bytes);
      Field g;
      while (r.next(g)) {
        if (g.wire_type != 0) continue;
        if (g.number == kTrainerModelType) model_type = g.varint;
        if (g.number == kTrainerTreatWhitespaceAsSuffix) treat_whitespace_as_suffix = g.varint != 0;
      }
      if (!r.ok()) return {false, "the model proto does not parse"};
    } else if (f.number == kModelNormalizerSpec) {
      WireReader r(f.bytes);
      Field g;
      while (r.next(g)) {
        if (g.number == kNormalizerCharsmap && g.wire_type == 2) charsmap = g.bytes;
        if (g.wire_type != 0) continue;
        if (g.number == kNormalizerAddDummyPrefix) add_dummy_prefix = g.varint != 0;
        if (g.number == kNormalizerRemoveExtraWhitespaces) remove_extra_whitespaces = g.varint != 0;
        if (g.number == kNormalizerEscapeWhitespaces) escape_whitespaces = g.varint != 0;
      }
      if (!r.ok()) return {false, "the model proto does not parse"};
    }
  }
  if (!model.ok()) return {false, "the model proto does not parse"};
  if (model_type != kModelTypeBpe) return {false, str_cat("model type ", model_type, " is not BPE (2)")};
  if (treat_whitespace_as_suffix) return {false, "it treats whitespace as a suffix"};
  if (!add_dummy_prefix) return {false, "it adds no dummy prefix"};
  if (!remove_extra_whitespaces) return {false, "it keeps extra whitespace"};
  if (!escape_whitespaces) return {false, "it does not escape whitespace"};
  if (!piece_problem.empty()) return {false, piece_problem};
  if (!space_piece_normal) return {false, "\"\xE2\x96\x81\" is not a normal piece"};
  std::string rules = check_charsmap(charsmap);
  if (!rules.empty()) return {false, rules};
  return {true, ""};
}

bool spm_text_splits(std::string_view text) { return text.find(kSpaceSymbol) == std::string_view::npos; }

std::vector<size_t> spm_split_points(std::string_view text) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size();) {
    const void* hit = std::memchr(text.data() + i, ' ', text.size() - i);
    if (!hit) break;
    i = size_t(static_cast<const char*>(hit) - text.data());
    if (text[i - 1] != ' ') cuts.push_back(i);
    ++i;
  }
  return cuts;
}

size_t SegmentCache::shard_of(std::string_view segment) {
  // The map hashes with the same function; its high bits pick the shard.
  return (std::hash<std::string_view>()(segment) >> 58) & 63;
}

bool SegmentCache::lookup(std::string_view segment, std::vector<int32_t>& out) const {
  const Shard& s = shards_[shard_of(segment)];
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.map.find(segment);
  if (it == s.map.end()) return false;
  const int32_t* ids = s.ids.data() + it->second.begin;
  out.insert(out.end(), ids, ids + it->second.count);
  return true;
}

void SegmentCache::insert(std::string_view segment, const int32_t* ids, size_t count) {
  if (segment.size() > kMaxSegmentBytes) return;
  Shard& s = shards_[shard_of(segment)];
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.map.size() >= kMaxEntriesPerShard || s.map.count(segment)) return;
  s.keys.emplace_back(new char[segment.size() + 1]);
  char* key = s.keys.back().get();
  std::memcpy(key, segment.data(), segment.size());
  const Entry e{uint32_t(s.ids.size()), uint32_t(count)};
  s.ids.insert(s.ids.end(), ids, ids + count);
  s.map.emplace(std::string_view(key, segment.size()), e);
}

}  // namespace linea
