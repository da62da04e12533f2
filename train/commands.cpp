#include "train/commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "configs/config.h"
#include "data/prepare.h"
#include "data/readers.h"
#include "data/token_shards.h"
#include "data/tokenizer.h"
#include "layers/decoder.h"
#include "layers/encoder.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/model_builder.h"
#include "train/objective.h"

namespace fs = std::filesystem;

namespace linea {

namespace {

// Encoders: MLM loss, perplexity and accuracy over every example of the shards, masked at
// data.mlm.eval_mask_ratio with the validation mask stream (--stride does not apply).
int eval_mlm(const EvalCommand& cmd, const Config& cfg, Device device, int64_t seq_len) {
  Encoder model(encoder_options(cfg.model), device);
  load_checkpoint(cmd.checkpoint, model, nullptr, nullptr);
  TokenShards shards(cmd.data);
  LINEA_CHECK_T(DataError, shards.vocab_size() <= cfg.model.vocab_size, cmd.data, ": shards use a vocabulary of ",
                shards.vocab_size(), ", larger than the model's ", cfg.model.vocab_size);
  Config c = cfg;
  c.data.seq_len = seq_len;
  MlmDataset data(shards, mlm_options(c, shards, cfg.data.mlm.eval_mask_ratio, uint64_t(cfg.seed) ^ kValidMaskStream));
  EvalResult r = evaluate_mlm(model, data, 0, cmd.batch);
  std::printf("masked tokens %ld | mean nll %.6f | perplexity %.4f | mlm accuracy %.4f\n", long(r.tokens), r.mean_nll,
              r.perplexity(), r.accuracy.value_or(0));
  return 0;
}

}  // namespace

int run_eval(const EvalCommand& cmd) {
  Config cfg = parse_config(read_checkpoint_config(cmd.checkpoint), cmd.checkpoint);
  const Device device = cmd.device.empty() ? cfg.train.device : device_from_name(cmd.device);
  const int64_t seq_len = cmd.seq_len > 0 ? cmd.seq_len : cfg.data.seq_len;
  LINEA_CHECK_T(ConfigError, seq_len <= cfg.model.max_seq_len, "eval: --seq-len ", seq_len,
                " exceeds the model's max_seq_len ", cfg.model.max_seq_len);
  LINEA_CHECK_T(ConfigError, cmd.batch >= 1, "eval: --batch ", cmd.batch, " must be >= 1");
  LINEA_CHECK_T(ConfigError, cfg.data.objective != Objective::classification, "eval: ", cmd.checkpoint,
                " is a fine-tuned classifier; its dev metrics are in the run's metrics.jsonl (train.eval_every), "
                "expected a pretraining (causal or MLM) checkpoint");
  if (cfg.model.kind == ModelKind::encoder) return eval_mlm(cmd, cfg, device, seq_len);
  Decoder model(decoder_options(cfg.model), device);
  load_checkpoint(cmd.checkpoint, model, nullptr, nullptr);
  TokenShards shards(cmd.data);
  LINEA_CHECK_T(DataError, shards.vocab_size() <= cfg.model.vocab_size, cmd.data, ": shards use a vocabulary of ",
                shards.vocab_size(), ", larger than the model's ", cfg.model.vocab_size);
  EvalResult r = evaluate_sliding(model, shards, seq_len, cmd.stride > 0 ? cmd.stride : seq_len, cmd.batch, device);
  std::printf("tokens %ld | mean nll %.6f | perplexity %.4f\n", long(r.tokens), r.mean_nll, r.perplexity());
  return 0;
}

int run_info(const std::string& checkpoint) {
  CheckpointInfo info = inspect_checkpoint(checkpoint);
  int64_t params = 0;
  for (const auto& t : info.model_tensors) params += shape_numel(t.shape);
  std::printf("checkpoint     %s\n", checkpoint.c_str());
  std::printf("format         %ld (linea %s), world size %ld\n", long(info.format_version), info.linea_version.c_str(),
              long(info.world_size));
  std::printf("step           %ld (%ld tokens seen)\n", long(info.trainer.step), long(info.trainer.tokens_seen));
  if (!info.trainer.tokenizer_sha256.empty()) std::printf("tokenizer      sha256 %s\n", info.trainer.tokenizer_sha256.c_str());
  std::printf("optimizer      %s\n", info.optimizer_kind.empty() ? "(none)" : info.optimizer_kind.c_str());
  std::printf("parameters     %ld in %zu tensors\n", long(params), info.model_tensors.size());
  std::printf("\n# config\n%s\n# tensors\n", info.config_yaml.c_str());
  for (const auto& t : info.model_tensors)
    std::printf("%-56s %-16s %ld\n", t.name.c_str(), shape_str(t.shape).c_str(), long(shape_numel(t.shape)));
  return 0;
}

int run_prepare(const PrepareCommand& cmd) {
  LINEA_CHECK_T(ConfigError, !cmd.inputs.empty(), "prepare: no --input files given");
  PrepareOptions o;
  o.tokenizer_model = cmd.tokenizer;
  o.input_files = cmd.inputs;
  o.output_dir = cmd.output;
  o.shard_tokens = cmd.shard_tokens;
  o.reader.format = parse_corpus_format(cmd.format);
  o.reader.text_field = cmd.text_field;
  o.reader.replace_invalid_utf8 = cmd.replace_invalid_utf8;
  o.force = cmd.force;
  o.threads = cmd.threads;
  o.progress = cmd.progress || ::isatty(2) == 1;
  o.valid_fraction = cmd.valid_fraction;
  o.valid_output_dir = cmd.valid_output;
  o.split_seed = cmd.split_seed;
  check_prepare_options(o);  // before training a tokenizer that would replace an existing one
  if (cmd.train_vocab > 0) {
    // Only a SentencePiece model is trained; the spec may carry an spm: prefix.
    const std::string suffix = ".model";
    const std::string model = cmd.tokenizer.rfind("spm:", 0) == 0 ? cmd.tokenizer.substr(4) : cmd.tokenizer;
    LINEA_CHECK_T(ConfigError,
                  model.size() > suffix.size() && model.compare(model.size() - suffix.size(), suffix.size(), suffix) == 0,
                  "prepare: --tokenizer ", cmd.tokenizer, " must end in .model when --train-vocab is given");
    fs::create_directories(fs::path(model).parent_path().empty() ? "." : fs::path(model).parent_path());
    const std::string prefix = model.substr(0, model.size() - suffix.size());
    // The tokenizer trains on the documents as prepare reads them, one per paragraph.
    const std::string corpus = prefix + ".corpus.tmp";
    struct RemoveCorpus {
      std::string path;
      ~RemoveCorpus() {
        std::error_code ec;
        fs::remove(path, ec);
      }
    } remove_corpus{corpus};
    {
      std::ofstream out(corpus, std::ios::binary);
      LINEA_CHECK_T(DataError, bool(out), "prepare: cannot write ", corpus);
      std::string doc;
      for (const std::string& path : cmd.inputs) {
        LINEA_CHECK_T(DataError, fs::is_regular_file(path), "prepare: input file not found: ", path);
        DocumentReader reader(path, o.reader);
        while (reader.next(doc)) out << doc << "\n\n";
      }
      LINEA_CHECK_T(DataError, bool(out.flush()), "prepare: cannot write ", corpus);
    }
    train_sentencepiece({corpus}, prefix, int(cmd.train_vocab));
    std::printf("trained tokenizer %s (vocab %ld)\n", model.c_str(), long(cmd.train_vocab));
  }
  PrepareSummary s = prepare_shards(o);
  std::printf("wrote %zu shard(s) to %s: %ld tokens in %ld documents\n", s.shard_paths.size(), cmd.output.c_str(),
              long(s.num_tokens), long(s.num_documents));
  if (!s.valid_shard_paths.empty())
    std::printf("wrote %zu validation shard(s) to %s: %ld tokens in %ld documents\n", s.valid_shard_paths.size(),
                cmd.valid_output.c_str(), long(s.valid_num_tokens), long(s.valid_num_documents));
  std::printf("tokens per document: p50 %ld, p90 %ld, p99 %ld, max %ld\n", long(s.doc_tokens_p50),
              long(s.doc_tokens_p90), long(s.doc_tokens_p99), long(s.doc_tokens_max));
  return 0;
}

int run_plot(const PlotCommand& cmd) {
  LINEA_CHECK_T(ConfigError, !cmd.run_dirs.empty(), "plot: expected one or more run directories");
  const fs::path tmp = fs::temp_directory_path() / ("linea_plot_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::ostringstream train_cmds, valid_cmds, speed_cmds;
  for (size_t i = 0; i < cmd.run_dirs.size(); ++i) {
    const std::string metrics = cmd.run_dirs[i] + "/metrics.jsonl";
    std::ifstream in(metrics);
    LINEA_CHECK_T(DataError, bool(in), metrics, ": cannot open, expected a run directory written by linea train");
    const std::string tr = (tmp / ("train" + std::to_string(i) + ".dat")).string();
    const std::string va = (tmp / ("valid" + std::to_string(i) + ".dat")).string();
    std::ofstream ftr(tr), fva(va);
    std::string line;
    int64_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      LINEA_CHECK_T(DataError, !j.is_discarded() && j.contains("step"), metrics, ":", lineno,
                    ": not a metrics record, expected a JSON object with a step");
      if (j.contains("split") && j["loss"].is_number()) fva << j["step"] << " " << j["loss"] << "\n";
      else if (j["loss"].is_number()) ftr << j["step"] << " " << j["loss"] << " " << j.value("tokens_per_s", 0.0) << "\n";
    }
    const std::string title = fs::path(cmd.run_dirs[i]).filename().string();
    const char* sep = i ? ", " : "";
    train_cmds << sep << "'" << tr << "' using 1:2 with lines title '" << title << " train'";
    valid_cmds << ", '" << va << "' using 1:2 with linespoints title '" << title << " valid'";
    speed_cmds << sep << "'" << tr << "' using 1:3 with lines title '" << title << "'";
  }
  const std::string script = (tmp / "plot.gp").string();
  {
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 1200,500\nset output '" << cmd.output << "'\n"
       << "set multiplot layout 1,2\nset xlabel 'step'\nset ylabel 'loss'\nset grid\n"
       << "plot " << train_cmds.str() << valid_cmds.str() << "\n"
       << "set ylabel 'tokens/s'\nplot " << speed_cmds.str() << "\nunset multiplot\n";
  }
  const int rc = std::system(("gnuplot '" + script + "'").c_str());
  fs::remove_all(tmp);
  LINEA_CHECK_T(Error, rc == 0, "plot: gnuplot failed (exit ", rc, "); is gnuplot installed?");
  std::printf("wrote %s\n", cmd.output.c_str());
  return 0;
}

}  // namespace linea
