// The `linea` command line: train, eval, prepare, info, config, plot, bench, version.
// User errors (bad recipe, data, checkpoint, arguments) exit 2, internal errors exit 1,
// each with one line on stderr.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "configs/config.h"
#include "train/bench_core.h"
#include "train/commands.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  CLI::App app{"linea: train, resume and evaluate transformer language models", "linea"};
  app.require_subcommand(1);

  linea::TrainCommand train;
  CLI::App* train_cmd = app.add_subcommand("train", "train a YAML recipe");
  train_cmd->add_option("recipe", train.recipe, "recipe YAML")->required();
  train_cmd->add_option("--set", train.overrides, "override a recipe key, e.g. --set optim.lr=3e-4")->take_all();
  train_cmd->add_option("--run-dir", train.run_dir, "run directory (default runs/<recipe name>)");
  train_cmd->add_option("--resume", train.resume, "auto (latest checkpoint of the run directory) or a checkpoint path");
  train_cmd->add_flag("!--no-progress", train.progress, "no progress line on stderr");

  linea::EvalCommand eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "perplexity of a checkpoint on token shards");
  eval_cmd->add_option("checkpoint", eval.checkpoint, "checkpoint .h5")->required();
  eval_cmd->add_option("--data", eval.data, "folder of token shards from linea prepare")->required();
  eval_cmd->add_option("--seq-len", eval.seq_len, "window length (default: the recipe's data.seq_len)");
  eval_cmd->add_option("--stride", eval.stride, "window stride (default: seq-len, disjoint windows)");
  eval_cmd->add_option("--batch", eval.batch, "windows per forward");
  eval_cmd->add_option("--device", eval.device, "cpu, cuda or cuda:N (default: the recipe's)");

  linea::PrepareCommand prepare;
  CLI::App* prepare_cmd = app.add_subcommand("prepare", "tokenize text or JSONL corpora into HDF5 token shards");
  prepare_cmd
      ->add_option("--tokenizer", prepare.tokenizer,
                   "X.model (SentencePiece), tokenizer.json (byte-level BPE), vocab.txt (WordPiece), "
                   "or spm:/bpe:/wordpiece:/wordpiece-cased:PATH")
      ->required();
  prepare_cmd->add_option("--train-vocab", prepare.train_vocab, "train the tokenizer on the inputs first, with this vocabulary size");
  prepare_cmd->add_option("--input", prepare.inputs, "UTF-8 text or JSONL files, optionally .gz")->required();
  prepare_cmd->add_option("--output", prepare.output, "output folder")->required();
  prepare_cmd->add_option("--shard-tokens", prepare.shard_tokens, "tokens per shard");
  prepare_cmd->add_option("--format", prepare.format,
                          "text (blank-line separated), lines (a document per line), jsonl, or auto (by extension)");
  prepare_cmd->add_option("--text-field", prepare.text_field, "the JSONL field holding each document");
  prepare_cmd->add_flag("--replace-invalid-utf8", prepare.replace_invalid_utf8, "replace ill-formed UTF-8 with U+FFFD");
  prepare_cmd->add_flag("--force", prepare.force, "replace shards already in the output folder");
  prepare_cmd->add_option("--threads", prepare.threads, "encoding threads (0: all cores)");
  prepare_cmd->add_flag("--progress", prepare.progress, "progress on stderr even when it is not a terminal");
  prepare_cmd->add_option("--valid-fraction", prepare.valid_fraction, "fraction of the documents for --valid-output");
  prepare_cmd->add_option("--valid-output", prepare.valid_output, "output folder for the validation documents");
  prepare_cmd->add_option("--split-seed", prepare.split_seed, "seed of the train/validation document split");

  std::string info_path;
  CLI::App* info_cmd = app.add_subcommand("info", "config, step, parameters and tensors of a checkpoint");
  info_cmd->add_option("checkpoint", info_path, "checkpoint .h5")->required();

  linea::PlotCommand plot;
  CLI::App* plot_cmd = app.add_subcommand("plot", "draw train/valid loss and tokens/s of runs into a PNG");
  plot_cmd->add_option("run_dirs", plot.run_dirs, "run directories")->required();
  plot_cmd->add_option("--output", plot.output, "PNG path");

  CLI::App* bench_cmd = app.add_subcommand("bench", "throughput: bench core [--device cpu|cuda] [--quick] | bench decoder|encoder RECIPE [--steps N] [--set k=v]");
  bench_cmd->prefix_command();  // its arguments go to run_bench_command unparsed

  std::string config_recipe;
  std::vector<std::string> config_overrides;
  CLI::App* config_cmd = app.add_subcommand("config", "print a recipe fully resolved (base: and --set applied)");
  config_cmd->add_option("recipe", config_recipe, "recipe YAML")->required();
  config_cmd->add_option("--set", config_overrides, "override a recipe key")->take_all();

  CLI::App* version_cmd = app.add_subcommand("version", "print the version and the backends built");

  if (argc < 2) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  const std::string first = argv[1];
  bool known = first[0] == '-';
  for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->get_name() == first;
  if (!known) {
    std::fprintf(stderr, "error: linea: unknown command '%s', expected one of train, eval, prepare, info, config, plot, bench, version\n",
                 first.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: linea: %s\n", e.what());
    return 2;
  }

  try {
    if (*train_cmd) return linea::run_train(train);
    if (*eval_cmd) return linea::run_eval(eval);
    if (*prepare_cmd) return linea::run_prepare(prepare);
    if (*info_cmd) return linea::run_info(info_path);
    if (*config_cmd) {
      std::printf("%s", linea::dump_config(linea::load_config(config_recipe, config_overrides)).c_str());
      return 0;
    }
    if (*plot_cmd) return linea::run_plot(plot);
    if (*bench_cmd) return linea::run_bench_command(bench_cmd->remaining());
    if (*version_cmd) {
      std::printf("linea %s (CUDA %s, %d GPU(s) visible)\n", LINEA_VERSION, linea::cuda_built() ? "built" : "not built",
                  linea::cuda_device_count());
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
