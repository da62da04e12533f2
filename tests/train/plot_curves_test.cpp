// Reading metrics.jsonl into plot curves: TensorBoard's debiased EMA, train rows with and
// without split/tokens_seen, evaluation x values in every axis mode, and bad runs.
#include "train/plot_curves.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::TempDir;

namespace {

void write_metrics(const TempDir& dir, const std::string& text) { std::ofstream(dir.file("metrics.jsonl")) << text; }

// Train rows at steps 2 and 4 (each 100 tokens and 10 s a step), evaluations at 3 and 4
// and one before any train row, a train row whose loss was not finite (null).
const char* kRun =
    "{\"step\":1,\"split\":\"valid\",\"loss\":9.0}\n"
    "{\"step\":2,\"split\":\"train\",\"tokens_seen\":200,\"loss\":4.0,\"tokens_per_s\":50.0,\"elapsed_s\":20.0}\n"
    "{\"step\":3,\"split\":\"valid\",\"loss\":3.5}\n"
    "{\"step\":4,\"split\":\"train\",\"tokens_seen\":400,\"loss\":2.0,\"tokens_per_s\":60.0,\"elapsed_s\":40.0}\n"
    "{\"step\":4,\"split\":\"valid\",\"loss\":2.5}\n"
    "\n"
    "{\"step\":6,\"split\":\"train\",\"tokens_seen\":600,\"loss\":null,\"elapsed_s\":60.0}\n";

}  // namespace

TEST(PlotCurves, SmoothingIsTensorBoardsDebiasedEma) {
  EXPECT_EQ(smooth_ema({3, 1, 2}, 0), (std::vector<double>{3, 1, 2}));
  const std::vector<double> s = smooth_ema({1, 0, 1}, 0.5);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0], 1.0);                 // 0.5 / (1 - 0.5)
  EXPECT_DOUBLE_EQ(s[1], 0.25 / 0.75);         // (0.25 + 0) / (1 - 0.25)
  EXPECT_DOUBLE_EQ(s[2], 0.625 / 0.875);       // (0.125 + 0.5) / (1 - 0.125)
  for (double v : smooth_ema({2, 2, 2, 2}, 0.9)) EXPECT_DOUBLE_EQ(v, 2.0);  // no pull towards 0
}

TEST(PlotCurves, StepAxis) {
  TempDir dir;
  write_metrics(dir, kRun);
  const RunCurves c = read_run_curves(dir.path(), PlotAxis::step, 0);
  ASSERT_EQ(c.train.size(), 2u);  // the null loss is left out
  EXPECT_EQ(c.train[0].x, 2);
  EXPECT_EQ(c.train[1].x, 4);
  EXPECT_EQ(c.train[1].loss, 2.0);
  EXPECT_EQ(c.train[1].smoothed_loss, 2.0);
  EXPECT_EQ(c.train[1].tokens_per_s, 60.0);
  ASSERT_EQ(c.eval.size(), 3u);
  EXPECT_EQ(c.eval[1].x, 3);
  EXPECT_EQ(c.eval[1].loss, 3.5);
}

TEST(PlotCurves, EvaluationsTakeTheXOfTheirOrAnEarlierTrainRow) {
  TempDir dir;
  write_metrics(dir, kRun);
  const RunCurves tokens = read_run_curves(dir.path(), PlotAxis::tokens, 0.5);
  EXPECT_EQ(tokens.train[1].x, 400);
  EXPECT_DOUBLE_EQ(tokens.train[1].smoothed_loss, (0.5 * 0.5 * 4 + 0.5 * 2) / 0.75);
  ASSERT_EQ(tokens.eval.size(), 3u);
  EXPECT_EQ(tokens.eval[0].x, 0);    // step 1: before any train row
  EXPECT_EQ(tokens.eval[1].x, 200);  // step 3: the train row of step 2
  EXPECT_EQ(tokens.eval[2].x, 400);  // step 4: its own step's
  const RunCurves time = read_run_curves(dir.path(), PlotAxis::time, 0);
  EXPECT_EQ(time.train[0].x, 20);
  EXPECT_EQ(time.eval[1].x, 20);
}

TEST(PlotCurves, RowsWithoutSplitAreTrainRows) {
  TempDir dir;
  write_metrics(dir, "{\"step\":1,\"loss\":5.0,\"elapsed_s\":1.5}\n{\"step\":1,\"split\":\"valid\",\"loss\":6.0}\n");
  const RunCurves c = read_run_curves(dir.path(), PlotAxis::time, 0);
  ASSERT_EQ(c.train.size(), 1u);
  EXPECT_EQ(c.train[0].x, 1.5);
  ASSERT_EQ(c.eval.size(), 1u);
  EXPECT_EQ(c.eval[0].x, 1.5);
  expect_error<DataError>([&] { read_run_curves(dir.path(), PlotAxis::tokens, 0); },
                          "metrics.jsonl:1: train row without tokens_seen, expected a run written by this linea "
                          "version for --x tokens");
}

TEST(PlotCurves, BadInput) {
  TempDir dir;
  expect_error<DataError>([&] { read_run_curves(dir.path(), PlotAxis::step, 0); },
                          "metrics.jsonl: cannot open, expected a run directory written by linea train");
  write_metrics(dir, "{\"step\":1,\"loss\":5.0}\n[1, 2]\n");
  expect_error<DataError>([&] { read_run_curves(dir.path(), PlotAxis::step, 0); },
                          "metrics.jsonl:2: not a metrics record, expected a JSON object with an integer step");
  write_metrics(dir, "{\"step\":1,\"split\":\"valid\",\"loss\":5.0}\n{\"step\":2,\"loss\":null}\n");
  expect_error<DataError>([&] { read_run_curves(dir.path(), PlotAxis::step, 0); }, "no train row with a loss");
  expect_error<ConfigError>([] { parse_plot_axis("epoch"); }, "plot: --x epoch: expected step, tokens or time");
  EXPECT_EQ(parse_plot_axis("tokens"), PlotAxis::tokens);
}
