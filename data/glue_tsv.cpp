// GLUE TSV reading (built-in task layouts, column resolution against the header, strict row
// checks) and the BERT pair layout with longest-first truncation, per batch or pre-tokenized.
#include "data/glue_tsv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "data/text_tokenizer.h"

namespace linea {

namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

// Label and score fields are compared without surrounding spaces; text is kept as written.
std::string trim_spaces(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

GlueTask classification(std::string name, GlueColumn a, GlueColumn b, GlueColumn label,
                        std::vector<std::string> labels, std::vector<std::string> metrics) {
  GlueTask t;
  t.name = std::move(name);
  t.text_a = std::move(a);
  t.text_b = std::move(b);
  t.label = std::move(label);
  t.labels = std::move(labels);
  t.metrics = metrics;
  t.score_metrics = std::move(metrics);
  return t;
}

const std::vector<std::string> kClassificationMetrics = {"accuracy", "f1", "matthews"};
const std::vector<std::string> kRegressionMetrics = {"pearson", "spearman"};

}  // namespace

GlueColumn GlueColumn::by_name(std::string name) {
  GlueColumn c;
  c.name = std::move(name);
  return c;
}

GlueColumn GlueColumn::by_index(int index) {
  GlueColumn c;
  c.index = index;
  return c;
}

std::string GlueColumn::describe() const {
  if (!name.empty()) return str_cat("column \"", name, "\"");
  if (index >= 0) return str_cat("column ", index);
  return "no column";
}

const std::vector<std::string>& glue_task_names() {
  static const std::vector<std::string> names = {"cola", "sst2", "mrpc", "qqp", "qnli", "rte", "mnli", "stsb"};
  return names;
}

const std::vector<std::string>& glue_metric_names() {
  static const std::vector<std::string> names = {"accuracy", "f1", "matthews", "pearson", "spearman"};
  return names;
}

// Layouts of the files GLUE distributes (download_glue_data.py); label ids follow the class
// order of Hugging Face `datasets` "glue", which MosaicBERT's fine-tuning code loads.
GlueTask glue_task(const std::string& name) {
  using C = GlueColumn;
  const std::vector<std::string> binary = {"0", "1"};
  const std::vector<std::string> entailment = {"entailment", "not_entailment"};
  if (name == "cola") {
    // No header; fields: source, label, original label ("*" or empty), sentence.
    GlueTask t = classification(name, C::by_index(3), {}, C::by_index(1), binary, {"matthews"});
    t.has_header = false;
    t.num_columns = 4;
    return t;
  }
  if (name == "sst2")
    return classification(name, C::by_name("sentence"), {}, C::by_name("label"), binary, {"accuracy"});
  if (name == "mrpc")
    return classification(name, C::by_name("#1 String"), C::by_name("#2 String"), C::by_name("Quality"), binary,
                          {"accuracy", "f1"});
  if (name == "qqp")
    return classification(name, C::by_name("question1"), C::by_name("question2"), C::by_name("is_duplicate"), binary,
                          {"accuracy", "f1"});
  if (name == "qnli")
    return classification(name, C::by_name("question"), C::by_name("sentence"), C::by_name("label"), entailment,
                          {"accuracy"});
  if (name == "rte")
    return classification(name, C::by_name("sentence1"), C::by_name("sentence2"), C::by_name("label"), entailment,
                          {"accuracy"});
  if (name == "mnli") {
    GlueTask t = classification(name, C::by_name("sentence1"), C::by_name("sentence2"), C::by_name("gold_label"),
                                {"entailment", "neutral", "contradiction"}, {"accuracy"});
    t.dev_files = {"dev_matched.tsv", "dev_mismatched.tsv"};
    return t;
  }
  if (name == "stsb") {
    GlueTask t;
    t.name = name;
    t.text_a = C::by_name("sentence1");
    t.text_b = C::by_name("sentence2");
    t.label = C::by_name("score");
    t.regression = true;
    t.metrics = {"pearson", "spearman"};
    t.score_metrics = {"spearman"};  // mosaicbert.md 4.2: STS-B's task score is Spearman alone
    return t;
  }
  throw ConfigError(str_cat("unknown GLUE task \"", name, "\", expected one of: ", join(glue_task_names()),
                            " (or a task given by its columns and labels)"));
}

void validate_glue_task(const GlueTask& t) {
  const std::string where = str_cat("GLUE task \"", t.name, "\": ");
  LINEA_CHECK_T(ConfigError, !t.name.empty(), "GLUE task without a name, expected a name such as sst2");
  LINEA_CHECK_T(ConfigError, t.text_a.present(), where, "no text_a column, expected a column name or index");
  LINEA_CHECK_T(ConfigError, t.label.present(), where, "no label column, expected a column name or index");
  LINEA_CHECK_T(ConfigError, t.num_columns >= 0, where, "num_columns ", t.num_columns, ", expected >= 0");
  for (const GlueColumn* c : {&t.text_a, &t.text_b, &t.label})
    LINEA_CHECK_T(ConfigError, t.has_header || c->name.empty(), where, c->describe(),
                  " is given by name but the files have no header, expected a 0-based column index");
  if (t.regression) {
    LINEA_CHECK_T(ConfigError, t.labels.empty(), where, "regression with labels [", join(t.labels),
                  "], expected no labels (the label column holds a float)");
  } else {
    LINEA_CHECK_T(ConfigError, t.labels.size() >= 2, where, t.labels.size(),
                  " label value(s), expected at least 2 for classification (or regression: true)");
    for (size_t i = 0; i < t.labels.size(); ++i)
      for (size_t j = i + 1; j < t.labels.size(); ++j)
        LINEA_CHECK_T(ConfigError, t.labels[i] != t.labels[j], where, "label \"", t.labels[i],
                      "\" is listed twice, expected distinct label values");
  }
  LINEA_CHECK_T(ConfigError, !t.metrics.empty(), where, "no metrics, expected some of: ", join(glue_metric_names()));
  const std::vector<std::string>& allowed = t.regression ? kRegressionMetrics : kClassificationMetrics;
  for (const std::string& m : t.metrics) {
    LINEA_CHECK_T(ConfigError, contains(glue_metric_names(), m), where, "unknown metric \"", m,
                  "\", expected one of: ", join(glue_metric_names()));
    LINEA_CHECK_T(ConfigError, contains(allowed, m), where, "metric \"", m, "\" does not apply to ",
                  t.regression ? "regression" : "classification", ", expected one of: ", join(allowed));
  }
  if (!t.regression && contains(t.metrics, "f1"))
    LINEA_CHECK_T(ConfigError, t.labels.size() == 2, where, "metric \"f1\" is binary F1 but the task has ",
                  t.labels.size(), " labels, expected 2");
  for (const std::string& m : t.score_metrics)
    LINEA_CHECK_T(ConfigError, contains(t.metrics, m), where, "score metric \"", m,
                  "\" is not among the metrics [", join(t.metrics), "]");
  LINEA_CHECK_T(ConfigError, !t.dev_files.empty(), where, "no dev files, expected at least one");
}

GlueExamples read_glue_tsv(const std::string& path, const GlueTask& task) {
  validate_glue_task(task);
  std::error_code ec;
  LINEA_CHECK_T(DataError, std::filesystem::is_regular_file(path, ec), "GLUE ", task.name,
                " file not found: ", path);
  std::ifstream in(path, std::ios::binary);
  LINEA_CHECK_T(DataError, in.is_open(), "cannot read GLUE ", task.name, " file ", path);

  GlueExamples out;
  out.path = path;
  out.task = task;
  std::unordered_map<std::string, int64_t> label_ids;
  for (size_t i = 0; i < task.labels.size(); ++i) label_ids[task.labels[i]] = int64_t(i);

  std::vector<std::string> header;
  size_t expected_fields = 0;
  int64_t layout_line = 0;  // the line that fixed expected_fields
  int col_a = -1, col_b = -1, col_label = -1;
  // The index of `column` in rows of expected_fields fields.
  auto resolve = [&](const GlueColumn& column, const char* role) -> int {
    if (!column.present()) return -1;
    if (!column.name.empty()) {
      for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == column.name) return int(i);
      throw DataError(str_cat(path, ": no column \"", column.name, "\" (the ", role, " of GLUE task ", task.name,
                              ") in the header, which has: ", join(header, " | ")));
    }
    LINEA_CHECK_T(DataError, size_t(column.index) < expected_fields, path, ": ", role, " ", column.describe(),
                  " of GLUE task ", task.name, " is beyond the ", expected_fields, " columns of line ", layout_line,
                  ", expected an index below ", expected_fields);
    return column.index;
  };
  auto layout = [&] {
    std::string text = str_cat(expected_fields, " fields");
    if (!header.empty()) return str_cat(text, " as in the header (", join(header, " | "), ")");
    if (task.num_columns > 0) return str_cat(text, " (the layout of GLUE task ", task.name, ")");
    return str_cat(text, " as line ", layout_line);
  };

  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (line.empty()) continue;
    std::vector<std::string> fields = split_tabs(line);
    if (expected_fields == 0) {
      layout_line = line_no;
      if (task.has_header) header = fields;
      expected_fields = task.num_columns > 0 && !task.has_header ? size_t(task.num_columns) : fields.size();
      col_a = resolve(task.text_a, "text_a");
      col_b = resolve(task.text_b, "text_b");
      col_label = resolve(task.label, task.regression ? "target" : "label");
      if (task.has_header) continue;
    }
    if (fields.size() != expected_fields) {
      if (task.skip_malformed_rows) {
        ++out.skipped_rows;
        continue;
      }
      throw DataError(str_cat(path, ":", line_no, ": ", fields.size(), " fields, expected ", layout(),
                              " (GLUE task ", task.name, ")"));
    }
    GlueExample ex;
    ex.line = line_no;
    ex.text_a = std::move(fields[size_t(col_a)]);
    if (col_b >= 0) ex.text_b = std::move(fields[size_t(col_b)]);
    const std::string value = trim_spaces(fields[size_t(col_label)]);
    if (task.regression) {
      char* end = nullptr;
      const double target = value.empty() ? NAN : std::strtod(value.c_str(), &end);
      LINEA_CHECK_T(DataError, !value.empty() && end == value.c_str() + value.size() && std::isfinite(target), path,
                    ":", line_no, ": target \"", value, "\" in ", task.label.describe(),
                    " is not a finite number, expected a float score (regression task ", task.name, ")");
      ex.target = float(target);
    } else {
      auto it = label_ids.find(value);
      LINEA_CHECK_T(DataError, it != label_ids.end(), path, ":", line_no, ": label \"", value, "\" in ",
                    task.label.describe(), " is not a label of GLUE task ", task.name, ", expected one of: ",
                    join(task.labels));
      ex.label = it->second;
    }
    out.examples.push_back(std::move(ex));
  }
  LINEA_CHECK_T(DataError, !in.bad(), "error reading GLUE ", task.name, " file ", path);
  LINEA_CHECK_T(DataError, !out.examples.empty(), path, ": no examples for GLUE task ", task.name, ", expected ",
                task.has_header ? "rows after the header" : "at least one row");
  return out;
}

