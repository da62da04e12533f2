#include "train/hf_transfer.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "configs/config.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "data/sha256.h"
#include "layers/decoder.h"
#include "layers/lora_linear.h"
#include "train/checkpoint.h"
#include "train/checkpoint_tokenizer.h"
#include "train/model_builder.h"
#include "train/run_dir.h"

namespace linea {
namespace {

namespace fs = std::filesystem;

// The recipe an imported checkpoint records: the model from config.json, every other
// section at its default (data.seq_len within the model's limit). Validated as any recipe,
// so a config.json linea cannot build stops here, named.
Config imported_config(const HfArchitecture& arch, const std::string& folder) {
  Config cfg;
  cfg.model = arch.model;
  cfg.data.seq_len = std::min(cfg.data.seq_len, cfg.model.max_seq_len);
  try {
    Config checked = parse_config(dump_config(cfg), folder + "/config.json (as a linea recipe)");
    check_buildable(checked);
    return checked;
  } catch (const ConfigError& e) {
    throw ConfigError(str_cat(folder, "/config.json describes a model linea does not build: ", e.what()));
  }
}

// The folder's tokenizer: tokenizer.model (SentencePiece: Llama 2, Mistral) before
// tokenizer.json (byte-level BPE: Llama 3), since Llama 2's tokenizer.json is a
// SentencePiece conversion the byte-level reader would misread. One that does not load, or
// has more ids than the model, is reported and left out: the weights are still usable.
std::optional<StoredTokenizer> folder_tokenizer(const std::string& folder, int64_t vocab_size) {
  for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
    const fs::path path = fs::path(folder) / name;
    if (!fs::exists(path)) continue;
    try {
      const int ids = load_tokenizer(path.string())->vocab_size();
      LINEA_CHECK_T(DataError, ids <= vocab_size, path.string(), ": ", ids, " ids, more than vocab_size ", vocab_size);
      return tokenizer_file(path.string());
    } catch (const Error& e) {
      std::fprintf(stderr, "linea: warning: import: %s is not stored in the checkpoint: %s\n", path.c_str(), e.what());
    }
  }
  return std::nullopt;
}

// What a Hugging Face checkpoint holds of a model: its parameters, then its buffers (Kimi's
// router correction biases, which steer routing but are not trained by gradients).
std::vector<std::pair<std::string, Tensor>> stored_tensors(const Decoder& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, p] : model.named_parameters()) out.emplace_back(name, p.data());
  for (const auto& [name, b] : model.named_buffers()) out.emplace_back(name, b);
  return out;
}

// Shapes that hold the same elements in the same order: equal once unit axes are dropped
// (a release may store Kimi's conv taps as [C, 1, W] or [C, W]).
bool same_up_to_unit_axes(const Shape& a, const Shape& b) {
  auto squeezed = [](const Shape& s) {
    Shape out;
    for (int64_t d : s)
      if (d != 1) out.push_back(d);
    return out;
  };
  return squeezed(a) == squeezed(b);
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

}  // namespace

ImportReport import_hf(const std::string& folder, const std::string& output) {
  check_output_folder("import --output", output);
  ImportReport r;
  r.arch = read_hf_config(folder);
  const Config cfg = imported_config(r.arch, folder);
  const SafetensorsSet files = SafetensorsSet::open_folder(folder);
  Decoder model(cfg.model);

  std::set<std::string> used;
  for (auto& [name, dst] : stored_tensors(model)) {
    const HfTensor h = hf_tensor(r.arch.family, name, dst.shape());
    const SafetensorsEntry* e = files.find(h.name);
    LINEA_CHECK_T(CheckpointError, e, files.describe(), ": tensor ", h.name, " is missing (config.json's model has it: linea's ",
                  name, ")");
    LINEA_CHECK_T(CheckpointError, same_up_to_unit_axes(e->shape, h.shape), files.describe(), ": tensor ", h.name, " has shape ",
                  shape_str(e->shape), ", config.json implies ", shape_str(h.shape));
    dst.copy_(files.read(h.name, DType::f32).reshape(dst.shape()));
    used.insert(h.name);
    ++r.tensors;
  }
  for (const std::string& name : files.names()) {
    if (used.count(name)) continue;
    if (hf_tensor_derived(r.arch.family, name)) {
      r.skipped.push_back(name);
      continue;
    }
    // A tied head saved as its own tensor (some writers keep both) must be the embedding.
    if (name == "lm_head.weight" && cfg.model.tie_embeddings) {
      LINEA_CHECK_T(CheckpointError, same_values(files.read(name, DType::f32), model.output_weight().data()),
                    files.describe(), ": lm_head.weight differs from model.embed_tokens.weight, but config.json ties ",
                    "them (tie_word_embeddings true)");
      r.skipped.push_back(name);
      continue;
    }
    throw CheckpointError(str_cat(files.describe(), ": tensor ", name, " has no place in the ", to_string(r.arch.family),
                                  " model config.json describes"));
  }

  const std::optional<StoredTokenizer> tok = folder_tokenizer(folder, cfg.model.vocab_size);
  TrainerState state;
  if (tok) {
    state.tokenizer_sha256 = sha256_hex(tok->bytes);
    r.tokenizer = tok->file_name;
  }
  save_checkpoint(output, model, nullptr, state, dump_config(cfg), 1, tok ? &*tok : nullptr);
  return r;
}

