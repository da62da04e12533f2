#include "train/commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>
#include <unistd.h>

#include "configs/config.h"
#include "core/io/hdf5_file.h"
#include "data/prepare.h"
#include "data/readers.h"
#include "data/synthetic_shards.h"
#include "data/token_shards.h"
#include "data/tokenizer.h"
#include "layers/decoder.h"
#include "layers/encoder.h"
#include "train/checkpoint.h"
#include "train/context_length_eval.h"
#include "train/evaluate.h"
#include "train/objective.h"
#include "train/recipe_info.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;

namespace linea {

namespace {

// The shards to evaluate on, checked against the checkpoint: the tokenizer it was trained
// with (when it records one) and the vocabulary of its embeddings.
TokenShards open_eval_shards(const std::string& dir, const std::string& checkpoint, const Config& cfg,
                             const TrainerState& state) {
  TokenShards shards(dir);
  if (!state.tokenizer_sha256.empty() && state.tokenizer_sha256 != shards.tokenizer_sha256())
    throw DataError(str_cat("eval: ", checkpoint, " was trained on data from the tokenizer with sha256 ",
                            state.tokenizer_sha256.substr(0, 12), ", the shards in ", dir, " come from ",
                            shards.tokenizer().empty() ? "?" : shards.tokenizer(), " (sha256 ",
                            shards.tokenizer_sha256().substr(0, 12), "); expected shards of the same tokenizer"));
  check_vocab(str_cat("eval: ", dir), shards, cfg.model);
  return shards;
}

// Encoders: MLM loss, perplexity and accuracy over every example of the shards, masked at
// data.mlm.eval_mask_ratio with the validation mask stream (--stride does not apply).
EvalResult eval_mlm(const std::string& checkpoint, const std::string& data_dir, const Config& cfg, Device device,
                    int64_t seq_len, int64_t batch) {
  Encoder model(cfg.model, device);
  TrainerState state;
  load_checkpoint(checkpoint, model, nullptr, &state);
  TokenShards shards = open_eval_shards(data_dir, checkpoint, cfg, state);
  Config c = cfg;
  c.data.seq_len = seq_len;
  MlmDataset data(shards, mlm_options(c, shards, cfg.data.mlm.eval_mask_ratio, uint64_t(cfg.seed) ^ kValidMaskStream));
  return evaluate_mlm(model, data, 0, batch);
}

void warn_beyond_trained_context(const char* option, int64_t length, const Config& cfg) {
  if (length > cfg.data.seq_len)
    std::fprintf(stderr, "linea: warning: eval: %s %ld is longer than the %ld tokens the model was trained on; "
                 "positions beyond them were never seen in training\n", option, long(length), long(cfg.data.seq_len));
}

// `linea eval --context-lengths`: the table on stdout and, with --output, as JSON lines.
int eval_context_lengths(const EvalCommand& cmd, const std::string& checkpoint, const std::string& data,
                         const Config& cfg, Device device) {
  LINEA_CHECK_T(ConfigError, cfg.model.kind == ModelKind::decoder, "eval: --context-lengths: ", checkpoint,
                " is an encoder (masked LM), expected a decoder checkpoint");
  ContextLengthOptions opt;
  opt.lengths = cmd.context_lengths;
  opt.score_last = cmd.score_last;
  opt.stride = cmd.stride;
  opt.micro_batch = cmd.batch;
  opt.batch_tokens = kEvalTokensPerBatch;
  check_context_length_options(opt, cfg.model.max_seq_len);
  if (!cmd.output.empty()) check_output_folder("eval: --output", cmd.output);  // before the work it would lose
  warn_beyond_trained_context("--context-lengths", opt.lengths.back(), cfg);
  std::fprintf(stderr, "linea: eval %s on %s%s: context lengths %ld to %ld, the last %ld tokens of windows every "
               "%ld tokens scored at each\n", checkpoint.c_str(), data.c_str(),
               cmd.data.empty() ? " (the recipe's data.valid)" : "", long(opt.lengths.front()),
               long(opt.lengths.back()), long(opt.targets_per_window()), long(opt.window_stride()));
  Decoder model(cfg.model, device);
  TrainerState state;
  load_checkpoint(checkpoint, model, nullptr, &state);
  TokenShards shards = open_eval_shards(data, checkpoint, cfg, state);
  const std::vector<ContextLengthRow> rows = evaluate_context_lengths(model, shards, opt, device);
  std::printf("%s", format_context_length_table(rows).c_str());
  if (!cmd.output.empty()) {
    write_context_length_file(cmd.output, rows,
                              {checkpoint, data, state.step, opt.targets_per_window(), opt.window_stride()});
    std::fprintf(stderr, "linea: wrote %s\n", cmd.output.c_str());
  }
  return 0;
}

}  // namespace

int run_eval(const EvalCommand& cmd) {
  const std::string checkpoint = resolve_checkpoint(cmd.checkpoint);
  Config cfg = parse_config(read_checkpoint_config(checkpoint), checkpoint);
  const Device device = cmd.device.empty() ? cfg.train.device : device_from_name(cmd.device);
  LINEA_CHECK_T(ConfigError, cfg.data.objective != Objective::classification, "eval: ", checkpoint,
                " is a fine-tuned classifier; its dev metrics are in the run's metrics.jsonl (train.eval_every), "
                "expected a pretraining (causal or MLM) checkpoint");
  const std::string data = cmd.data.empty() ? cfg.data.valid : cmd.data;
  if (!cmd.context_lengths.empty()) return eval_context_lengths(cmd, checkpoint, data, cfg, device);
  const int64_t seq_len = cmd.seq_len > 0 ? cmd.seq_len : cfg.data.seq_len;
  LINEA_CHECK_T(ConfigError, seq_len <= cfg.model.max_seq_len, "eval: --seq-len ", seq_len,
                " exceeds the model's max_seq_len ", cfg.model.max_seq_len);
  warn_beyond_trained_context("--seq-len", seq_len, cfg);
  const int64_t batch = cmd.batch > 0 ? cmd.batch : std::max<int64_t>(1, kEvalTokensPerBatch / seq_len);
  // Said once the inputs are known good, so that bad input gets its one error line alone.
  auto announce = [&] {
    std::fprintf(stderr, "linea: eval %s on %s%s: seq-len %ld, %ld windows per forward\n", checkpoint.c_str(),
                 data.c_str(), cmd.data.empty() ? " (the recipe's data.valid)" : "", long(seq_len), long(batch));
  };
  if (cfg.model.kind == ModelKind::encoder) {
    announce();
    EvalResult r = eval_mlm(checkpoint, data, cfg, device, seq_len, batch);
    std::printf("masked tokens %ld | mean nll %.6f | perplexity %.4f | mlm accuracy %.4f\n", long(r.tokens),
                r.mean_nll, r.perplexity(), r.accuracy.value_or(0));
    return 0;
  }
  Decoder model(cfg.model, device);
  TrainerState state;
  load_checkpoint(checkpoint, model, nullptr, &state);
  TokenShards shards = open_eval_shards(data, checkpoint, cfg, state);
  const int64_t stride = cmd.stride > 0 ? cmd.stride : seq_len;
  check_windows_are_examples(shards, seq_len, stride, "eval");
  announce();
  EvalResult r = evaluate_sliding(model, shards, seq_len, stride, batch, device);
  // Shards with a /loss_mask score their targets only; then the argmax accuracy too.
  std::printf("tokens %ld | mean nll %.6f | perplexity %.4f", long(r.tokens), r.mean_nll, r.perplexity());
  if (r.target_accuracy) std::printf(" | accuracy %.4f", *r.target_accuracy);
  if (r.example_accuracy)
    std::printf(" | example accuracy %.4f over %ld %s examples", *r.example_accuracy, long(r.examples),
                shards.synthetic_task().c_str());
  std::printf("\n");
  return 0;
}

namespace {

bool is_shard_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.path().filename().string().rfind("shard_", 0) == 0 && e.path().extension() == ".h5") return true;
  return false;
}

