// The `linea` command line: train, eval, generate, prepare, info, config, plot, bench, version, help.
// User errors (bad recipe, data, checkpoint, arguments) exit 2, internal errors exit 1,
// each with one line on stderr.
#include <malloc.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cuda_probe.h"
#include "core/error.h"
#include "configs/config.h"
#include "configs/config_keys.h"
#include "train/bench.h"
#include "train/commands.h"
#include "train/generate.h"
#include "train/hf_transfer.h"
#include "train/context_length_eval.h"
#include "train/model_builder.h"
#include "train/plot.h"
#include "train/trainer.h"

namespace {

const char* kCheckpointHelp = "checkpoint .h5, a run directory (its latest checkpoint) or its `latest` file";

// Counts (--seq-len, --steps, ...): 0 never means "default" on the command line.
const CLI::Validator kPositive(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      return !text.empty() && *end == '\0' && v > 0 ? "" : "expected an integer > 0, got " + text;
    },
    "");

// Whether `word` is one of app's subcommands (or an option); prints the error otherwise.
bool known_subcommand(const CLI::App& app, const std::string& word, const char* what) {
  std::string names;
  bool known = word[0] == '-';
  for (const CLI::App* sub : app.get_subcommands({})) {
    known = known || sub->get_name() == word;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  if (!known) std::fprintf(stderr, "error: %s '%s', expected one of %s\n", what, word.c_str(), names.c_str());
  return known;
}

// The CUDA part names the runtime and driver versions and, without a usable GPU, why.
std::string version_line() {
  return linea::str_cat("linea ", LINEA_VERSION, " (", linea::cuda_probe_summary(linea::cuda_probe()), ")");
}

}  // namespace

