// Hand-made token shards for the data tests: any token values and attributes, so tests can
// build exact streams and the bad shards prepare never writes (foreign, out-of-vocab ids).
#pragma once
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/io/hdf5_file.h"
#include "data/prepare.h"

namespace linea::testing {

// Document layout of a hand-made shard, as prepare writes it (see data/prepare.h).
struct TestShardDocs {
  std::vector<double> offsets;  // /doc_offsets: piece starts, then the shard's length
  bool continued = false;       // first_document_continued
  bool append_eos = false;
};

// A shard with the attributes TokenShards checks; `tokens` as given (u32 stream), and
// /doc_offsets when `docs` is given. bos/eos/pad/unk ids are all 1.
inline void write_test_shard(const std::string& path, const std::vector<double>& tokens, int64_t vocab_size,
                             const std::string& tokenizer_sha256 = "abc", const TestShardDocs* docs = nullptr) {
  H5File f = H5File::create(path, H5Errors::data);
  f.create_stream("/tokens", StreamElement::u32, 16);
  if (!tokens.empty()) f.append("/tokens", Tensor::from_vector(tokens, {int64_t(tokens.size())}, DType::i64));
  f.set_int_attr("/", "format_version", kTokenShardFormatVersion);
  f.set_int_attr("/", "vocab_size", vocab_size);
  f.set_string_attr("/", "tokenizer_sha256", tokenizer_sha256);
  for (const char* id : {"bos_id", "eos_id", "pad_id", "unk_id"}) f.set_int_attr("/", id, 1);
  if (docs) {
    f.write_tensor("/doc_offsets", Tensor::from_vector(docs->offsets, {int64_t(docs->offsets.size())}, DType::i64));
    f.set_int_attr("/", "first_document_continued", docs->continued ? 1 : 0);
    f.set_int_attr("/", "append_eos", docs->append_eos ? 1 : 0);
  }
  f.close();
}

// Shards holding `documents` (each a list of tokens, eos included if any) back to back,
// cut every `shard_tokens` tokens like prepare does, in `dir`.
inline void write_document_shards(const std::string& dir, const std::vector<std::vector<double>>& documents,
                                  int64_t shard_tokens, int64_t vocab, bool append_eos) {
  std::vector<double> stream, starts;
  for (const auto& d : documents) {
    starts.push_back(double(stream.size()));
    stream.insert(stream.end(), d.begin(), d.end());
  }
  int64_t index = 0;
  for (int64_t begin = 0; begin < int64_t(stream.size()); begin += shard_tokens, ++index) {
    const int64_t end = std::min<int64_t>(begin + shard_tokens, int64_t(stream.size()));
    TestShardDocs docs;
    docs.append_eos = append_eos;
    docs.continued = std::find(starts.begin(), starts.end(), double(begin)) == starts.end();
    if (docs.continued) docs.offsets.push_back(0);
    for (double s : starts)
      if (s >= double(begin) && s < double(end)) docs.offsets.push_back(s - double(begin));
    docs.offsets.push_back(double(end - begin));
    char name[32];
    std::snprintf(name, sizeof(name), "/shard_%05ld.h5", long(index));
    write_test_shard(dir + name, std::vector<double>(stream.begin() + begin, stream.begin() + end), vocab, "abc",
                     &docs);
  }
}

// 0, 1, 2, ... (mod vocab) split into shards of the given lengths in `dir`.
inline void write_counting_shards(const std::string& dir, const std::vector<int64_t>& lengths, int64_t vocab) {
  int64_t next = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    std::vector<double> tokens;
    for (int64_t i = 0; i < lengths[s]; ++i) tokens.push_back(double(next++ % vocab));
    char name[32];
    std::snprintf(name, sizeof(name), "/shard_%05zu.h5", s);
    write_test_shard(dir + name, tokens, vocab);
  }
}

}  // namespace linea::testing