bool is_shard_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    return H5File::open_read(path, H5Errors::data).exists("/tokens");
  } catch (const Error&) {
    return false;  // not HDF5: reported as a checkpoint problem
  }
}

// What `linea info` prints for token shards: the folder a shard file belongs to, as
// TokenShards reads it (the same checks training makes).
int describe_shards(const std::string& path) {
  const bool file = !fs::is_directory(path);
  const std::string dir = file ? (fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string()) : path;
  TokenShards s(dir);
  if (file)
    std::printf("shard          %s: %ld tokens\n", path.c_str(),
                long(H5File::open_read(path, H5Errors::data).length("/tokens")));
  std::printf("shard folder   %s: %ld shard(s)\n", dir.c_str(), long(s.num_shards()));
  std::printf("tokens         %ld\n", long(s.total_tokens()));
  if (s.has_documents()) std::printf("documents      %ld\n", long(s.num_documents()));
  else std::printf("documents      (no boundaries recorded)\n");
  std::printf("tokenizer      %s (%s, sha256 %s)\n", s.tokenizer().empty() ? "?" : s.tokenizer().c_str(),
              s.tokenizer_kind().empty() ? "kind not recorded" : s.tokenizer_kind().c_str(), s.tokenizer_sha256().c_str());
  std::printf("vocab size     %ld\n", long(s.vocab_size()));
  std::printf("special ids    bos %ld, eos %ld, pad %ld, unk %ld; eos after every document: %s\n", long(s.bos_id()),
              long(s.eos_id()), long(s.pad_id()), long(s.unk_id()), s.append_eos() ? "yes" : "no");
  if (!s.synthetic_task().empty())
    std::printf("synthetic      %s, examples of %ld tokens: %s\n", s.synthetic_task().c_str(), long(s.example_tokens()),
                s.synthetic_settings().c_str());
  return 0;
}

