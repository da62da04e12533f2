// The three generators and their preconditions. Every example reads its own Philox stream
// (seed, counters from index << 32), so examples are independent of each other and of N.
#include "data/synthetic_tasks.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/philox.h"

namespace linea {
namespace {

// Successive draws from one example's stream: 64-bit integers from two Philox words.
class ExampleDraws {
 public:
  ExampleDraws(uint64_t seed, int64_t index) : seed_(seed), offset_(uint64_t(index) << 32) {}

  // Uniform in [low, high); the modulo bias of a 64-bit draw is below 2^-40 for these ranges.
  int32_t uniform_int(int64_t low, int64_t high) { return int32_t(low + int64_t(bits() % uint64_t(high - low))); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(bits() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t bits() {
    const uint64_t high = Philox4x32::word(seed_, offset_, next_++);
    return high << 32 | Philox4x32::word(seed_, offset_, next_++);
  }

  uint64_t seed_, offset_, next_ = 0;
};

// `count` distinct tokens from [low, high), uniform and in draw order (numpy's
// choice(replace=False) without weights): redraw until unseen.
std::vector<int32_t> distinct_tokens(ExampleDraws& draws, int64_t count, int64_t low, int64_t high) {
  std::vector<int32_t> out;
  while (int64_t(out.size()) < count) {
    const int32_t t = draws.uniform_int(low, high);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

// Zoology's query slots: `count` distinct slots of `slots`, slot g with weight (g+1)^(a-1),
// drawn one after another with the weights of the slots left renormalised after each draw.
std::vector<int64_t> weighted_slots(ExampleDraws& draws, int64_t count, int64_t slots) {
  std::vector<double> weight(static_cast<size_t>(slots));
  for (int64_t g = 0; g < slots; ++g) weight[size_t(g)] = std::pow(double(g + 1), kMqarPowerA - 1);
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < count; ++i) {
    double total = 0;
    for (double w : weight) total += w;
    const double u = draws.uniform() * total;
    int64_t g = -1;
    double below = 0;
    for (int64_t j = 0; j < slots; ++j) {
      if (weight[size_t(j)] == 0) continue;  // taken
      g = j;  // the last open slot also absorbs rounding at the top of the range
      below += weight[size_t(j)];
      if (u < below) break;
    }
    chosen.push_back(g);
    weight[size_t(g)] = 0;
  }
  return chosen;
}

// mqar (spec §8.1): key_i value_i pairs at 0 ... 2P-1, then the queries. The value that
// answers a query is the token after it (Zoology labels the query position and feeds noise
// as the next input; a causal LM's target is the next input, so linea feeds the answer).
SyntheticExample mqar_example(const SyntheticTaskOptions& o, ExampleDraws& draws) {
  const int64_t L = o.seq_len, V = o.vocab_size, P = o.pairs;
  SyntheticExample e{std::vector<int32_t>(static_cast<size_t>(L), 0), std::vector<uint8_t>(static_cast<size_t>(L), 0)};
  const std::vector<int32_t> keys = distinct_tokens(draws, P, 1, V / 2);
  const std::vector<int32_t> values = distinct_tokens(draws, P, V / 2, V);
  std::vector<uint8_t> filled(static_cast<size_t>(L), 0);
  auto put = [&](int64_t p, int32_t token, bool scored) {
    e.tokens[size_t(p)] = token;
    e.scored[size_t(p)] = scored;
    filled[size_t(p)] = 1;
  };
  for (int64_t i = 0; i < P; ++i) {
    put(2 * i, keys[size_t(i)], false);
    put(2 * i + 1, values[size_t(i)], false);
  }
  if (o.query_layout == MqarQueryLayout::after_sep) {
    // <sep> (0), then the keys in a uniform random order (Fisher-Yates), each followed by its
    // value; 0 pads the rest.
    std::vector<int64_t> order(static_cast<size_t>(P));
    for (int64_t i = 0; i < P; ++i) order[size_t(i)] = i;
    for (int64_t i = P - 1; i >= 1; --i) std::swap(order[size_t(i)], order[size_t(draws.uniform_int(0, i + 1))]);
    for (int64_t j = 0; j < P; ++j) {
      put(2 * P + 1 + 2 * j, keys[size_t(order[size_t(j)])], false);
      put(2 * P + 2 + 2 * j, values[size_t(order[size_t(j)])], true);
    }
    return e;
  }
  const std::vector<int64_t> slots = weighted_slots(draws, P, (L - 2 * P) / 2);
  for (int64_t i = 0; i < P; ++i) {
    put(2 * P + 2 * slots[size_t(i)], keys[size_t(i)], false);
    put(2 * P + 2 * slots[size_t(i)] + 1, values[size_t(i)], true);
  }
  if (o.random_non_queries)
    for (int64_t p = 0; p < L; ++p)
      if (!filled[size_t(p)]) e.tokens[size_t(p)] = draws.uniform_int(0, V);
  return e;
}

// palindrome (spec §8.2): n = L/2 - 1 symbols, <sep>, the symbols reversed, one pad. The
// reversed symbols are the targets: each is predicted from <sep> or from the one before it.
SyntheticExample palindrome_example(const SyntheticTaskOptions& o, ExampleDraws& draws) {
  const int64_t L = o.seq_len, n = L / 2 - 1;
  SyntheticExample e{std::vector<int32_t>(static_cast<size_t>(L), kPalindromePad),
                     std::vector<uint8_t>(static_cast<size_t>(L), 0)};
  for (int64_t k = 0; k < n; ++k) e.tokens[size_t(k)] = draws.uniform_int(kPalindromeFirstSymbol, o.vocab_size);
  e.tokens[size_t(n)] = kPalindromeSep;
  for (int64_t j = 0; j < n; ++j) {
    e.tokens[size_t(n + 1 + j)] = e.tokens[size_t(n - 1 - j)];
    e.scored[size_t(n + 1 + j)] = 1;
  }
  return e;
}

// stack (spec §8.2): floor(L/3) operations `<push> id x` or `<pop> id x`, padded with 0. A pop
// (probability 1/2 while a stack holds something) takes a uniform non-empty stack and shows
// its top x, the scored target; a push puts a uniform element on a uniform stack.
SyntheticExample stack_example(const SyntheticTaskOptions& o, ExampleDraws& draws) {
  const int64_t L = o.seq_len;
  SyntheticExample e{std::vector<int32_t>(static_cast<size_t>(L), kStackPad),
                     std::vector<uint8_t>(static_cast<size_t>(L), 0)};
  std::vector<std::vector<int32_t>> stacks(kStackCount);
  for (int64_t op = 0; op < L / 3; ++op) {
    std::vector<int32_t> non_empty;
    for (int32_t s = 0; s < kStackCount; ++s)
      if (!stacks[size_t(s)].empty()) non_empty.push_back(s);
    const size_t p = size_t(3 * op);
    if (!non_empty.empty() && draws.uniform_int(0, 2) == 1) {
      const int32_t s = non_empty[size_t(draws.uniform_int(0, int64_t(non_empty.size())))];
      e.tokens[p] = kStackPop;
      e.tokens[p + 1] = kStackFirstId + s;
      e.tokens[p + 2] = stacks[size_t(s)].back();
      e.scored[p + 2] = 1;
      stacks[size_t(s)].pop_back();
    } else {
      const int32_t s = draws.uniform_int(0, kStackCount);
      const int32_t x = draws.uniform_int(kStackFirstElement, o.vocab_size);
      e.tokens[p] = kStackPush;
      e.tokens[p + 1] = kStackFirstId + s;
      e.tokens[p + 2] = x;
      stacks[size_t(s)].push_back(x);
    }
  }
  return e;
}

}  // namespace

void check_synthetic_options(const SyntheticTaskOptions& o, const std::string& where) {
  const int64_t L = o.seq_len, V = o.vocab_size, P = o.pairs;
  LINEA_CHECK_T(ConfigError, V >= 1 && V <= (int64_t(1) << 31), where, ": vocabulary ", V, ", expected in [1, 2^31]");
  LINEA_CHECK_T(ConfigError, L >= 1, where, ": sequence length ", L, ", expected >= 1");
  LINEA_CHECK_T(ConfigError, o.task == SyntheticTask::mqar || P == 0, where, ": ", P,
                " pairs given, expected none (pairs are for mqar only)");
  switch (o.task) {
    case SyntheticTask::mqar: {
      LINEA_CHECK_T(ConfigError, L % 2 == 0, where, ": sequence length ", L, " is odd, expected an even length");
      LINEA_CHECK_T(ConfigError, V > L, where, ": vocabulary ", V, " is not larger than the sequence length ", L,
                    ", expected V > L (Zoology's precondition)");
      LINEA_CHECK_T(ConfigError, P >= 1, where, ": ", P, " pairs, expected >= 1");
      const bool after_sep = o.query_layout == MqarQueryLayout::after_sep;
      LINEA_CHECK_T(ConfigError, 4 * P + (after_sep ? 1 : 0) <= L, where, ": ", P, " pairs need ", 4 * P,
                    after_sep ? " + 1" : "", " tokens, more than the sequence length ", L,
                    after_sep ? ", expected 4P + 1 <= L (pairs, <sep>, then each query and its answer)"
                              : ", expected 4P <= L (Zoology's precondition)");
      return;
    }
    case SyntheticTask::palindrome:
      LINEA_CHECK_T(ConfigError, L % 2 == 0 && L >= 4, where, ": sequence length ", L,
                    ", expected an even length >= 4 (symbols, <sep>, the symbols reversed, one pad)");
      LINEA_CHECK_T(ConfigError, V >= 3, where, ": vocabulary ", V, ", expected >= 3 (pad, <sep> and symbols from 2)");
      return;
    case SyntheticTask::stack:
      LINEA_CHECK_T(ConfigError, L >= 6, where, ": sequence length ", L,
                    ", expected >= 6 (two operations of 3 tokens, so that one can be a pop)");
      LINEA_CHECK_T(ConfigError, V > kStackFirstElement, where, ": vocabulary ", V, ", expected > ", kStackFirstElement,
                    " (pad, <push>, <pop>, ", kStackCount, " stack ids, then the elements)");
      return;
  }
}

SyntheticExample synthetic_example(const SyntheticTaskOptions& o, int64_t index) {
  ExampleDraws draws(o.seed, index);
  switch (o.task) {
    case SyntheticTask::mqar: return mqar_example(o, draws);
    case SyntheticTask::palindrome: return palindrome_example(o, draws);
    case SyntheticTask::stack: return stack_example(o, draws);
  }
  throw InternalError("synthetic_example: unknown task");
}

const char* synthetic_task_name(SyntheticTask task) {
  switch (task) {
    case SyntheticTask::mqar: return "mqar";
    case SyntheticTask::palindrome: return "palindrome";
    case SyntheticTask::stack: return "stack";
  }
  return "?";
}

SyntheticTask parse_synthetic_task(const std::string& name) {
  for (SyntheticTask t : {SyntheticTask::mqar, SyntheticTask::palindrome, SyntheticTask::stack})
    if (name == synthetic_task_name(t)) return t;
  throw ConfigError(str_cat("synthetic task '", name, "', expected mqar, palindrome or stack"));
}

const char* mqar_query_layout_name(MqarQueryLayout layout) {
  return layout == MqarQueryLayout::zoology ? "zoology" : "after_sep";
}

MqarQueryLayout parse_mqar_query_layout(const std::string& name) {
  for (MqarQueryLayout l : {MqarQueryLayout::zoology, MqarQueryLayout::after_sep})
    if (name == mqar_query_layout_name(l)) return l;
  throw ConfigError(str_cat("query layout '", name, "', expected zoology or after_sep"));
}

}  // namespace linea
