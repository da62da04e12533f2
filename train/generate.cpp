// generate() and `linea generate`.
#include "train/generate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "configs/config.h"
#include "data/text_tokenizer.h"
#include "layers/decoder.h"
#include "train/checkpoint.h"
#include "train/checkpoint_tokenizer.h"
#include "train/run_dir.h"

namespace linea {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// logits [B, T, V] -> host f32 rows [B, V] at position positions[b] of each row.
std::vector<float> rows_at(const Tensor& logits, const std::vector<int64_t>& positions) {
  const int64_t B = logits.size(0), V = logits.size(2);
  std::vector<float> out(size_t(B * V));
  for (int64_t b = 0; b < B; ++b) {
    const Tensor row = logits.select(0, b).select(0, positions[size_t(b)]).to(Device::cpu()).to(DType::f32).contiguous();
    std::copy(row.data<float>(), row.data<float>() + V, out.begin() + b * V);
  }
  return out;
}

}  // namespace

Generated generate(CausalLM& model, const std::vector<std::vector<int32_t>>& prompts, const GenerationOptions& o,
                   const std::function<void(size_t, int32_t)>& on_token) {
  check_sampling_options(o.sampling);
  const int64_t B = int64_t(prompts.size()), V = model.vocab_size();
  LINEA_CHECK_T(ConfigError, B > 0, "generate: no prompts");
  std::vector<int64_t> lengths;
  for (const auto& p : prompts) {
    LINEA_CHECK_T(ConfigError, !p.empty(), "generate: an empty prompt, expected at least one token");
    LINEA_CHECK_T(ConfigError, o.max_length == 0 || int64_t(p.size()) <= o.max_length, "generate: a prompt of ",
                  p.size(), " tokens exceeds the model's limit of ", o.max_length, " tokens (model.max_seq_len)");
    lengths.push_back(int64_t(p.size()));
  }
  const int64_t T = *std::max_element(lengths.begin(), lengths.end());
  const Device device = model.parameters().front().device();
  std::vector<double> padded(size_t(B * T), 0.0);  // right padding, never attended to
  for (int64_t b = 0; b < B; ++b)
    std::copy(prompts[size_t(b)].begin(), prompts[size_t(b)].end(), padded.begin() + b * T);

  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Generated out;
  out.tokens.resize(size_t(B));
  std::vector<Generator> gens;
  for (int64_t b = 0; b < B; ++b) gens.emplace_back(o.seed, uint64_t(b) << 40);
  std::vector<bool> done(size_t(B), false);
  auto start = std::chrono::steady_clock::now();
  DecodingState state = model.new_decoding_state(B);
  std::vector<int64_t> last(lengths);
  for (int64_t& l : last) --l;
  std::vector<float> logits = rows_at(model.decode(Tensor::from_vector(padded, {B, T}, DType::i64, device), state, lengths).data(), last);
  out.prefill_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < o.max_new_tokens; ++n) {
    std::vector<double> next(size_t(B), 0.0);
    bool any = false;
    for (int64_t b = 0; b < B; ++b) {
      if (done[size_t(b)]) continue;
      const int64_t id = sample_token(logits.data() + b * V, V, o.sampling, gens[size_t(b)]);
      out.tokens[size_t(b)].push_back(int32_t(id));
      if (on_token) on_token(size_t(b), int32_t(id));
      next[size_t(b)] = double(id);
      const int64_t length = lengths[size_t(b)] + int64_t(out.tokens[size_t(b)].size());
      done[size_t(b)] = id == o.eos_id || (o.max_length > 0 && length >= o.max_length);
      any = any || !done[size_t(b)];
    }
    if (!any || n + 1 == o.max_new_tokens) break;
    logits = rows_at(model.decode(Tensor::from_vector(next, {B, 1}, DType::i64, device), state).data(),
                     std::vector<int64_t>(size_t(B), 0));
    ++out.decode_steps;
  }
  out.decode_seconds = seconds_since(start);
  model.train(was_training);
  return out;
}

namespace {

std::vector<std::string> read_prompt_lines(const std::string& path) {
  std::ifstream in(path);
  LINEA_CHECK_T(DataError, in.good(), "generate: --prompt-file ", path, ": cannot read it");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  LINEA_CHECK_T(DataError, !lines.empty(), "generate: --prompt-file ", path, " holds no prompt (one per non-empty line)");
  return lines;
}

}  // namespace