// `linea info --verify`: each file read completely, every checksum checked; a line per
// intact file on stdout, an error line per damaged object on stderr (then exit 2).
int verify_files(const std::vector<std::string>& files, bool shards) {
  bool intact = true;
  for (const std::string& file : files) {
    const H5File::VerifyReport r = shards ? H5File::verify_file(file, H5Errors::data) : verify_checkpoint(file);
    for (const std::string& damage : r.damaged) std::fprintf(stderr, "error: %s\n", damage.c_str());
    intact = intact && r.damaged.empty();
    if (r.damaged.empty())
      std::printf("%s: intact, %ld datasets and %ld attributes read%s\n", file.c_str(), long(r.datasets),
                  long(r.attributes),
                  r.checksummed ? ", every checksum matches"
                                : "; it has no checksums (an older linea wrote it), so damage cannot be detected");
  }
  return intact ? 0 : 2;
}

}  // namespace

int run_info(const std::string& path, bool verify) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    LINEA_CHECK_T(ConfigError, !verify, "info: --verify reads checkpoints and shards; ", path,
                  " is a recipe (expected a checkpoint, a run directory or shards)");
    return describe_recipe(path);
  }
  if (is_shard_folder(path) || is_shard_file(path)) {
    if (!verify) return describe_shards(path);
    return verify_files(fs::is_directory(path) ? TokenShards::files(path) : std::vector<std::string>{path}, true);
  }
  const std::string checkpoint = resolve_checkpoint(path);
  if (verify) return verify_files({checkpoint}, false);
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
  std::printf("\n# config\n%s\n# layout\n", info.config_yaml.c_str());
  for (const std::string& line : layout_summary(parse_config(info.config_yaml, checkpoint).model))
    std::printf("%s\n", line.c_str());
  std::printf("\n# tensors\n");
  for (const auto& t : info.model_tensors)
    std::printf("%-56s %-16s %ld\n", t.name.c_str(), shape_str(t.shape).c_str(), long(shape_numel(t.shape)));
  return 0;
}

