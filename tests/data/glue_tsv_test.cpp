// GLUE TSV reading (one hand-written fixture per built-in layout, generic tasks, every bad
// input), longest-first truncation, the BERT pair layout, and the KJV fine-tuning fixture
// written by scripts/glue_fixture.sh.
#include "data/glue_tsv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/text_tokenizer.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::TempDir;

namespace {

std::string fixture(const std::string& name) {
  return std::string(LINEA_SOURCE_DIR) + "/tests/data/fixtures/glue/" + name;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<int64_t> labels_of(const GlueExamples& e) {
  std::vector<int64_t> out;
  for (const GlueExample& x : e.examples) out.push_back(x.label);
  return out;
}

// ---------------------------------------------------------------- built-in tasks

TEST(GlueTsv, BuiltInTasksReadTheirFixtures) {
  GlueExamples cola = read_glue_tsv(fixture("cola.tsv"), glue_task("cola"));
  ASSERT_EQ(cola.size(), 7);  // no header: every line is an example
  EXPECT_EQ(labels_of(cola), (std::vector<int64_t>{1, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(cola.examples[1].text_a, "The gardener watered before breakfast the roses the.");
  EXPECT_EQ(cola.examples[1].line, 2);
  EXPECT_TRUE(cola.examples[1].text_b.empty());

  GlueExamples sst2 = read_glue_tsv(fixture("sst2.tsv"), glue_task("sst2"));
  ASSERT_EQ(sst2.size(), 6);
  EXPECT_EQ(labels_of(sst2), (std::vector<int64_t>{1, 0, 0, 0, 1, 1}));
  // No quoting: quote characters and the trailing space are text.
  EXPECT_EQ(sst2.examples[3].text_a, "the \"surprise\" ending is anything but ");
  EXPECT_EQ(sst2.examples[3].line, 5);

  GlueExamples mrpc = read_glue_tsv(fixture("mrpc.tsv"), glue_task("mrpc"));  // header behind a BOM
  ASSERT_EQ(mrpc.size(), 5);
  EXPECT_EQ(labels_of(mrpc), (std::vector<int64_t>{1, 0, 1, 0, 1}));
  EXPECT_EQ(mrpc.examples[4].text_a, "\"We are very pleased with the result,\" the coach said.");
  EXPECT_EQ(mrpc.examples[4].text_b, "The coach said he was \"very pleased\" with the result.");

  GlueExamples qqp = read_glue_tsv(fixture("qqp.tsv"), glue_task("qqp"));
  EXPECT_EQ(labels_of(qqp), (std::vector<int64_t>{1, 0, 1, 0, 1}));
  EXPECT_EQ(qqp.examples[1].text_a, "Why is the sky blue?");
  EXPECT_EQ(qqp.examples[1].text_b, "Why do clouds look white?");

  // String labels: entailment = 0, not_entailment = 1 (Hugging Face datasets' order).
  GlueExamples qnli = read_glue_tsv(fixture("qnli.tsv"), glue_task("qnli"));
  EXPECT_EQ(labels_of(qnli), (std::vector<int64_t>{0, 1, 0, 1, 0}));
  EXPECT_EQ(qnli.examples[0].text_a, "When did the bridge open to traffic?");
  GlueExamples rte = read_glue_tsv(fixture("rte.tsv"), glue_task("rte"));
  EXPECT_EQ(labels_of(rte), (std::vector<int64_t>{0, 1, 0, 1, 0}));
  EXPECT_EQ(rte.examples[3].text_b, "The baker won a national prize.");

  // MNLI: gold_label, not label1 (row 2 has label1 entailment, gold neutral);
  // entailment 0, neutral 1, contradiction 2.
  GlueExamples mnli = read_glue_tsv(fixture("mnli.tsv"), glue_task("mnli"));
  EXPECT_EQ(labels_of(mnli), (std::vector<int64_t>{0, 2, 1, 0, 2}));
  EXPECT_EQ(mnli.examples[4].text_a, "i never did get the hang of baking bread");
  EXPECT_EQ(mnli.examples[4].text_b, "I bake bread perfectly every time.");

  GlueExamples stsb = read_glue_tsv(fixture("stsb.tsv"), glue_task("stsb"));
  ASSERT_EQ(stsb.size(), 6);
  std::vector<float> targets;
  for (const GlueExample& x : stsb.examples) {
    targets.push_back(x.target);
    EXPECT_EQ(x.label, -1);
  }
  EXPECT_EQ(targets, (std::vector<float>{4.8f, 0.25f, 3.6f, 4.0f, 0.6f, 5.0f}));
  EXPECT_EQ(stsb.examples[0].text_b, "A man is cutting a tomato.");
}

TEST(GlueTsv, BuiltInTaskDescriptions) {
  EXPECT_EQ(glue_task_names(), (std::vector<std::string>{"cola", "sst2", "mrpc", "qqp", "qnli", "rte", "mnli", "stsb"}));
  for (const std::string& name : glue_task_names()) {
    GlueTask t = glue_task(name);
    EXPECT_EQ(t.name, name);
    validate_glue_task(t);
  }
  EXPECT_EQ(glue_task("mnli").num_labels(), 3);
  EXPECT_EQ(glue_task("mnli").dev_files, (std::vector<std::string>{"dev_matched.tsv", "dev_mismatched.tsv"}));
  EXPECT_EQ(glue_task("stsb").num_labels(), 1);
  EXPECT_TRUE(glue_task("stsb").regression);
  EXPECT_EQ(glue_task("stsb").score_metrics, std::vector<std::string>{"spearman"});
  EXPECT_EQ(glue_task("cola").metrics, std::vector<std::string>{"matthews"});
  EXPECT_EQ(glue_task("qqp").score_metrics, (std::vector<std::string>{"accuracy", "f1"}));
  EXPECT_FALSE(glue_task("sst2").pairs());
  EXPECT_TRUE(glue_task("rte").pairs());
  expect_error<ConfigError>([] { glue_task("wnli"); },
                            "unknown GLUE task \"wnli\", expected one of: cola, sst2, mrpc, qqp, qnli, rte, mnli, stsb");
}

// ---------------------------------------------------------------- generic tasks and file forms

GlueTask yes_no_task() {
  GlueTask t;
  t.name = "yesno";
  t.text_a = GlueColumn::by_name("first");
  t.text_b = GlueColumn::by_name("second");
  t.label = GlueColumn::by_name("y");
  t.labels = {"no", "yes"};
  t.metrics = {"accuracy", "f1"};
  return t;
}

TEST(GlueTsv, GenericTaskByNamesHandlesCrlfBlankLinesAndSpacesAroundLabels) {
  TempDir dir;
  // Columns in another order than the task lists them, CRLF line ends, a blank line.
  write(dir.file("t.tsv"), "y\tsecond\tfirst\r\nyes\tB one\tA one\r\n\r\n no \tB two\tA two\r\n");
  GlueExamples e = read_glue_tsv(dir.file("t.tsv"), yes_no_task());
  ASSERT_EQ(e.size(), 2);
  EXPECT_EQ(e.examples[0].text_a, "A one");
  EXPECT_EQ(e.examples[0].text_b, "B one");
  EXPECT_EQ(e.examples[0].label, 1);
  EXPECT_EQ(e.examples[1].text_a, "A two");
  EXPECT_EQ(e.examples[1].label, 0);
  EXPECT_EQ(e.examples[1].line, 4);
}

TEST(GlueTsv, GenericTaskByIndexWithoutHeader) {
  TempDir dir;
  write(dir.file("t.tsv"), "2.5\tx\tfirst text\n-1e-1\ty\tsecond text\n");
  GlueTask t;
  t.name = "scores";
  t.has_header = false;
  t.text_a = GlueColumn::by_index(2);
  t.label = GlueColumn::by_index(0);
  t.regression = true;
  t.metrics = {"pearson"};
  GlueExamples e = read_glue_tsv(dir.file("t.tsv"), t);
  ASSERT_EQ(e.size(), 2);
  EXPECT_EQ(e.examples[0].text_a, "first text");
  EXPECT_FLOAT_EQ(e.examples[0].target, 2.5f);
  EXPECT_FLOAT_EQ(e.examples[1].target, -0.1f);
  EXPECT_EQ(GlueColumn::by_index(2).describe(), "column 2");
  EXPECT_EQ(GlueColumn::by_name("label").describe(), "column \"label\"");
}

TEST(GlueTsv, MalformedRowsAreSkippedWhenTheTaskAllowsIt) {
  TempDir dir;
  write(dir.file("t.tsv"), "first\tsecond\ty\nA\tB\tyes\nbroken row\nC\tD\tno\textra\nE\tF\tno\n");
  GlueTask t = yes_no_task();
  t.skip_malformed_rows = true;
  GlueExamples e = read_glue_tsv(dir.file("t.tsv"), t);
  EXPECT_EQ(e.size(), 2);
  EXPECT_EQ(e.skipped_rows, 2);
  EXPECT_EQ(e.examples[1].text_a, "E");
  EXPECT_EQ(e.examples[1].line, 5);
}

// ---------------------------------------------------------------- bad input

TEST(GlueTsvErrors, MissingFileAndMissingColumn) {
  TempDir dir;
  expect_error<DataError>([&] { read_glue_tsv(dir.file("nope.tsv"), glue_task("sst2")); },
                          "GLUE sst2 file not found: " + dir.file("nope.tsv"));
  // An SST-2 file read as RTE: no sentence1 column; the message shows the header found.
  expect_error<DataError>([] { read_glue_tsv(fixture("sst2.tsv"), glue_task("rte")); },
                          "sst2.tsv: no column \"sentence1\" (the text_a of GLUE task rte) in the header, which has: "
                          "sentence | label");
  write(dir.file("short.tsv"), "a\tb\n");
  GlueTask t;
  t.name = "by_index";
  t.has_header = false;
  t.text_a = GlueColumn::by_index(0);
  t.label = GlueColumn::by_index(5);
  t.labels = {"0", "1"};
  t.metrics = {"accuracy"};
  expect_error<DataError>([&] { read_glue_tsv(dir.file("short.tsv"), t); },
                          "short.tsv: label column 5 of GLUE task by_index is beyond the 2 columns of line 1");
}

TEST(GlueTsvErrors, UnknownLabelNamesFileLineValueAndAllowedSet) {
  TempDir dir;
  write(dir.file("rte.tsv"), "index\tsentence1\tsentence2\tlabel\n0\tA\tB\tentailment\n1\tC\tD\tneutral\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("rte.tsv"), glue_task("rte")); },
                          dir.file("rte.tsv") + ":3: label \"neutral\" in column \"label\" is not a label of GLUE "
                                                "task rte, expected one of: entailment, not_entailment");
  // A test split (no labels filled in) is caught the same way.
  write(dir.file("empty_label.tsv"), "sentence\tlabel\ngood film\t\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("empty_label.tsv"), glue_task("sst2")); },
                          "empty_label.tsv:2: label \"\" in column \"label\"");
}

TEST(GlueTsvErrors, WrongFieldCountNamesFileLineAndLayout) {
  TempDir dir;
  write(dir.file("sst2.tsv"), "sentence\tlabel\ngood\t1\nbad\t0\textra\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("sst2.tsv"), glue_task("sst2")); },
                          dir.file("sst2.tsv") + ":3: 3 fields, expected 2 fields as in the header (sentence | label)");
  write(dir.file("cola.tsv"), "src\t1\t\tFine sentence.\nsrc\t0\tNo sentence\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("cola.tsv"), glue_task("cola")); },
                          "cola.tsv:2: 3 fields, expected 4 fields (the layout of GLUE task cola)");
  // A sentence holding a tab shifts the label column: also a field-count error, not a wrong label.
  write(dir.file("tab.tsv"), "sentence\tlabel\na\tsentence\t1\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("tab.tsv"), glue_task("sst2")); }, "tab.tsv:2: 3 fields");
}

TEST(GlueTsvErrors, InvalidFloatTargets) {
  TempDir dir;
  const std::string header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
  for (const std::string bad : {"high", "3.5x", "", "nan", "inf"}) {
    write(dir.file("stsb.tsv"), header + "0\tg\tf\t2012\t1\tn\tn\tA\tB\t4.0\n1\tg\tf\t2012\t2\tn\tn\tC\tD\t" + bad + "\n");
    expect_error<DataError>([&] { read_glue_tsv(dir.file("stsb.tsv"), glue_task("stsb")); },
                            dir.file("stsb.tsv") + ":3: target \"" + bad +
                                "\" in column \"score\" is not a finite number, expected a float score");
  }
}

TEST(GlueTsvErrors, FilesWithoutExamples) {
  TempDir dir;
  write(dir.file("empty.tsv"), "");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("empty.tsv"), glue_task("sst2")); },
                          "empty.tsv: no examples for GLUE task sst2, expected rows after the header");
  write(dir.file("header.tsv"), "sentence\tlabel\n\n");
  expect_error<DataError>([&] { read_glue_tsv(dir.file("header.tsv"), glue_task("sst2")); },
                          "header.tsv: no examples for GLUE task sst2");
}

TEST(GlueTsvErrors, InvalidTaskDescriptions) {
  auto expect_invalid = [](GlueTask t, const std::string& fragment) {
    expect_error<ConfigError>([&] { validate_glue_task(t); }, fragment);
    expect_error<ConfigError>([&] { read_glue_tsv(fixture("sst2.tsv"), t); }, fragment);
  };
  GlueTask t = yes_no_task();
  t.name = "";
  expect_invalid(t, "GLUE task without a name");
  t = yes_no_task();
  t.text_a = {};
  expect_invalid(t, "GLUE task \"yesno\": no text_a column");
  t = yes_no_task();
  t.label = {};
  expect_invalid(t, "no label column");
  t = yes_no_task();
  t.has_header = false;
  expect_invalid(t, "column \"first\" is given by name but the files have no header, expected a 0-based column index");
  t = yes_no_task();
  t.labels = {"yes"};
  expect_invalid(t, "1 label value(s), expected at least 2 for classification");
  t.labels = {"yes", "no", "yes"};
  expect_invalid(t, "label \"yes\" is listed twice");
  t = yes_no_task();
  t.regression = true;
  expect_invalid(t, "regression with labels [no, yes]");
  t.labels.clear();
  expect_invalid(t, "metric \"accuracy\" does not apply to regression, expected one of: pearson, spearman");
  t = yes_no_task();
  t.metrics = {"bleu"};
  expect_invalid(t, "unknown metric \"bleu\", expected one of: accuracy, f1, matthews, pearson, spearman");
  t.metrics = {"spearman"};
  expect_invalid(t, "metric \"spearman\" does not apply to classification");
  t = yes_no_task();
  t.labels = {"a", "b", "c"};
  expect_invalid(t, "metric \"f1\" is binary F1 but the task has 3 labels, expected 2");
  t = yes_no_task();
  t.score_metrics = {"matthews"};
  expect_invalid(t, "score metric \"matthews\" is not among the metrics [accuracy, f1]");
  t = yes_no_task();
  t.dev_files.clear();
  expect_invalid(t, "no dev files");
}

// ---------------------------------------------------------------- truncation and batches

TEST(GlueTruncation, LongestFirstAsTheTokenizersLibrary) {
  using P = std::pair<int64_t, int64_t>;
  // Fits: nothing cut.
  EXPECT_EQ(truncate_longest_first(3, 4, 7), P(3, 4));
  EXPECT_EQ(truncate_longest_first(0, 0, 0), P(0, 0));
  // The shorter fits in half the budget: only the longer is cut, to what is left.
  EXPECT_EQ(truncate_longest_first(2, 8, 7), P(2, 5));
  EXPECT_EQ(truncate_longest_first(8, 2, 7), P(5, 2));
  EXPECT_EQ(truncate_longest_first(0, 8, 7), P(0, 7));
  EXPECT_EQ(truncate_longest_first(3, 100, 6), P(3, 3));
  // Both exceed half: budget/2 each, the odd token to the longer, to the second on a tie.
  EXPECT_EQ(truncate_longest_first(4, 4, 7), P(3, 4));
  EXPECT_EQ(truncate_longest_first(8, 4, 7), P(4, 3));
  EXPECT_EQ(truncate_longest_first(4, 8, 7), P(3, 4));
  EXPECT_EQ(truncate_longest_first(8, 8, 8), P(4, 4));
  EXPECT_EQ(truncate_longest_first(5, 100, 8), P(4, 4));
  EXPECT_EQ(truncate_longest_first(9, 9, 0), P(0, 0));
  expect_error<ConfigError>([] { truncate_longest_first(-1, 2, 3); }, "expected non-negative counts");
}

// [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then words.
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat",
                                         "on",    "mat",   "a",     "dog",   "ran",    ".",   "big"};

std::string write_vocab(const TempDir& dir, const std::vector<std::string>& tokens, const std::string& name) {
  std::ofstream out(dir.file(name), std::ios::binary);
  for (const std::string& t : tokens) out << t << "\n";
  return dir.file(name);
}

// Three pairs: "The cat sat on the mat." = 5 6 7 8 5 9 13 (7 tokens), "A dog ran." = 10 11 12 13.
GlueExamples tiny_pairs(const TempDir& dir) {
  write(dir.file("pairs.tsv"),
        "first\tsecond\ty\n"
        "The cat sat on the mat.\tA dog ran.\tyes\n"
        "A big dog.\tThe cat.\tno\n"
        "Dog\tcat\tyes\n");
  return read_glue_tsv(dir.file("pairs.tsv"), yes_no_task());
}

std::vector<int64_t> row(const Tensor& t, int64_t r) {
  std::vector<int64_t> out;
  for (int64_t c = 0; c < t.size(1); ++c) out.push_back(int64_t(t.at({r, c})));
  return out;
}

TEST(GlueBatches, PairLayoutTokenTypesMaskAndLabels) {
  TempDir dir;
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(write_vocab(dir, kVocab, "vocab.txt"));
  GlueExamples ex = tiny_pairs(dir);
  GlueBatch b = tokenize_pairs(ex, *tok, {0, 2}, GlueEncodeOptions{16, false});
  ASSERT_EQ(b.input_ids.shape(), (Shape{2, 16}));
  EXPECT_EQ(b.input_ids.dtype(), DType::i64);
  EXPECT_EQ(b.attention_mask.dtype(), DType::u8);
  EXPECT_EQ(b.token_type_ids.dtype(), DType::i64);
  EXPECT_EQ(row(b.input_ids, 0), (std::vector<int64_t>{2, 5, 6, 7, 8, 5, 9, 13, 3, 10, 11, 12, 13, 3, 0, 0}));
  EXPECT_EQ(row(b.token_type_ids, 0), (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(row(b.attention_mask, 0), (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(row(b.input_ids, 1), (std::vector<int64_t>{2, 11, 3, 6, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(b.token_type_ids, 1), (std::vector<int64_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(b.attention_mask, 1), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(b.labels.defined());
  EXPECT_FALSE(b.targets.defined());
  EXPECT_EQ(b.labels.to_vector(), (std::vector<double>{1, 1}));

  // Budget 12 - 3 = 9: b (4) fits in half, a keeps 9 - 4 = 5.
  b = tokenize_pairs(ex, *tok, {0}, GlueEncodeOptions{12, false});
  EXPECT_EQ(row(b.input_ids, 0), (std::vector<int64_t>{2, 5, 6, 7, 8, 5, 3, 10, 11, 12, 13, 3}));
  // Budget 7: both over half, a (the longer) keeps 4, b keeps 3.
  b = tokenize_pairs(ex, *tok, {0}, GlueEncodeOptions{10, false});
  EXPECT_EQ(row(b.input_ids, 0), (std::vector<int64_t>{2, 5, 6, 7, 8, 3, 10, 11, 12, 3}));
  EXPECT_EQ(row(b.token_type_ids, 0), (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));
}

TEST(GlueBatches, PadToLongestAndSingleSentencesAndTargets) {
  TempDir dir;
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(write_vocab(dir, kVocab, "vocab.txt"));
  GlueExamples ex = tiny_pairs(dir);
  // Rows of 5 ("dog" / "cat") and 10 ("a big dog ." / "the cat ." = 3 + 4 + 3): T = 10, not 64.
  GlueBatch b = tokenize_pairs(ex, *tok, {2, 1}, GlueEncodeOptions{64, true});
  ASSERT_EQ(b.input_ids.shape(), (Shape{2, 10}));
  EXPECT_EQ(row(b.input_ids, 0), (std::vector<int64_t>{2, 11, 3, 6, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(b.attention_mask, 0), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(b.input_ids, 1), (std::vector<int64_t>{2, 10, 14, 11, 13, 3, 5, 6, 13, 3}));
  // pad_to_longest never exceeds max_len: example 0 is cut to max_len 10 as without it.
  b = tokenize_pairs(ex, *tok, {0, 2}, GlueEncodeOptions{10, true});
  ASSERT_EQ(b.input_ids.shape(), (Shape{2, 10}));

  write(dir.file("single.tsv"), "sentence\tlabel\nThe big cat sat.\t1\nA dog.\t0\n");
  GlueExamples single = read_glue_tsv(dir.file("single.tsv"), glue_task("sst2"));
  b = tokenize_pairs(single, *tok, {0, 1}, GlueEncodeOptions{6, false});
  EXPECT_EQ(row(b.input_ids, 0), (std::vector<int64_t>{2, 5, 14, 6, 7, 3}));  // 5 tokens cut to 4
  EXPECT_EQ(row(b.input_ids, 1), (std::vector<int64_t>{2, 10, 11, 13, 3, 0}));
  EXPECT_EQ(row(b.token_type_ids, 0), (std::vector<int64_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(b.labels.to_vector(), (std::vector<double>{1, 0}));

  write(dir.file("stsb.tsv"), "sentence1\tsentence2\tscore\nthe cat\tthe dog\t3.25\nA cat\ta mat\t0.5\n");
  GlueTask stsb = glue_task("stsb");
  GlueExamples reg = read_glue_tsv(dir.file("stsb.tsv"), stsb);
  b = tokenize_pairs(reg, *tok, {1, 0}, GlueEncodeOptions{8, false});
  EXPECT_FALSE(b.labels.defined());
  ASSERT_TRUE(b.targets.defined());
  EXPECT_EQ(b.targets.dtype(), DType::f32);
  EXPECT_EQ(b.targets.to_vector(), (std::vector<double>{0.5, 3.25}));
}

TEST(GlueBatches, DatasetBatchesEqualDirectTokenization) {
  TempDir dir;
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(write_vocab(dir, kVocab, "vocab.txt"));
  GlueExamples ex = tiny_pairs(dir);
  for (bool pad_to_longest : {false, true}) {
    const GlueEncodeOptions options{10, pad_to_longest};
    GlueDataset ds(ex, *tok, options, 2);
    EXPECT_EQ(ds.size(), 3);
    EXPECT_EQ(ds.truncated_count(), 1);  // only example 0 (7 + 4 + 3 > 10)
    const std::vector<int64_t> indices = {2, 0, 1, 0};
    GlueBatch a = ds.get_batch(indices), b = tokenize_pairs(ex, *tok, indices, options);
    EXPECT_EQ(a.input_ids.shape(), b.input_ids.shape());
    EXPECT_EQ(a.input_ids.to_vector(), b.input_ids.to_vector());
    EXPECT_EQ(a.attention_mask.to_vector(), b.attention_mask.to_vector());
    EXPECT_EQ(a.token_type_ids.to_vector(), b.token_type_ids.to_vector());
    EXPECT_EQ(a.labels.to_vector(), b.labels.to_vector());
  }
}

TEST(GlueBatches, BadOptionsIndicesAndTokenizers) {
  TempDir dir;
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(write_vocab(dir, kVocab, "vocab.txt"));
  GlueExamples ex = tiny_pairs(dir);
  expect_error<ConfigError>([&] { tokenize_pairs(ex, *tok, {0}, GlueEncodeOptions{2, false}); },
                            "GLUE max_len 2, expected >= 3 ([CLS] a [SEP] b [SEP])");
  expect_error<ConfigError>([&] { GlueDataset(ex, *tok, GlueEncodeOptions{2, false}); }, "GLUE max_len 2");
  expect_error<DataError>([&] { tokenize_pairs(ex, *tok, {3}, GlueEncodeOptions{}); },
                          "GLUE example index 3 is outside the 3 examples of " + dir.file("pairs.tsv"));
  GlueDataset ds(ex, *tok, GlueEncodeOptions{});
  expect_error<DataError>([&] { ds.get_batch({-1}); }, "GLUE example index -1 is outside the 3 examples");
  std::vector<std::string> no_pad(kVocab.begin() + 1, kVocab.end());
  std::unique_ptr<TextTokenizer> bad = load_tokenizer(write_vocab(dir, no_pad, "no_pad.txt"));
  expect_error<ConfigError>([&] { tokenize_pairs(ex, *bad, {0}, GlueEncodeOptions{}); },
                            "GLUE inputs need [CLS], [SEP] and [PAD] ids but the wordpiece tokenizer " +
                                dir.file("no_pad.txt") + " has bos 1, eos 2, pad -1");
}

// bert-base-uncased's vocab.txt as scripts/tokenizer_fixtures_bert.sh leaves it in the cache.
std::string bert_vocab_path() {
  if (const char* p = std::getenv("LINEA_BERT_VOCAB")) return p;
  if (const char* cache = std::getenv("LINEA_NPM_CACHE")) return std::string(cache) + "/bert-base-uncased/vocab.txt";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/linea/npm/bert-base-uncased/vocab.txt";
}

TEST(GlueBatches, BertVocabularyOnTheMrpcFixture) {
  const std::string vocab = bert_vocab_path();
  if (!std::filesystem::is_regular_file(vocab))
    GTEST_SKIP() << "bert-base-uncased vocab.txt not found at " << vocab
                 << "; run scripts/tokenizer_fixtures_bert.sh (needs npm) or set LINEA_BERT_VOCAB";
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(vocab);
  GlueExamples ex = read_glue_tsv(fixture("mrpc.tsv"), glue_task("mrpc"));
  GlueBatch b = tokenize_pairs(ex, *tok, {3}, GlueEncodeOptions{32, false});
  // "Rain delayed the start of the final match by two hours." / "The final match was played in
  // front of a record crowd.": every word is a whole token of bert-base-uncased, its id the
  // word's 0-based line in vocab.txt (looked up with grep -nxF).
  const std::vector<int64_t> expected_ids = {101, 4542, 8394, 1996, 2707, 1997, 1996, 2345, 2674, 2011, 2048,
                                             2847, 1012, 102,  1996, 2345, 2674, 2001, 2209, 1999, 2392, 1997,
                                             1037, 2501, 4306, 1012, 102,  0,    0,    0,    0,    0};
  EXPECT_EQ(row(b.input_ids, 0), expected_ids);
  EXPECT_EQ(row(b.token_type_ids, 0)[13], 0);  // the first [SEP] belongs to segment a
  EXPECT_EQ(row(b.token_type_ids, 0)[14], 1);
  EXPECT_EQ(row(b.token_type_ids, 0)[26], 1);
  EXPECT_EQ(b.labels.to_vector(), std::vector<double>{0});
}

// ---------------------------------------------------------------- the KJV fixture

std::map<std::string, int> word_counts(const std::string& text) {
  std::map<std::string, int> counts;
  std::string word;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word += char(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  return counts;
}

// Dev accuracy of a multinomial naive Bayes over lowercased words (add-one smoothing):
// evidence that the labels are learnable from the training texts alone.
double naive_bayes_dev_accuracy(const GlueExamples& train, const GlueExamples& dev) {
  std::map<std::string, double> counts[2];
  double totals[2] = {0, 0}, docs[2] = {0, 0};
  for (const GlueExample& x : train.examples) {
    docs[x.label] += 1;
    for (const auto& [w, c] : word_counts(x.text_a)) {
      counts[x.label][w] += c;
      totals[x.label] += c;
    }
  }
  std::set<std::string> vocabulary;
  for (const auto& m : counts)
    for (const auto& kv : m) vocabulary.insert(kv.first);
  const double v = double(vocabulary.size());
  int correct = 0;
  for (const GlueExample& x : dev.examples) {
    double score[2];
    for (int k = 0; k < 2; ++k) {
      score[k] = std::log(docs[k]);
      for (const auto& [w, c] : word_counts(x.text_a)) {
        auto it = counts[k].find(w);
        score[k] += c * std::log(((it == counts[k].end() ? 0.0 : it->second) + 1.0) / (totals[k] + v));
      }
    }
    correct += (score[1] > score[0] ? 1 : 0) == x.label;
  }
  return double(correct) / double(dev.size());
}

TEST(GlueKjvFixture, ScriptWritesBalancedDeterministicLearnableTasks) {
  if (std::system("command -v bible >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "the `bible` command (Debian's bible-kjv) is missing; scripts/setup.sh installs it";
  TempDir dir;
  const std::string script = std::string(LINEA_SOURCE_DIR) + "/scripts/glue_fixture.sh";
  for (const char* run : {"a", "b"})
    ASSERT_EQ(std::system(("bash '" + script + "' '" + dir.file(run) + "' >/dev/null").c_str()), 0);
  for (const char* file : {"testament/train.tsv", "testament/dev.tsv", "next_verse/train.tsv", "next_verse/dev.tsv"})
    EXPECT_EQ(read_bytes(dir.file(std::string("a/") + file)), read_bytes(dir.file(std::string("b/") + file))) << file;

  const GlueExamples train = read_glue_tsv(dir.file("a/testament/train.tsv"), glue_task("sst2"));
  const GlueExamples dev = read_glue_tsv(dir.file("a/testament/dev.tsv"), glue_task("sst2"));
  // 7957 NT verses and 7957 OT verses; every 10th of each class is dev.
  EXPECT_EQ(train.size(), 2 * 7161);
  EXPECT_EQ(dev.size(), 2 * 796);
  auto positives = [](const GlueExamples& e) {
    int64_t n = 0;
    for (const GlueExample& x : e.examples) n += x.label;
    return n;
  };
  EXPECT_EQ(positives(train), 7161);
  EXPECT_EQ(positives(dev), 796);
  // Shuffled: the first hundred training rows are not all of one class.
  int64_t first_hundred = 0;
  for (int i = 0; i < 100; ++i) first_hundred += train.examples[size_t(i)].label;
  EXPECT_GT(first_hundred, 25);
  EXPECT_LT(first_hundred, 75);
  EXPECT_GT(naive_bayes_dev_accuracy(train, dev), 0.85);

  const GlueExamples pairs_train = read_glue_tsv(dir.file("a/next_verse/train.tsv"), glue_task("mrpc"));
  const GlueExamples pairs_dev = read_glue_tsv(dir.file("a/next_verse/dev.tsv"), glue_task("mrpc"));
  EXPECT_EQ(pairs_train.size(), 6730);
  EXPECT_EQ(pairs_dev.size(), 748);
  EXPECT_EQ(positives(pairs_train), 6730 / 2);
  EXPECT_EQ(positives(pairs_dev), 748 / 2);
  // Known row: the first verse of the Bible and its successor are a positive dev pair.
  bool found = false;
  for (const GlueExample& x : pairs_dev.examples)
    if (x.text_a == "In the beginning God created the heaven and the earth.") {
      found = true;
      EXPECT_EQ(x.label, 1);
      EXPECT_EQ(x.text_b.rfind("And the earth was without form, and void;", 0), 0u) << x.text_b;
    }
  EXPECT_TRUE(found);
  // Every pair by its verse references (the ID columns, read as a generic task): label 1 is the
  // next verse of the same chapter, label 0 a verse of another book.
  GlueTask ids;
  ids.name = "next_verse_ids";
  ids.text_a = GlueColumn::by_name("#1 ID");
  ids.text_b = GlueColumn::by_name("#2 ID");
  ids.label = GlueColumn::by_name("Quality");
  ids.labels = {"0", "1"};
  ids.metrics = {"accuracy"};
  const std::regex ref(R"(^([1-3]?[A-Za-z]+)(\d+):(\d+)$)");
  for (const char* file : {"a/next_verse/train.tsv", "a/next_verse/dev.tsv"}) {
    for (const GlueExample& x : read_glue_tsv(dir.file(file), ids).examples) {
      std::smatch a, b;
      ASSERT_TRUE(std::regex_match(x.text_a, a, ref)) << x.text_a;
      ASSERT_TRUE(std::regex_match(x.text_b, b, ref)) << x.text_b;
      if (x.label == 1) {
        EXPECT_TRUE(a[1] == b[1] && a[2] == b[2] && std::stoi(b[3]) == std::stoi(a[3]) + 1) << x.text_a << " " << x.text_b;
      } else {
        EXPECT_NE(a[1], b[1]) << file << ":" << x.line;
      }
    }
  }
}

}  // namespace