std::pair<int64_t, int64_t> truncate_longest_first(int64_t n_a, int64_t n_b, int64_t budget) {
  LINEA_CHECK_T(ConfigError, n_a >= 0 && n_b >= 0 && budget >= 0, "truncate_longest_first(", n_a, ", ", n_b, ", ",
                budget, "): expected non-negative counts");
  if (n_a + n_b <= budget) return {n_a, n_b};
  // "Shorter" is the first text on a tie, so the second gets the odd token of an odd budget.
  const bool first_shorter = n_a <= n_b;
  const int64_t shorter = first_shorter ? n_a : n_b;
  int64_t keep_shorter, keep_longer;
  if (2 * shorter <= budget) {  // the shorter fits whole next to an equally long cut of the longer
    keep_shorter = shorter;
    keep_longer = budget - shorter;
  } else {  // both are longer than half the budget: split it
    keep_shorter = budget / 2;
    keep_longer = budget - keep_shorter;
  }
  return first_shorter ? std::make_pair(keep_shorter, keep_longer) : std::make_pair(keep_longer, keep_shorter);
}

namespace {

struct SpecialIds {
  int64_t cls, sep, pad;
};

SpecialIds special_ids(const TextTokenizer& tok) {
  SpecialIds ids{tok.bos_id(), tok.eos_id(), tok.pad_id()};
  LINEA_CHECK_T(ConfigError, ids.cls >= 0 && ids.sep >= 0 && ids.pad >= 0, "GLUE inputs need [CLS], [SEP] and [PAD]",
                " ids but the ", tok.kind(), " tokenizer ", tok.path(), " has bos ", ids.cls, ", eos ", ids.sep,
                ", pad ", ids.pad, " (-1 = none), expected a BERT WordPiece vocab.txt");
  return ids;
}

// Room for text tokens in a row of max_len: [CLS] a [SEP] (b [SEP]).
int64_t text_budget(const GlueEncodeOptions& options, bool pairs) {
  const int64_t specials = pairs ? 3 : 2;
  LINEA_CHECK_T(ConfigError, options.max_len >= specials, "GLUE max_len ", options.max_len, ", expected >= ",
                specials, " ([CLS]", pairs ? " a [SEP] b [SEP]" : " a [SEP]", ")");
  return options.max_len - specials;
}

void check_index(const GlueExamples& examples, int64_t index) {
  LINEA_CHECK_T(DataError, index >= 0 && index < examples.size(), "GLUE example index ", index, " is outside the ",
                examples.size(), " examples of ", examples.path);
}

// Cuts a (and b) in place to the longest-first lengths; true when anything was cut.
bool truncate_texts(std::vector<int32_t>& a, std::vector<int32_t>& b, bool pairs, int64_t budget) {
  const int64_t n_a = int64_t(a.size()), n_b = int64_t(b.size());
  const auto [keep_a, keep_b] = pairs ? truncate_longest_first(n_a, n_b, budget)
                                      : std::make_pair(std::min(n_a, budget), int64_t(0));
  a.resize(size_t(keep_a));
  b.resize(size_t(keep_b));
  return keep_a < n_a || keep_b < n_b;
}

// Lays out already truncated rows (a_rows[r], b_rows[r]) for the examples at indices[r].
GlueBatch assemble(const GlueExamples& examples, const std::vector<int64_t>& indices,
                   const std::vector<const std::vector<int32_t>*>& a_rows,
                   const std::vector<const std::vector<int32_t>*>& b_rows, const SpecialIds& special,
                   const GlueEncodeOptions& options) {
  const bool pairs = examples.task.pairs();
  const int64_t B = int64_t(indices.size());
  auto row_length = [&](int64_t r) {
    return 2 + int64_t(a_rows[size_t(r)]->size()) + (pairs ? 1 + int64_t(b_rows[size_t(r)]->size()) : 0);
  };
  int64_t T = options.max_len;
  if (options.pad_to_longest) {
    T = 0;
    for (int64_t r = 0; r < B; ++r) T = std::max(T, row_length(r));
  }
  GlueBatch batch;
  batch.input_ids = Tensor::full({B, T}, double(special.pad), DType::i64);
  batch.attention_mask = Tensor::zeros({B, T}, DType::u8);
  batch.token_type_ids = Tensor::zeros({B, T}, DType::i64);
  int64_t* ids = batch.input_ids.data<int64_t>();
  uint8_t* mask = batch.attention_mask.data<uint8_t>();
  int64_t* types = batch.token_type_ids.data<int64_t>();
  for (int64_t r = 0; r < B; ++r) {
    int64_t* row = ids + r * T;
    int64_t t = 0;
    row[t++] = special.cls;
    for (int32_t id : *a_rows[size_t(r)]) row[t++] = id;
    row[t++] = special.sep;
    if (pairs) {
      const int64_t b_start = t;
      for (int32_t id : *b_rows[size_t(r)]) row[t++] = id;
      row[t++] = special.sep;
      std::fill(types + r * T + b_start, types + r * T + t, int64_t(1));
    }
    LINEA_ASSERT(t == row_length(r) && t <= T, "GLUE row of ", t, " tokens in T = ", T);
    std::fill(mask + r * T, mask + r * T + t, uint8_t(1));
  }
  if (examples.task.regression) {
    batch.targets = Tensor::empty({B}, DType::f32);
    float* targets = batch.targets.data<float>();
    for (int64_t r = 0; r < B; ++r) targets[r] = examples.examples[size_t(indices[size_t(r)])].target;
  } else {
    batch.labels = Tensor::empty({B}, DType::i64);
    int64_t* labels = batch.labels.data<int64_t>();
    for (int64_t r = 0; r < B; ++r) labels[r] = examples.examples[size_t(indices[size_t(r)])].label;
  }
  return batch;
}

}  // namespace

