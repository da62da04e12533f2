// `linea import` and `linea export`: Hugging Face model folders (config.json, safetensors,
// tokenizer) to linea checkpoints and back, for the families of train/hf_config.h.
//
// Import reads config.json into a recipe's model section, builds that decoder, and fills
// every parameter from the safetensors (one file or an index of shards, memory-mapped; F32,
// BF16 and F16 stored, converted to f32 exactly). A tensor the model needs that is missing,
// has another shape, or a tensor in the folder the model has no place for is an error
// naming both names; nothing is written until every tensor has been read. The checkpoint
// carries the folder's tokenizer (tokenizer.model, else tokenizer.json) and records its
// sha256, so `generate` needs nothing else. Export writes the reverse into a new folder,
// built beside it and renamed into place once complete.
#pragma once
#include <string>
#include <vector>

#include "core/dtype.h"
#include "train/hf_config.h"

namespace linea {

struct ImportReport {
  HfArchitecture arch;
  int64_t tensors = 0;               // linea parameters filled
  std::vector<std::string> skipped;  // folder tensors that hold no parameter (rotary caches, a tied head's copy)
  std::string tokenizer;             // the tokenizer file stored, "" for none
};
ImportReport import_hf(const std::string& folder, const std::string& output);

struct ExportReport {
  HfFamily family = HfFamily::llama;
  int64_t tensors = 0;
  std::string tokenizer;  // the tokenizer file written, "" for none
};
// dtype: f32, bf16 or f16 (rounded to nearest even). tokenizer: as generate's --tokenizer
// ("" finds the checkpoint's own; when none can be found the folder gets no tokenizer).
// merge_lora: a model with LoRA adapters (model.lora) is written with W + (alpha / r) B A
// in each adapted weight (without it such a checkpoint is refused: Hugging Face's layout
// has no place for the adapters).
ExportReport export_hf(const std::string& checkpoint, const std::string& output, DType dtype,
                       const std::string& tokenizer, bool merge_lora = false);

struct ImportCommand {
  std::string folder, output;
};
int run_import(const ImportCommand& cmd);

struct ExportCommand {
  std::string checkpoint, output;
  std::string dtype = "f32";
  std::string tokenizer;
  bool merge_lora = false;
};
int run_export(const ExportCommand& cmd);

}  // namespace linea