ExportReport export_hf(const std::string& checkpoint, const std::string& output, DType dtype,
                       const std::string& tokenizer, bool merge_lora) {
  const Config cfg = parse_config(read_checkpoint_config(checkpoint), checkpoint);
  LINEA_CHECK_T(ConfigError, !cfg.model.lora || merge_lora, "export: ", checkpoint,
                " has LoRA adapters (model.lora); pass --merge-lora to fold them into the weights");
  ExportReport r;
  r.family = hf_family_of(cfg.model);
  const fs::path out(output);
  LINEA_CHECK_T(ConfigError, !fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)), "export --output ", output,
                ": exists and is not an empty folder; expected a new folder");
  check_output_folder("export --output", out.lexically_normal().string());
  Decoder model(cfg.model);
  TrainerState state;
  load_checkpoint(checkpoint, model, nullptr, &state);

  std::map<std::string, Tensor> merged;  // "<path>.weight" of each adapted Linear
  for (auto& [path, m] : model.named_modules())
    if (const auto* lora = dynamic_cast<const LoraLinear*>(m)) merged[path + ".weight"] = lora->merged_weight();
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::set<std::string> full_precision;
  for (const auto& [name, t] : stored_tensors(model)) {
    if (name.find(".lora_A") != std::string::npos || name.find(".lora_B") != std::string::npos) continue;
    const HfTensor h = hf_tensor(r.family, name, t.shape());
    const auto m = merged.find(name);
    tensors.emplace_back(h.name, (m == merged.end() ? t : m->second).reshape(h.shape));
    if (h.full_precision) full_precision.insert(h.name);
  }
  std::optional<StoredTokenizer> tok;
  try {
    tok = checkpoint_tokenizer_file(checkpoint, cfg, state, tokenizer, "export");
  } catch (const DataError& e) {
    if (!tokenizer.empty()) throw;  // the one asked for is wrong
    std::fprintf(stderr, "linea: warning: %s; %s gets no tokenizer\n", e.what(), output.c_str());
  }
  int64_t bos = -1, eos = -1;
  if (tok) {
    const std::unique_ptr<TextTokenizer> t = load_stored_tokenizer(*tok);
    bos = t->bos_id();
    eos = t->eos_id();
  }

  // Built beside the output and renamed into place: a failure leaves no partial folder.
  const fs::path tmp = out.string() + ".tmp-export";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    write_file_atomically((tmp / "config.json").string(), hf_config_json(cfg.model, r.family, dtype, bos, eos));
    write_safetensors((tmp / "model.safetensors").string(), tensors, dtype, {{"format", "pt"}}, full_precision);
    if (tok) {  // under the name Hugging Face's loaders look for
      r.tokenizer = tok->kind == "sentencepiece" ? "tokenizer.model" : tok->kind == "bpe" ? "tokenizer.json" : "vocab.txt";
      write_file_atomically((tmp / r.tokenizer).string(), tok->bytes);
    }
    if (fs::exists(out)) fs::remove(out);  // the empty folder the check allowed
    fs::rename(tmp, out);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  r.tensors = int64_t(tensors.size());
  return r;
}

int run_import(const ImportCommand& cmd) {
  const ImportReport r = import_hf(cmd.folder, cmd.output);
  std::printf("imported %s: %s model, %lld tensors%s\n", cmd.folder.c_str(), to_string(r.arch.family),
              static_cast<long long>(r.tensors), r.tokenizer.empty() ? ", no tokenizer" : (", tokenizer " + r.tokenizer).c_str());
  for (const std::string& d : r.arch.defaulted) std::printf("  config.json lacks %s (Hugging Face's default)\n", d.c_str());
  for (const std::string& s : r.skipped) std::printf("  skipped %s (holds no parameter)\n", s.c_str());
  std::printf("wrote %s (linea info shows its recipe; a recipe starts from it with train.init_from)\n",
              cmd.output.c_str());
  return 0;
}

int run_export(const ExportCommand& cmd) {
  DType dtype;
  if (cmd.dtype == "f32")
    dtype = DType::f32;
  else if (cmd.dtype == "bf16")
    dtype = DType::bf16;
  else if (cmd.dtype == "f16")
    dtype = DType::f16;
  else
    throw ConfigError(str_cat("export --dtype ", cmd.dtype, ": expected f32, bf16 or f16"));
  const std::string checkpoint = resolve_checkpoint(cmd.checkpoint);
  const ExportReport r = export_hf(checkpoint, cmd.output, dtype, cmd.tokenizer, cmd.merge_lora);
  std::printf("exported %s as a %s model: %s/config.json, model.safetensors (%lld tensors, %s)%s\n", checkpoint.c_str(),
              to_string(r.family), cmd.output.c_str(), static_cast<long long>(r.tensors), cmd.dtype.c_str(),
              r.tokenizer.empty() ? "" : (", " + r.tokenizer).c_str());
  return 0;
}

}  // namespace linea