GlueBatch tokenize_pairs(const GlueExamples& examples, const TextTokenizer& tokenizer,
                         const std::vector<int64_t>& indices, const GlueEncodeOptions& options) {
  const SpecialIds special = special_ids(tokenizer);
  const bool pairs = examples.task.pairs();
  const int64_t budget = text_budget(options, pairs);
  std::vector<std::vector<int32_t>> a(indices.size()), b(indices.size());
  std::vector<const std::vector<int32_t>*> a_rows, b_rows;
  for (size_t r = 0; r < indices.size(); ++r) {
    check_index(examples, indices[r]);
    const GlueExample& ex = examples.examples[size_t(indices[r])];
    a[r] = tokenizer.encode(ex.text_a);
    if (pairs) b[r] = tokenizer.encode(ex.text_b);
    truncate_texts(a[r], b[r], pairs, budget);
    a_rows.push_back(&a[r]);
    b_rows.push_back(&b[r]);
  }
  return assemble(examples, indices, a_rows, b_rows, special, options);
}

GlueDataset::GlueDataset(GlueExamples examples, const TextTokenizer& tokenizer, GlueEncodeOptions options,
                         int threads)
    : examples_(std::move(examples)), options_(options) {
  const SpecialIds special = special_ids(tokenizer);
  cls_id_ = special.cls;
  sep_id_ = special.sep;
  pad_id_ = special.pad;
  LINEA_CHECK_T(ConfigError, threads >= 0, "GlueDataset threads ", threads, ", expected >= 0");
  const bool pairs = examples_.task.pairs();
  const int64_t budget = text_budget(options_, pairs);
  const int64_t n = examples_.size();
  ids_a_.resize(size_t(n));
  ids_b_.resize(size_t(n));
  const int workers = threads > 0 ? threads : std::max(1, int(std::thread::hardware_concurrency()));
  std::exception_ptr error;
  int64_t truncated = 0;
  // Tokenizers are stateless after loading, so encode runs concurrently (as in prepare).
#pragma omp parallel for schedule(dynamic, 64) num_threads(workers) reduction(+ : truncated)
  for (int64_t i = 0; i < n; ++i) {
    try {
      const GlueExample& ex = examples_.examples[size_t(i)];
      ids_a_[size_t(i)] = tokenizer.encode(ex.text_a);
      if (pairs) ids_b_[size_t(i)] = tokenizer.encode(ex.text_b);
      if (truncate_texts(ids_a_[size_t(i)], ids_b_[size_t(i)], pairs, budget)) ++truncated;
      ids_a_[size_t(i)].shrink_to_fit();
      ids_b_[size_t(i)].shrink_to_fit();
    } catch (...) {
#pragma omp critical(glue_encode_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  truncated_ = truncated;
}

GlueBatch GlueDataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<const std::vector<int32_t>*> a_rows, b_rows;
  for (int64_t i : indices) {
    check_index(examples_, i);
    a_rows.push_back(&ids_a_[size_t(i)]);
    b_rows.push_back(&ids_b_[size_t(i)]);
  }
  return assemble(examples_, indices, a_rows, b_rows, SpecialIds{cls_id_, sep_id_, pad_id_}, options_);
}

}  // namespace linea
