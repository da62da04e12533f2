// The context-length table: its printed form, the JSON lines file written and read back
// (what `linea plot` draws), a diverged row written as null, and files that are not tables.
#include "train/context_length_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::TempDir;

namespace {
const std::vector<ContextLengthRow> kRows = {{64, 1200, 3.5}, {128, 1200, 3.25}, {1024, 1200, 3.125}};
const ContextLengthSource kSource = {"run/checkpoints/step_0000400.h5", "data/kjv/valid", 400, 32, 1024};
}  // namespace

TEST(ContextLengthTable, PrintsAlignedRows) {
  EXPECT_EQ(format_context_length_table(kRows),
            "context     tokens   mean nll   perplexity\n"
            "     64       1200   3.500000      33.1155\n"
            "    128       1200   3.250000      25.7903\n"
            "   1024       1200   3.125000      22.7599\n");
}

TEST(ContextLengthTable, WrittenAndReadBack) {
  TempDir dir;
  const std::string path = dir.file("ctx.jsonl");
  write_context_length_file(path, kRows, kSource);
  const std::vector<ContextLengthRow> back = read_context_length_file(path);
  ASSERT_EQ(back.size(), kRows.size());
  for (size_t i = 0; i < kRows.size(); ++i) {
    EXPECT_EQ(back[i].context_length, kRows[i].context_length);
    EXPECT_EQ(back[i].tokens, kRows[i].tokens);
    EXPECT_EQ(back[i].mean_nll, kRows[i].mean_nll);
  }
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  const nlohmann::json j = nlohmann::json::parse(first);
  EXPECT_EQ(j["checkpoint"], kSource.checkpoint);
  EXPECT_EQ(j["data"], kSource.data);
  EXPECT_EQ(j["step"], 400);
  EXPECT_EQ(j["score_last"], 32);
  EXPECT_EQ(j["stride"], 1024);
  EXPECT_DOUBLE_EQ(j["perplexity"].get<double>(), std::exp(3.5));
}

TEST(ContextLengthTable, DivergedRowsAreNullAndLeftOutWhenRead) {
  TempDir dir;
  const std::string path = dir.file("ctx.jsonl");
  std::vector<ContextLengthRow> rows = kRows;
  rows[1].mean_nll = std::numeric_limits<double>::quiet_NaN();
  write_context_length_file(path, rows, kSource);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"mean_nll\":null"), std::string::npos) << text.str();
  const std::vector<ContextLengthRow> back = read_context_length_file(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].context_length, 1024);
}

TEST(ContextLengthTable, BadFiles) {
  TempDir dir;
  expect_error<ConfigError>([&] { write_context_length_file(dir.file("no/such/ctx.jsonl"), kRows, kSource); },
                            "eval: --output " + dir.file("no/such/ctx.jsonl") + ": folder not found");
  expect_error<DataError>([&] { read_context_length_file(dir.file("missing.jsonl")); },
                          "missing.jsonl: cannot open, expected a file written by linea eval --context-lengths --output");
  const std::string path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"step\":1,\"split\":\"train\",\"loss\":5.0}\n";
  expect_error<DataError>([&] { read_context_length_file(path); },
                          "metrics.jsonl:1: not a context-length row, expected a JSON object with an integer "
                          "context_length and a mean_nll");
  std::ofstream(path) << "{\"context_length\":64,\"mean_nll\":3.0}\n\n{\"context_length\":0,\"mean_nll\":3.0}\n";
  expect_error<DataError>([&] { read_context_length_file(path); }, "metrics.jsonl:3: not a context-length row");
  std::ofstream(path) << "{\"context_length\":64,\"mean_nll\":null}\n";
  expect_error<DataError>([&] { read_context_length_file(path); }, "no context-length row with a mean_nll");
}
