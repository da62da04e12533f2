// Prompted JSONL (prepare --prompt-field): each document is prompt + response, the shards carry
// a /loss_mask that is 0 on exactly the tokens of the prompt encoded alone and 1 on the rest
// (eos included), across shard boundaries; the causal dataset turns masked targets into
// kIgnoreTarget and leaves the inputs alone. Prompts need JSONL, two distinct fields, and each
// line's prompt field, each refused with a DataError naming what is wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/causal_dataset.h"
#include "data/prepare.h"
#include "data/text_tokenizer.h"
#include "data/token_shards.h"
#include "support/kjv_text.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::KjvCorpus;
using linea::testing::TempDir;

namespace {

// Alpaca's layout on KJV verses: the instruction and the first half of a paragraph as the
// prompt, its second half as the response.
struct Example {
  std::string prompt, response;
};
std::vector<Example> examples() {
  std::vector<Example> out;
  for (const std::string& p : linea::testing::paragraphs(linea::testing::bible_text("Ruth1:1-Ruth4:22"))) {
    const size_t cut = p.find(' ', p.size() / 2);
    out.push_back({"Below is an instruction that describes a task.\n\n### Instruction:\nContinue the verse.\n\n### Input:\n" +
                       p.substr(0, cut) + "\n\n### Response:\n",
                   p.substr(cut + 1)});
  }
  return out;
}

PrepareOptions prompted(const KjvCorpus& corpus, const std::string& input, const std::string& output) {
  PrepareOptions o;
  o.tokenizer_model = corpus.model_path;
  o.input_files = {input};
  o.output_dir = output;
  o.shard_tokens = 300;  // documents cross shard boundaries
  o.reader.text_field = "response";
  o.reader.prompt_field = "prompt";
  return o;
}

}  // namespace

TEST(PromptMask, ShardsMarkThePromptTokensAndTheDatasetSkipsThem) {
  const KjvCorpus& corpus = KjvCorpus::get();
  TempDir dir;
  const std::vector<Example> ex = examples();
  ASSERT_GE(ex.size(), 4u);
  std::string jsonl;
  for (const Example& e : ex) jsonl += nlohmann::json{{"prompt", e.prompt}, {"response", e.response}}.dump() + "\n";
  linea::testing::write_file(dir.file("alpaca.jsonl"), jsonl);
  const PrepareSummary s = prepare_shards(prompted(corpus, dir.file("alpaca.jsonl"), dir.file("shards")));
  ASSERT_GE(s.shard_paths.size(), 3u);

  const std::unique_ptr<TextTokenizer> tok = load_tokenizer(corpus.model_path);
  std::vector<double> tokens, mask;
  for (const Example& e : ex) {
    const std::vector<int32_t> whole = tok->encode(e.prompt + e.response);
    const size_t prompt = tok->encode(e.prompt).size();
    for (size_t i = 0; i < whole.size(); ++i) {
      tokens.push_back(whole[i]);
      mask.push_back(i < prompt ? 0 : 1);
    }
    tokens.push_back(tok->eos_id());
    mask.push_back(1);
  }
  TokenShards shards(dir.file("shards"));
  ASSERT_TRUE(shards.has_loss_mask());
  ASSERT_EQ(shards.total_tokens(), int64_t(tokens.size()));
  EXPECT_EQ(shards.read(0, shards.total_tokens()).to_vector(), tokens);
  EXPECT_EQ(shards.read_loss_mask(0, shards.total_tokens()).to_vector(), mask);

  const int64_t T = 32;
  PackedCausalDataset data(shards, T);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < data.num_examples(); ++i) all.push_back(i);
  const CausalBatch b = data.get_batch(all);
  int64_t ignored = 0;
  for (int64_t i = 0; i < data.num_examples(); ++i)
    for (int64_t t = 0; t < T; ++t) {
      const size_t pos = size_t(i * T + t);
      EXPECT_EQ(b.inputs.at({i, t}), tokens[pos]);
      EXPECT_EQ(b.targets.at({i, t}), mask[pos + 1] == 0 ? double(kIgnoreTarget) : tokens[pos + 1]) << i << " " << t;
      ignored += mask[pos + 1] == 0;
    }
  EXPECT_GT(ignored, 0);
}

TEST(PromptMask, BadPromptInputsAreNamed) {
  const KjvCorpus& corpus = KjvCorpus::get();
  TempDir dir;
  linea::testing::write_file(dir.file("a.txt"), "In the beginning\n");
  linea::testing::expect_error<DataError>([&] { prepare_shards(prompted(corpus, dir.file("a.txt"), dir.file("o"))); },
                                          "--prompt-field needs JSONL input");
  linea::testing::write_file(dir.file("a.jsonl"), "{\"prompt\": \"Say\", \"response\": \"yes\"}\n{\"response\": \"no\"}\n");
  linea::testing::expect_error<DataError>([&] { prepare_shards(prompted(corpus, dir.file("a.jsonl"), dir.file("o"))); },
                                          "a.jsonl line 2: no \"prompt\" field");
  PrepareOptions same = prompted(corpus, dir.file("a.jsonl"), dir.file("o"));
  same.reader.prompt_field = "response";
  linea::testing::expect_error<DataError>([&] { prepare_shards(same); }, "expected two fields");
}