int run_generate(const GenerateCommand& cmd) {
  check_sampling_options(cmd.sampling);
  LINEA_CHECK_T(ConfigError, cmd.prompts.empty() != cmd.prompt_file.empty(),
                "generate: expected --prompt TEXT (repeatable) or --prompt-file FILE, exactly one of them");
  const std::vector<std::string> texts = cmd.prompts.empty() ? read_prompt_lines(cmd.prompt_file) : cmd.prompts;
  for (const std::string& t : texts) LINEA_CHECK_T(ConfigError, !t.empty(), "generate: --prompt is empty, expected text");
  const std::string checkpoint = resolve_checkpoint(cmd.checkpoint);
  const Config cfg = parse_config(read_checkpoint_config(checkpoint), checkpoint);
  LINEA_CHECK_T(ConfigError, cfg.model.kind == ModelKind::decoder, "generate: ", checkpoint, " holds model.kind ",
                to_string(cfg.model.kind), ", expected a decoder (causal language model)");
  const Device device = cmd.device.empty() ? cfg.train.device : device_from_name(cmd.device);
  Decoder model(cfg.model, device);
  TrainerState state;
  load_checkpoint(checkpoint, model, nullptr, &state);
  std::unique_ptr<TextTokenizer> tok =
      load_stored_tokenizer(checkpoint_tokenizer_file(checkpoint, cfg, state, cmd.tokenizer, "generate"));

  GenerationOptions o;
  o.max_new_tokens = cmd.max_new_tokens;
  o.sampling = cmd.sampling;
  o.seed = cmd.seed;
  o.eos_id = tok->eos_id();
  // Global softmax layers never saw positions past max_seq_len; windowed softmax and
  // recurrent layers (lightning, norm_linear, kda), diag_block's current block and LoLCATs'
  // window + state keep a bounded state and go on.
  bool bounded = true;
  for (const LayerSpec& s : layer_specs(cfg.model)) {
    const AttentionKind k = s.attention.kind;
    bounded = bounded && (s.attention.window > 0 || k == AttentionKind::lightning || k == AttentionKind::norm_linear ||
                          k == AttentionKind::diag_block || k == AttentionKind::hedgehog_window ||
                          k == AttentionKind::kda);
  }
  o.max_length = bounded ? 0 : cfg.model.max_seq_len;
  // Training documents follow the previous document's eos: a prompt starts a document.
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string& t : texts) {
    std::vector<int32_t> ids = tok->encode(t);
    if (tok->eos_id() >= 0) ids.insert(ids.begin(), tok->eos_id());
    prompts.push_back(ids);
  }
  // Each prompt's text is printed as the tokenizer decodes prompt + continuation, so that
  // SentencePiece's word boundaries between them come out right.
  auto text_of = [&](size_t b, const std::vector<int32_t>& continuation) {
    std::vector<int32_t> ids(prompts[b].begin() + (tok->eos_id() >= 0 ? 1 : 0), prompts[b].end());
    for (int32_t id : continuation)
      if (id != tok->eos_id()) ids.push_back(id);
    return tok->decode(ids);
  };
  const bool stream = cmd.stream && prompts.size() == 1;
  if (cmd.stream && !stream)
    std::fprintf(stderr, "linea: warning: generate: --stream prints a single prompt as it goes; the %zu prompts of "
                 "this batch are printed when done\n", prompts.size());
  std::vector<int32_t> streamed;
  std::string printed;
  auto emit = [&] {  // the part of the text not printed yet (whole characters only)
    const std::string text = text_of(0, streamed);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fputs(text.c_str() + printed.size(), stdout);
      std::fflush(stdout);
      printed = text;
    }
  };
  if (stream) emit();
  const Generated g = generate(model, prompts, o, [&](size_t, int32_t id) {
    if (!stream) return;
    streamed.push_back(id);
    emit();
  });
  for (size_t b = 0; b < prompts.size(); ++b) {
    if (stream) {
      emit();
      std::fputs("\n", stdout);
    } else {
      std::printf("%s%s\n", b > 0 ? "\n" : "", text_of(b, g.tokens[b]).c_str());
    }
  }
  int64_t produced = 0;
  for (const auto& t : g.tokens) produced += int64_t(t.size());
  std::fprintf(stderr, "linea: generate: %zu prompt(s), prefill %.3f s, %ld tokens in %.3f s (%.1f tokens/s)\n",
               prompts.size(), g.prefill_seconds, long(produced), g.decode_seconds,
               g.decode_seconds > 0 ? double(produced) / g.decode_seconds : 0.0);
  return 0;
}

}  // namespace linea