namespace {

// `linea prepare --synthetic TASK`: every setting checked before anything is written.
int prepare_synthetic(const PrepareCommand& cmd) {
  const std::string where = "prepare: --synthetic " + cmd.synthetic;
  SyntheticShardOptions o;
  o.task.task = parse_synthetic_task(cmd.synthetic);
  std::string missing;
  for (const auto& [given, option] : {std::pair<bool, const char*>{cmd.vocab > 0, "--vocab V"},
                                      {cmd.seq_len > 0, "--seq-len L"},
                                      {cmd.examples > 0, "--examples N"},
                                      {cmd.seed >= 0, "--seed S"},
                                      {cmd.pairs > 0 || o.task.task != SyntheticTask::mqar, "--pairs P"}})
    if (!given) missing += (missing.empty() ? "" : ", ") + std::string(option);
  LINEA_CHECK_T(ConfigError, missing.empty(), where, ": missing ", missing);
  const bool mqar = o.task.task == SyntheticTask::mqar;
  LINEA_CHECK_T(ConfigError, mqar || (cmd.pairs == 0 && cmd.query_layout.empty() && cmd.random_non_queries.empty()),
                where, ": --pairs, --query-layout and --random-non-queries are for mqar only");
  o.task.vocab_size = cmd.vocab;
  o.task.seq_len = cmd.seq_len;
  o.task.pairs = cmd.pairs;
  if (!cmd.query_layout.empty()) o.task.query_layout = parse_mqar_query_layout(cmd.query_layout);
  LINEA_CHECK_T(ConfigError, cmd.random_non_queries.empty() || o.task.query_layout == MqarQueryLayout::zoology, where,
                ": --random-non-queries is for --query-layout zoology (after_sep pads after the queries)");
  o.task.random_non_queries = cmd.random_non_queries != "false";
  o.task.seed = uint64_t(cmd.seed);
  o.examples = cmd.examples;
  o.output_dir = cmd.output;
  o.force = cmd.force;
  const SyntheticShardSummary s = write_synthetic_shards(o);
  std::printf("wrote 1 shard to %s: %ld %s examples of %ld tokens (seed %ld), %ld tokens, %ld scored targets\n",
              cmd.output.c_str(), long(cmd.examples), cmd.synthetic.c_str(), long(cmd.seq_len), long(cmd.seed),
              long(s.tokens), long(s.scored));
  return 0;
}

}  // namespace

int run_prepare(const PrepareCommand& cmd) {
  if (!cmd.synthetic.empty()) return prepare_synthetic(cmd);
  LINEA_CHECK_T(ConfigError, !cmd.tokenizer.empty(), "prepare: --tokenizer is required (or --synthetic TASK)");
  LINEA_CHECK_T(ConfigError, !cmd.inputs.empty(), "prepare: no --input files given");
  PrepareOptions o;
  o.tokenizer_model = cmd.tokenizer;
  o.input_files = cmd.inputs;
  o.output_dir = cmd.output;
  o.shard_tokens = cmd.shard_tokens;
  o.reader.format = parse_corpus_format(cmd.format);
  o.reader.text_field = cmd.text_field;
  o.reader.prompt_field = cmd.prompt_field;
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
    // Shards and checkpoints name the tokenizer by its sha256: retraining it in place would
    // orphan them, so replacing one takes the same --force as replacing shards.
    LINEA_CHECK_T(ConfigError, cmd.force || !fs::exists(model), "prepare: --tokenizer ", model,
                  " already exists and shards or checkpoints may depend on it; expected --force to retrain and "
                  "replace it, or no --train-vocab to use it as it is");
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

}  // namespace linea
