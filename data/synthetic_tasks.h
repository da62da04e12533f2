// Synthetic recall tasks (kimi_linear spec §8.1, §8.2): Zoology's multi-query associative
// recall (mqar), palindrome and stack, generated example by example from the seeded Philox
// stream, in the layout of linea's causal LM (the answer to a query is the next token).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

enum class SyntheticTask : uint8_t { mqar, palindrome, stack };
// mqar: zoology puts each query in its own slot after the pairs (Zoology's generator);
// after_sep puts all queries right after a separator (the Kimi paper's illustration).
enum class MqarQueryLayout : uint8_t { zoology, after_sep };

// Zoology's power a: query slot g is drawn with weight (g+1)^(a-1) (multiquery_ar's power_a).
constexpr double kMqarPowerA = 0.01;
// Stack: token ids of the task's vocabulary (V 256 in §8.2; the elements are 67 ... V-1).
constexpr int32_t kStackPad = 0, kStackPush = 1, kStackPop = 2, kStackFirstId = 3, kStackCount = 64;
constexpr int32_t kStackFirstElement = kStackFirstId + kStackCount;
// Palindrome: 0 pad, 1 <sep>, 2 ... V-1 symbols.
constexpr int32_t kPalindromePad = 0, kPalindromeSep = 1, kPalindromeFirstSymbol = 2;

struct SyntheticTaskOptions {
  SyntheticTask task = SyntheticTask::mqar;
  int64_t vocab_size = 0;  // V: token ids are in [0, V)
  int64_t seq_len = 0;     // L: tokens per example
  int64_t pairs = 0;       // mqar: key-value pairs P (and queries); 0 for the other tasks
  MqarQueryLayout query_layout = MqarQueryLayout::zoology;
  // mqar, zoology layout: every position that holds no key, value or query gets a uniform
  // token from [0, V) instead of 0 (Zoology's random_non_queries, true by default).
  bool random_non_queries = true;
  uint64_t seed = 0;
};

// One example in linea's causal layout: tokens[p] is predicted from tokens[0 .. p-1], and
// scored[p] says whether that prediction counts (loss and accuracy), as a shard's /loss_mask.
// Zoology's label at input position p is therefore tokens[p + 1] here, scored[p + 1] = 1.
struct SyntheticExample {
  std::vector<int32_t> tokens;  // L ids
  std::vector<uint8_t> scored;  // L flags; scored[0] is always 0 (nothing precedes it)
};

// ConfigError naming the setting for options a task cannot be generated with: mqar needs L
// even, V > L, P >= 1 and 4P <= L (Zoology's asserts; after_sep: 4P + 1 <= L); palindrome L
// even >= 4 and V >= 3; stack L >= 6 (two operations) and V > 67 (one element at least);
// pairs is for mqar only. `where` prefixes the message ("prepare: --synthetic mqar").
void check_synthetic_options(const SyntheticTaskOptions& options, const std::string& where);

// Example `index` of the stream (options.seed): it depends on (seed, index) alone, so the
// first N examples are the same whatever the total, and in any order of generation.
SyntheticExample synthetic_example(const SyntheticTaskOptions& options, int64_t index);

// Names as the command line and the shards' attributes spell them; ConfigError for others.
const char* synthetic_task_name(SyntheticTask task);
SyntheticTask parse_synthetic_task(const std::string& name);
const char* mqar_query_layout_name(MqarQueryLayout layout);
MqarQueryLayout parse_mqar_query_layout(const std::string& name);

}  // namespace linea
