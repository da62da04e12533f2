#include "train/bench_encoder.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "configs/config.h"
#include "core/allocator.h"
#include "core/io/hdf5_file.h"
#include "core/rng.h"
#include "data/unpad.h"
#include "layers/encoder.h"
#include "optim/optimizer.h"
#include "train/gemm_timing.h"

namespace linea {
namespace {

// BERT's uncased WordPiece ids, so the batch looks like the collator's output.
constexpr int64_t kPad = 0, kCls = 101, kSep = 102, kMask = 103, kFirstWord = 1000, kTokenizerVocab = 30522;

struct BenchBatch {
  Tensor input_ids, attention_mask, token_type_ids, labels;
  int64_t real = 0, masked = 0;
  double sum_sq_len = 0;  // sum over sequences of length^2, for the attention FLOPs
};

// B sequences of T slots: [CLS] words [SEP] then [PAD]s, lengths uniform on [2, T - 2] so
// the expected fill is 50% (stratified: sequence b draws from the b-th of B equal slices
// of that range, so even a small batch's fill stays within 1/B of 50%); `mask_ratio` of
// the words selected, replaced 80/10/10 as HF's DataCollatorForLanguageModeling.
BenchBatch make_batch(int64_t B, int64_t T, int64_t vocab, double mask_ratio, Generator& gen) {
  LINEA_CHECK_T(ConfigError, T >= 4, "bench encoder: data.seq_len ", T, " is too short, expected >= 4");
  const int64_t words = std::min(vocab, kTokenizerVocab) - kFirstWord;
  LINEA_CHECK_T(ConfigError, words > 0, "bench encoder: model.vocab_size ", vocab, " is below BERT's word ids (",
                kFirstWord, "+)");
  BenchBatch m;
  std::vector<double> ids(size_t(B * T), double(kPad)), mask(size_t(B * T), 0.0), types(size_t(B * T), 0.0),
      labels(size_t(B * T), -100.0);
  const std::vector<double> len_u = rand_uniform({B}, gen, DType::f64).to_vector();
  const std::vector<double> u = rand_uniform({B, T, 4}, gen, DType::f64).to_vector();
  for (int64_t b = 0; b < B; ++b) {
    const double slice = (double(b) + len_u[size_t(b)]) / double(B);
    const int64_t len = 2 + std::min(T - 4, int64_t(slice * double(T - 3)));
    m.real += len;
    m.sum_sq_len += double(len) * double(len);
    for (int64_t t = 0; t < len; ++t) {
      const size_t i = size_t(b * T + t);
      const double* r = &u[i * 4];
      mask[i] = 1;
      const double original = t == 0 ? kCls : t == len - 1 ? kSep : double(kFirstWord + int64_t(r[0] * double(words)));
      ids[i] = original;
      if (t == 0 || t == len - 1 || r[1] >= mask_ratio) continue;
      labels[i] = original;
      ++m.masked;
      if (r[2] < 0.8) ids[i] = kMask;
      else if (r[2] < 0.9) ids[i] = double(kFirstWord + int64_t(r[3] * double(words)));
    }
  }
  m.input_ids = Tensor::from_vector(ids, {B, T}, DType::i64);
  m.attention_mask = Tensor::from_vector(mask, {B, T}, DType::i64);
  m.token_type_ids = Tensor::from_vector(types, {B, T}, DType::i64);
  m.labels = Tensor::from_vector(labels, {B, T}, DType::i64);
  return m;
}

}  // namespace

int run_bench_encoder(const BenchCommand& cmd) {
  const std::string& recipe = cmd.recipe;
  const std::string& save_batch = cmd.save_batch;
  const int64_t steps = cmd.steps;
  Config cfg = load_config(recipe, cmd.overrides);
  if (cfg.train.threads > 0) omp_set_num_threads(int(cfg.train.threads));
  const Device device = cfg.train.device;
  const DType dtype = cfg.train.precision == Precision::bf16 ? DType::bf16 : DType::f32;
  const int64_t B = cfg.train.micro_batch_size, T = cfg.data.seq_len;

  Generator batch_gen(uint64_t(cfg.seed) + 1);
  const BenchBatch m = make_batch(B, T, cfg.model.vocab_size, cfg.data.mlm.mask_ratio, batch_gen);
  const EncoderBatch batch{m.input_ids, m.attention_mask, m.token_type_ids};
  const double fill = double(m.real) / double(B * T);
  // Useful FLOPs only: each real token attends to its own sequence's sum(len^2)/sum(len)
  // keys on average, and the head runs on the masked fraction. The padded path does more
  // arithmetic for the same useful work, which is what its lower MFU shows.
  const double eff_len = m.sum_sq_len / double(m.real);
  const double head_fraction = double(m.masked) / double(m.real);
  const double peak = gemm_peak_flops(device, dtype);
  const std::string name = std::filesystem::path(recipe).stem().string();
  // Both paths live side by side and their timed steps alternate, each path's time being
  // the median of its steps, so a neighbour's load on a shared machine hits both alike.
  struct Path {
    const char* name;
    std::unique_ptr<Encoder> model;
    std::unique_ptr<AdamW> optimizer;
    std::vector<double> secs;
    double step_mib = 0;  // allocator high-water mark of a step above what lives between steps
  };
  Path paths[2] = {{"unpadded", nullptr, nullptr, {}}, {"padded", nullptr, nullptr, {}}};
  for (int i = 0; i < 2; ++i) {
    ModelConfig m = cfg.model;
    m.unpad = i == 0;
    paths[i].model = std::make_unique<Encoder>(m, device, dtype);
    paths[i].model->set_recompute(cfg.train.recompute);
    Generator gen(uint64_t(cfg.seed));
    paths[i].model->init_parameters(gen);
    paths[i].optimizer = std::make_unique<AdamW>(
        make_param_groups(paths[i].model->named_parameters(), cfg.optim.weight_decay, cfg.optim.no_decay),
        AdamWOptions{cfg.optim.betas[0], cfg.optim.betas[1], cfg.optim.eps});
  }
  // flops_per_token is linear in the sequence length; evaluate it at the fractional eff_len.
  const Encoder& any = *paths[0].model;
  const double flops_per_token =
      any.flops_per_token(0, head_fraction) +
      (any.flops_per_token(1, head_fraction) - any.flops_per_token(0, head_fraction)) * eff_len;
  auto step = [&](Path& p) {
    const auto t0 = std::chrono::steady_clock::now();
    p.optimizer->zero_grad();
    // The host-side unpadding is part of a step, as in training.
    Variable loss = p.model->mlm(encoder_rows(batch, p.model->config().unpad), m.labels).loss;
    loss.backward();
    p.optimizer->step(1e-4);
    loss.data().item();  // waits for the device
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (Path& p : paths) {
    step(p);  // warm-up: allocator caches, kernel handles, optimizer state
    reset_peak_memory(device);
    const size_t resident = memory_stats(device).current_bytes;  // both models' weights and states
    step(p);  // untimed too: measures this path's activations, gradients and temporaries
    p.step_mib = double(memory_stats(device).peak_bytes - resident) / (1 << 20);
  }
  for (int64_t s = 0; s < steps; ++s)
    for (Path& p : paths) p.secs.push_back(step(p));

  double tokens_per_s[2];
  for (int i = 0; i < 2; ++i) {
    Path& p = paths[i];
    std::sort(p.secs.begin(), p.secs.end());
    const double secs = p.secs[p.secs.size() / 2];
    tokens_per_s[i] = double(m.real) / secs;
    std::printf("linea   %-14s %-8s params %6.1fM  B=%ld T=%ld fill %4.1f%% threads=%d  %9.0f tokens/s  %8.1f ms/step  "
                "MFU %5.1f%%  step mem %.0f MiB\n",
                name.c_str(), p.name, double(p.model->num_parameters()) / 1e6, long(B), long(T), 100 * fill,
                omp_get_max_threads(), tokens_per_s[i], 1e3 * secs, 100 * tokens_per_s[i] * flops_per_token / peak,
                p.step_mib);
  }
  std::printf("linea   %-14s unpadded/padded speedup %.2fx  (median of %ld steps each; %.1f MFLOP per real token, "
              "GEMM peak %.0f GFLOP/s %s)\n",
              name.c_str(), tokens_per_s[0] / tokens_per_s[1], long(steps), flops_per_token / 1e6, peak / 1e9,
              dtype == DType::bf16 ? "bf16" : "f32");

  if (!save_batch.empty()) {
    H5File f = H5File::create(save_batch);
    f.write_tensor("/input_ids", m.input_ids);
    f.write_tensor("/attention_mask", m.attention_mask);
    f.write_tensor("/token_type_ids", m.token_type_ids);
    f.write_tensor("/labels", m.labels);
    f.write_tensor("/bench/gemm_peak_flops", Tensor::from_vector({peak}, {1}, DType::f64));
    f.write_tensor("/bench/flops_per_token", Tensor::from_vector({flops_per_token}, {1}, DType::f64));
  }
  return 0;
}

}  // namespace linea