int main(int argc, char** argv) {
  // glibc hands a freed heap top back to the OS past 128 KiB and maps it again on the next
  // allocation: the CPU kernels' per-step temporaries (Eigen's blocks, a chunked kernel's
  // saved intermediates) then spend most of their time in brk and page faults (measured: 60%
  // of `bench kda`). Keep up to 1 GiB of freed heap, and grow it 64 MiB at a time.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  CLI::App app{"linea: train, resume and evaluate transformer language models", "linea"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_line());

  linea::TrainCommand train;
  CLI::App* train_cmd = app.add_subcommand("train", "train a YAML recipe (or continue a run directory's)");
  train_cmd->add_option("recipe", train.recipe,
                        "recipe YAML; may be left out with --run-dir DIR --resume auto, which then uses DIR/config.yaml");
  train_cmd->add_option("--set", train.overrides, "override a recipe key, e.g. --set optim.lr=3e-4")->take_all();
  train_cmd->add_option("--run-dir", train.run_dir, "run directory (default runs/<recipe name>)");
  train_cmd->add_option("--resume", train.resume, "auto (latest checkpoint of the run directory) or a checkpoint path");
  train_cmd->add_flag("--no-progress", train.no_progress,
                      "no per-step progress lines on stderr (evaluations, checkpoints and the summary still print)");
  train_cmd->add_flag("--dry-run", train.dry_run,
                      "print the resolved recipe, parameters, FLOPs per token and estimated peak memory, then exit");

  linea::EvalCommand eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "perplexity of a checkpoint on token shards");
  eval_cmd->add_option("checkpoint", eval.checkpoint, kCheckpointHelp)->required();
  eval_cmd->add_option("--data", eval.data, "folder of token shards from linea prepare (default: the checkpoint's data.valid)");
  CLI::Option* eval_seq_len = eval_cmd->add_option("--seq-len", eval.seq_len, "window length (default: the recipe's data.seq_len)")
      ->check(kPositive);
  eval_cmd->add_option("--stride", eval.stride,
                       "window stride (default: seq-len, disjoint windows; with --context-lengths the longest length)")
      ->check(kPositive);
  std::string context_lengths;
  CLI::Option* eval_context =
      eval_cmd
          ->add_option("--context-lengths", context_lengths,
                       "perplexity against context length, e.g. 128,256,512 (each <= the model's max_seq_len): the "
                       "same targets, the last --score-last tokens of windows of the longest length + 1, scored "
                       "with each length of context; prints a table")
          ->excludes(eval_seq_len);
  eval_cmd->add_option("--score-last", eval.score_last,
                       "with --context-lengths: targets per window, at most the shortest length; the j-th of S sees "
                       "L - S + 1 + j tokens of context at length L (default: half the shortest length; 1: exactly L)")
      ->check(kPositive)
      ->needs(eval_context);
  eval_cmd->add_option("--output", eval.output,
                       "with --context-lengths: also write the table as JSON lines, which `linea plot FILE` draws")
      ->needs(eval_context);
  eval_cmd->add_option("--batch", eval.batch,
                       linea::str_cat("windows per forward (default: as many as make ", linea::kEvalTokensPerBatch,
                                      " tokens, e.g. ", linea::kEvalTokensPerBatch / 256, " at seq-len 256)"))
      ->check(kPositive);
  eval_cmd->add_option("--device", eval.device, "cpu, cuda or cuda:N (default: the recipe's)");

  linea::GenerateCommand generate;
  CLI::App* generate_cmd =
      app.add_subcommand("generate", "continue prompts with a decoder checkpoint (prefill, then cached decoding steps)");
  generate_cmd->add_option("checkpoint", generate.checkpoint, kCheckpointHelp)->required();
  generate_cmd->add_option("--prompt", generate.prompts, "prompt text; repeat for a batch of prompts");
  generate_cmd->add_option("--prompt-file", generate.prompt_file, "a file of prompts, one per non-empty line (one batch)");
  generate_cmd->add_option("--max-new-tokens", generate.max_new_tokens, "tokens to generate per prompt")->check(kPositive);
  generate_cmd->add_option("--temperature", generate.sampling.temperature, "softmax temperature; 0: greedy (default 1)");
  generate_cmd->add_option("--top-k", generate.sampling.top_k, "sample among the k most likely tokens (0: all)");
  generate_cmd->add_option("--top-p", generate.sampling.top_p, "nucleus: the fewest tokens whose probability reaches p");
  generate_cmd->add_option("--seed", generate.seed, "sampling seed (each prompt of a batch has its own stream)");
  generate_cmd->add_flag("--stream", generate.stream, "print the text as it is generated (a single prompt)");
  generate_cmd->add_option("--tokenizer", generate.tokenizer,
                           "tokenizer spec (default: the recipe's data.tokenizer or the training shards'); its sha256 "
                           "must match the checkpoint's");
  generate_cmd->add_option("--device", generate.device, "cpu, cuda or cuda:N (default: the recipe's)");

  linea::ImportCommand import;
  CLI::App* import_cmd = app.add_subcommand(
      "import", "a Hugging Face model folder (Llama, Mistral, TransNormerLLM: config.json, safetensors, tokenizer) "
                "as a linea checkpoint");
  import_cmd->add_option("folder", import.folder, "folder holding config.json and model.safetensors (or its index)")
      ->required();
  import_cmd->add_option("--output", import.output, "the checkpoint .h5 to write")->required();

  linea::ExportCommand export_;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "a decoder checkpoint as a Hugging Face model folder (config.json, model.safetensors, tokenizer)");
  export_cmd->add_option("checkpoint", export_.checkpoint, kCheckpointHelp)->required();
  export_cmd->add_option("--output", export_.output, "the folder to create (absent or empty)")->required();
  export_cmd->add_option("--dtype", export_.dtype, "stored dtype: f32 (default; exact), bf16 or f16");
  export_cmd->add_option("--tokenizer", export_.tokenizer,
                         "tokenizer spec to copy (default: the checkpoint's own, as generate finds it)");
  export_cmd->add_flag("--merge-lora", export_.merge_lora, "fold LoRA adapters into the weights (W + alpha/r B A)");

  linea::PrepareCommand prepare;
  CLI::App* prepare_cmd = app.add_subcommand(
      "prepare", "tokenize text or JSONL corpora into HDF5 token shards, or generate a synthetic task's examples");
  // Text corpora (--tokenizer and --input required) ...
  std::vector<CLI::Option*> text_options = {
      prepare_cmd->add_option("--tokenizer", prepare.tokenizer,
                              "X.model (SentencePiece), tokenizer.json (byte-level BPE), vocab.txt (WordPiece), "
                              "or spm:/bpe:/wordpiece:/wordpiece-cased:PATH (required without --synthetic)"),
      prepare_cmd->add_option("--train-vocab", prepare.train_vocab,
                              "train the tokenizer on the inputs first, with this vocabulary size"),
      prepare_cmd->add_option("--input", prepare.inputs,
                              "UTF-8 text or JSONL files, optionally .gz (required without --synthetic)"),
      prepare_cmd->add_option("--shard-tokens", prepare.shard_tokens, "tokens per shard"),
      prepare_cmd->add_option("--format", prepare.format,
                              "text (blank-line separated), lines (a document per line), jsonl, or auto (by extension)"),
      prepare_cmd->add_option("--text-field", prepare.text_field, "the JSONL field holding each document"),
      prepare_cmd->add_option("--prompt-field", prepare.prompt_field,
                              "JSONL: a field holding a prompt; each document is prompt + --text-field (the response), "
                              "and training scores the response tokens only"),
      prepare_cmd->add_flag("--replace-invalid-utf8", prepare.replace_invalid_utf8,
                            "replace ill-formed UTF-8 with U+FFFD"),
      prepare_cmd->add_option("--threads", prepare.threads, "encoding threads (0: all cores)"),
      prepare_cmd->add_flag("--progress", prepare.progress, "progress on stderr even when it is not a terminal"),
      prepare_cmd->add_option("--valid-fraction", prepare.valid_fraction, "fraction of the documents for --valid-output"),
      prepare_cmd->add_option("--valid-output", prepare.valid_output, "output folder for the validation documents"),
      prepare_cmd->add_option("--split-seed", prepare.split_seed, "seed of the train/validation document split")};
  prepare_cmd->add_option("--output", prepare.output, "output folder")->required();
  prepare_cmd->add_flag("--force", prepare.force, "replace shards already in the output folder");
  // ... or a synthetic task (kimi_linear spec §8.1-8.2; docs/architecture.md "Synthetic tasks").
  CLI::Option* synthetic_opt =
      prepare_cmd->add_option("--synthetic", prepare.synthetic,
                              "generate examples of mqar (Zoology's multi-query associative recall), palindrome or "
                              "stack instead of tokenizing text; the loss mask marks the answers")
          ->check(CLI::IsMember({"mqar", "palindrome", "stack"}));
  for (CLI::Option* o : text_options) synthetic_opt->excludes(o);
  prepare_cmd->add_option("--vocab", prepare.vocab, "--synthetic: vocabulary size V")->check(kPositive)->needs(synthetic_opt);
  prepare_cmd->add_option("--seq-len", prepare.seq_len, "--synthetic: tokens per example L (train with data.seq_len L)")
      ->check(kPositive)
      ->needs(synthetic_opt);
  prepare_cmd->add_option("--examples", prepare.examples, "--synthetic: number of examples")
      ->check(kPositive)
      ->needs(synthetic_opt);
  prepare_cmd->add_option("--seed", prepare.seed, "--synthetic: generator seed (train and test sets need different ones)")
      ->check(CLI::NonNegativeNumber)
      ->needs(synthetic_opt);
  prepare_cmd->add_option("--pairs", prepare.pairs, "--synthetic mqar: key-value pairs P (and queries), 4P <= L")
      ->check(kPositive)
      ->needs(synthetic_opt);
  prepare_cmd
      ->add_option("--query-layout", prepare.query_layout,
                   "--synthetic mqar: zoology (queries spread over the sequence, default) or after_sep (all after a "
                   "separator, the Kimi paper's illustration)")
      ->check(CLI::IsMember({"zoology", "after_sep"}))
      ->needs(synthetic_opt);
  prepare_cmd
      ->add_option("--random-non-queries", prepare.random_non_queries,
                   "--synthetic mqar: true (default) fills positions without a key, value or query with uniform "
                   "tokens, false with 0")
      ->check(CLI::IsMember({"true", "false"}))
      ->needs(synthetic_opt);

  std::string info_path;
  CLI::App* info_cmd =
      app.add_subcommand("info", "config, step, parameters and tensors of a checkpoint, what a token shard holds, or "
                                 "a recipe's parameter count (total and per token)");
  info_cmd->add_option("path", info_path,
                       linea::str_cat(kCheckpointHelp, ", a token shard (folder or .h5), or a recipe (.yaml: its model "
                                                       "counted without allocating it)"))
      ->required();
  bool info_verify = false;
  info_cmd->add_flag("--verify", info_verify,
                     "read the checkpoint or every shard completely, checking every checksum; "
                     "names each damaged dataset (exit 2)");

  linea::PlotCommand plot;
  CLI::App* plot_cmd = app.add_subcommand(
      "plot", "draw train/valid loss and tokens/s of runs, or perplexity against context length, into a PNG");
  plot_cmd->add_option("inputs", plot.inputs,
                       "run directories, or files of linea eval --context-lengths --output (perplexity against "
                       "context length, log2 x axis)")
      ->required();
  plot_cmd->add_option("--output", plot.output, "PNG path (default runs.png)");
  plot_cmd->add_option("--x", plot.x,
                       "runs' x axis: step (optimizer steps), tokens (tokens seen) or time (training seconds)");
  plot_cmd->add_flag("--log-x", plot.log_x, "logarithmic x axis");
  plot_cmd->add_flag("--log-y", plot.log_y, "logarithmic loss axis");
  plot_cmd->add_option("--smooth", plot.smooth,
                       "EMA weight in [0, 1) for the train loss, as TensorBoard's smoothing (0: none); "
                       "the raw curve stays faint behind");

  linea::BenchCommand bench;
  CLI::App* bench_cmd = app.add_subcommand("bench", "throughput benchmarks: core kernels, a recipe's decoder or encoder, generation, attention");
  bench_cmd->require_subcommand(1);
  CLI::App* bench_core = bench_cmd->add_subcommand("core", "GEMM GFLOP/s and memory-bound kernels' GB/s");
  bench_core->add_option("--device", bench.device, "cpu, cuda or cuda:N (default: cpu, and cuda:0 when present)");
  bench_core->add_flag("--quick", bench.quick, "fewer sizes and repetitions");
  for (const char* suite : {"decoder", "encoder"}) {
    CLI::App* sub = bench_cmd->add_subcommand(
        suite, std::string("training throughput of a recipe's ") + suite +
                   (std::string(suite) == "decoder" ? " on random token ids"
                                                    : ": unpadded vs padded MLM on a BERT-like batch (~50% padding)"));
    sub->add_option("recipe", bench.recipe, "recipe YAML")->required();
    sub->add_option("--steps", bench.steps, "timed steps")->check(kPositive);
    sub->add_option("--set", bench.overrides, "override a recipe key")->take_all();
    if (std::string(suite) == "encoder")
      sub->add_option("--save-batch", bench.save_batch, "write the batch and FLOP counts for the PyTorch reference");
  }

  CLI::App* bench_generate = bench_cmd->add_subcommand(
      "generate", "decoding speed of a decoder checkpoint by context length (prefill, then greedy cached steps)");
  bench_generate->add_option("checkpoint", bench.checkpoint, kCheckpointHelp)->required();
  bench_generate->add_option("--contexts", bench.contexts, "prompt lengths in tokens, e.g. 128,1024,4096")
      ->delimiter(',')
      ->check(kPositive);
  bench_generate->add_option("--new-tokens", bench.new_tokens, "greedy tokens generated per context")->check(kPositive);
  bench_generate->add_option("--data", bench.data, "token shards the prompts come from (default: the checkpoint's data.valid)");
  bench_generate->add_option("--save", bench.save_batch, "write the prompts and generated tokens (HDF5) for the PyTorch loop");
  bench_generate->add_option("--device", bench.device, "cpu, cuda or cuda:N (default: the recipe's)");

  // The sequence mixers alone, by length: lightning vs softmax, and KDA (chunked, recurrent) vs softmax.
  for (const auto& [suite, what] : {std::pair<const char*, const char*>{"attention", "lightning vs softmax attention"},
                                    {"kda", "Kimi Delta Attention (chunked, recurrent) vs softmax attention"}}) {
    CLI::App* mixer = bench_cmd->add_subcommand(
        suite, std::string("forward + backward time and memory of ") + what + " alone, by sequence length");
    mixer->add_option("--lengths", bench.contexts, "sequence lengths, e.g. 512,1024,2048")->delimiter(',')->check(kPositive);
    mixer->add_option("--batch", bench.batch, "sequences")->check(kPositive);
    mixer->add_option("--heads", bench.heads, "heads")->check(kPositive);
    mixer->add_option("--head-dim", bench.head_dim, "head dimension of q, k and v")->check(kPositive);
    mixer->add_option("--device", bench.device, "cpu, cuda or cuda:N (default: cpu)");
  }

  std::string config_recipe;
  std::vector<std::string> config_overrides;
  bool config_keys = false;
  CLI::App* config_cmd = app.add_subcommand("config", "print a recipe fully resolved (base: and --set applied), "
                                                      "or with --keys every recipe key");
  CLI::Option* config_recipe_opt = config_cmd->add_option("recipe", config_recipe, "recipe YAML (required without --keys)");
  CLI::Option* config_set_opt = config_cmd->add_option("--set", config_overrides, "override a recipe key")->take_all();
  config_cmd->add_flag("--keys", config_keys, "print the reference of every recipe key (Markdown: type, default, meaning)")
      ->excludes(config_recipe_opt)
      ->excludes(config_set_opt);

  CLI::App* version_cmd = app.add_subcommand("version", "print the version and the backends built");
  std::string help_topic;
  CLI::App* help_cmd = app.add_subcommand("help", "help on linea or on one command: linea help [COMMAND]");
  help_cmd->add_option("command", help_topic, "a linea command");

  if (argc < 2) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  // CLI11 calls an unknown command an unexpected argument; name it and the choices instead.
  if (!known_subcommand(app, argv[1], "linea: unknown command")) return 2;
  if (std::string(argv[1]) == "bench" && argc > 2 && !known_subcommand(*bench_cmd, argv[2], "linea: bench: unknown suite"))
    return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: linea: %s\n", e.what());
    return 2;
  }

  try {
    if (*train_cmd) return linea::run_train(train);
    if (*eval_cmd) {
      if (eval_context->count() > 0) eval.context_lengths = linea::parse_context_lengths(context_lengths);
      return linea::run_eval(eval);
    }
    if (*prepare_cmd) return linea::run_prepare(prepare);
    if (*generate_cmd) return linea::run_generate(generate);
    if (*import_cmd) return linea::run_import(import);
    if (*export_cmd) return linea::run_export(export_);
    if (*info_cmd) return linea::run_info(info_path, info_verify);
    if (*config_cmd) {
      if (config_keys) {
        std::printf("%s", linea::recipe_key_reference().c_str());
        return 0;
      }
      LINEA_CHECK_T(linea::ConfigError, !config_recipe.empty(), "config: expected a RECIPE, or --keys");
      std::vector<std::string> warnings;
      const linea::Config config = linea::load_config(config_recipe, config_overrides, &warnings);
      linea::check_buildable(config);  // what `linea train` would refuse, refused here too
      for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
      std::printf("%s", linea::dump_config(config).c_str());
      return 0;
    }
    if (*plot_cmd) return linea::run_plot(plot);
    if (*bench_cmd) {
      bench.suite = bench_cmd->get_subcommands().front()->get_name();
      return linea::run_bench(bench);
    }
    if (*version_cmd) {
      std::printf("%s\n", version_line().c_str());
      return 0;
    }
    if (*help_cmd) {
      if (help_topic.empty()) {
        std::printf("%s", app.help().c_str());
        return 0;
      }
      if (!known_subcommand(app, help_topic, "linea: help: unknown command")) return 2;
      std::printf("%s", app.get_subcommand(help_topic)->help("linea").c_str());
      return 0;
    }
    return 2;
  } catch (const linea::InternalError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const linea::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return 1;
  }
}
