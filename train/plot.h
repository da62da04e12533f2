// `linea plot`: the train and validation loss and the tokens/s of one or more runs, drawn
// by gnuplot into a PNG, against steps, tokens seen or training time; or the perplexity
// against context length of `linea eval --context-lengths --output` files.
#pragma once
#include <string>
#include <vector>

namespace linea {

struct PlotCommand {
  std::vector<std::string> inputs;  // run directories, or context-length files (not both)
  std::string output = "runs.png";
  std::string x = "step";  // step, tokens or time (run directories only)
  bool log_x = false, log_y = false;
  double smooth = 0;  // EMA weight of the train loss in [0, 1); the raw curve is drawn faint behind
                      // (run directories only; context-length files always have a log2 x axis)
};
// Throws ConfigError for bad options and DataError for unreadable runs.
int run_plot(const PlotCommand& cmd);

}  // namespace linea
