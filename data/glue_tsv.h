// GLUE-format TSV files for sequence classification and regression fine-tuning: a task
// description (the 8 standard GLUE tasks built in, or any column layout a recipe gives), the
// reader, and BERT inputs [CLS] a [SEP] b [SEP] with Hugging Face's longest-first truncation.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace linea {

class TextTokenizer;

// One column of a TSV file: by its header name, or by its 0-based index (for files without a
// header, such as CoLA's). A column with neither is absent (e.g. text_b of a one-sentence task).
struct GlueColumn {
  std::string name;  // used when non-empty
  int index = -1;    // used when name is empty

  static GlueColumn by_name(std::string name);
  static GlueColumn by_index(int index);
  bool present() const { return !name.empty() || index >= 0; }
  // `column "sentence"` or `column 3`, for messages.
  std::string describe() const;
};

// How to read one task's files and score it. Classification labels are the positions of the
// label values in `labels` (as Hugging Face `datasets` numbers GLUE labels); regression reads a
// float target instead.
struct GlueTask {
  std::string name;
  bool has_header = true;           // false: columns by index only, every row is data
  int num_columns = 0;              // fields per row without a header; 0 = as many as the first row
  GlueColumn text_a;                // required
  GlueColumn text_b;                // absent for single-sentence tasks
  GlueColumn label;                 // the class label or the regression score
  std::vector<std::string> labels;  // class values in class-id order; empty for regression
  bool regression = false;
  // Metric names (accuracy, f1, matthews, pearson, spearman): all reported on dev, and the
  // subset averaged into the task score (mosaicbert.md section 4.2).
  std::vector<std::string> metrics;
  std::vector<std::string> score_metrics;
  std::string train_file = "train.tsv";
  std::vector<std::string> dev_files = {"dev.tsv"};  // MNLI: matched and mismatched
  // Rows with the wrong number of fields are skipped and counted instead of being an error
  // (Hugging Face's older QQP processor skipped such rows).
  bool skip_malformed_rows = false;

  int num_labels() const { return regression ? 1 : int(labels.size()); }
  bool pairs() const { return text_b.present(); }
};

// cola, sst2, mrpc, qqp, qnli, rte, mnli, stsb (GLUE's own TSV layouts; WNLI is left out as in
// MosaicBERT). ConfigError listing these for any other name.
GlueTask glue_task(const std::string& name);
const std::vector<std::string>& glue_task_names();
// The metric names GlueTask::metrics accepts.
const std::vector<std::string>& glue_metric_names();

// ConfigError naming the task and what is wrong: no name, no text_a or label column, a
// name-addressed column in a file without a header, classification without labels or with
// duplicate labels, regression with labels, unknown metric names, a classification metric
// on a regression task or the reverse, score metrics not among the metrics, no dev file.
void validate_glue_task(const GlueTask& task);

struct GlueExample {
  std::string text_a;
  std::string text_b;  // empty for single-sentence tasks
  int64_t label = -1;  // class id (index into GlueTask::labels); -1 for regression
  float target = 0.f;  // regression target; 0 for classification
  int64_t line = 0;    // 1-based line of the file it came from
};

struct GlueExamples {
  std::string path;
  GlueTask task;
  std::vector<GlueExample> examples;
  int64_t skipped_rows = 0;  // malformed rows skipped under skip_malformed_rows

  int64_t size() const { return int64_t(examples.size()); }
};

// Reads a GLUE-format TSV file: tab-separated fields with no quoting (GLUE files contain bare
// quote characters), '\n' or "\r\n" line ends, a UTF-8 byte-order mark ignored (MRPC's header
// carries one), blank lines ignored. Validates the task first. DataError naming the file for:
// a missing or unreadable file; a missing column (naming the header found); a row with the
// wrong field count (file:line, counts); an unknown label value (file:line, the value, the
// allowed set); a target that is not a finite float (file:line); a file without examples.
GlueExamples read_glue_tsv(const std::string& path, const GlueTask& task);

// Token counts (n_a, n_b) kept of two texts so that n_a + n_b <= budget, by the tokenizers
// library's longest-first rule (BertTokenizerFast's `truncation=True`, which MosaicBERT's GLUE
// code uses): when both must be cut, each keeps budget/2 and the longer (the second on a tie)
// one more for an odd budget; otherwise only the longer is cut. Each text keeps its start.
std::pair<int64_t, int64_t> truncate_longest_first(int64_t n_a, int64_t n_b, int64_t budget);

// Inputs of a batch of B examples, all on the CPU; T = max_len, or the longest row with
// pad_to_longest. Row: [CLS] a [SEP] b [SEP] [PAD]... ([CLS] a [SEP] [PAD]... without b).
struct GlueBatch {
  Tensor input_ids;       // [B, T] i64
  Tensor attention_mask;  // [B, T] u8: 1 for [CLS], text and [SEP]; 0 for padding
  Tensor token_type_ids;  // [B, T] i64: 0 for [CLS] a [SEP] and padding, 1 for b [SEP]
  Tensor labels;          // [B] i64 class ids (classification); undefined for regression
  Tensor targets;         // [B] f32 (regression); undefined for classification
};

struct GlueEncodeOptions {
  int64_t max_len = 128;        // T including [CLS] and [SEP]s; MosaicBERT's GLUE jobs use 256
  bool pad_to_longest = false;  // pad to the longest row of the batch instead of max_len
};

// Tokenizes the examples at `indices` (in that order) and lays them out as above. The
// tokenizer must have bos ([CLS]), eos ([SEP]) and pad ([PAD]) ids, as BERT's WordPiece does:
// ConfigError naming its path otherwise, and for max_len below 3 (pairs) or 2 (single texts).
// DataError for an index outside the examples.
GlueBatch tokenize_pairs(const GlueExamples& examples, const TextTokenizer& tokenizer,
                         const std::vector<int64_t>& indices, const GlueEncodeOptions& options);

// GlueDataset: every example tokenized once, up front (on `threads` threads, 0 = all cores),
// so each batch of an epoch only copies ids. Batches equal tokenize_pairs' for the same inputs.
class GlueDataset {
 public:
  // Errors as tokenize_pairs.
  GlueDataset(GlueExamples examples, const TextTokenizer& tokenizer, GlueEncodeOptions options, int threads = 0);

  int64_t size() const { return examples_.size(); }
  const GlueExamples& examples() const { return examples_; }
  const GlueEncodeOptions& options() const { return options_; }
  // Examples whose [CLS] a [SEP] (b [SEP]) was longer than max_len and got truncated.
  int64_t truncated_count() const { return truncated_; }

  // DataError for an index outside [0, size()).
  GlueBatch get_batch(const std::vector<int64_t>& indices) const;

 private:
  GlueExamples examples_;
  GlueEncodeOptions options_;
  int64_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
  std::vector<std::vector<int32_t>> ids_a_, ids_b_;
  int64_t truncated_ = 0;
};

}  // namespace linea
