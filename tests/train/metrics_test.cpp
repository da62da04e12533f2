// metrics.jsonl train rows: the objective's aux losses and metrics as objects of their own
// (absent when an objective reports none, so existing rows are unchanged), a non-finite
// value as null, and aux losses on the progress line.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "train/metrics.h"

using namespace linea;
using namespace linea::testing;

namespace {
std::vector<nlohmann::json> rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}
}  // namespace

TEST(MetricsLog, TrainRowsCarryNamedAuxLossesAndMetrics) {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  {
    MetricsLog log(path);
    StepMetrics m;
    m.step = 1;
    m.loss = 2.5;
    log.log_step(m);
    m.step = 2;
    m.aux_losses = {{"moe_balance", 0.01}};
    m.metrics = {{"router_load_max", 1.75}, {"dropped", std::nan("")}};
    log.log_step(m);
  }
  const std::vector<nlohmann::json> r = rows(path);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].contains("aux_losses"));
  EXPECT_FALSE(r[0].contains("metrics"));
  EXPECT_EQ(r[1]["loss"], 2.5);  // the objective's loss, aux losses apart
  EXPECT_EQ(r[1]["aux_losses"], (nlohmann::json{{"moe_balance", 0.01}}));
  EXPECT_EQ(r[1]["metrics"]["router_load_max"], 1.75);
  EXPECT_TRUE(r[1]["metrics"]["dropped"].is_null());
}

TEST(MetricsLog, ProgressLineShowsAuxLossesAfterTheLoss) {
  StepMetrics m;
  m.step = 3;
  m.loss = 4.0;
  m.aux_losses = {{"moe_balance", 0.0123}};
  m.metrics = {{"router_load_max", 1.5}};
  const std::string line = progress_line(m, 10);
  EXPECT_EQ(line.rfind("step 3/10 | loss 4.0000 | moe_balance 0.0123 | lr ", 0), 0u) << line;
  EXPECT_EQ(line.find("router_load_max"), std::string::npos) << line;  // metrics go to the log only
}
