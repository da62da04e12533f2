// Hand-made token shards for the data tests: any token values and attributes, so tests can
// build exact streams and the bad shards prepare never writes (foreign, out-of-vocab ids).
#pragma once
#include <string>
#include <vector>

#include "core/io/hdf5_file.h"
#include "data/prepare.h"

namespace linea::testing {

// A shard with the attributes TokenShards checks; `tokens` as given (u32 stream).
inline void write_test_shard(const std::string& path, const std::vector<double>& tokens, int64_t vocab_size,
                             const std::string& tokenizer_sha256 = "abc") {
  H5File f = H5File::create(path, H5Errors::data);
  f.create_stream("/tokens", StreamElement::u32, 16);
  if (!tokens.empty()) f.append("/tokens", Tensor::from_vector(tokens, {int64_t(tokens.size())}, DType::i64));
  f.set_int_attr("/", "format_version", kTokenShardFormatVersion);
  f.set_int_attr("/", "vocab_size", vocab_size);
  f.set_string_attr("/", "tokenizer_sha256", tokenizer_sha256);
  for (const char* id : {"bos_id", "eos_id", "pad_id", "unk_id"}) f.set_int_attr("/", id, 1);
  f.close();
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
