// A run's metrics.jsonl read into the curves `linea plot` draws: train loss (raw and
// smoothed), tokens/s and evaluation loss against the chosen x axis. Kept apart from the
// gnuplot script so that the reading can be tested without gnuplot.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

enum class PlotAxis { step, tokens, time };  // optimizer step, tokens seen, elapsed_s

// "step", "tokens" or "time"; anything else is a ConfigError naming --x.
PlotAxis parse_plot_axis(const std::string& name);

struct TrainPoint {
  double x = 0, loss = 0, smoothed_loss = 0, tokens_per_s = 0;
};
struct EvalPoint {
  double x = 0, loss = 0;
};
struct RunCurves {
  std::vector<TrainPoint> train;  // rows with a finite loss, in file order
  std::vector<EvalPoint> eval;
};

// Reads RUN_DIR/metrics.jsonl. Rows without "split" (written before linea logged it) or with
// split "train" are train rows; any other split is an evaluation. In tokens and time mode an
// evaluation takes the x of the train row of its step, or of the closest earlier one (0 when
// none). Throws DataError for a missing file, a malformed row, no train loss at all, or a
// train row without the field the axis needs (tokens_seen, elapsed_s).
RunCurves read_run_curves(const std::string& run_dir, PlotAxis axis, double smoothing);

// TensorBoard's smoothing: an exponential moving average with weight `weight` in [0, 1),
// debiased so that the first points are not pulled towards 0. weight 0 returns the input.
std::vector<double> smooth_ema(const std::vector<double>& values, double weight);

}  // namespace linea
