// linea's decoders against the PyTorch reference (scripts/torch_reference/decoder.py, run in
// float64, written from the math): Llama-style decoders in f32, and a TransNormerLLM decoder
// (lightning attention, LRPE, SimpleRMSNorm, SGLU) in f64. Each compares the loss and every
// parameter gradient, relative to the tensor's largest reference gradient, within the case's
// Tolerance. Skipped where Debian's python3-torch is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "configs/config.h"
#include "core/io/hdf5_file.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "support/temp_dir.h"
#include "support/tiny_models.h"
#include "train/checkpoint.h"

using namespace linea;

namespace {

bool torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch, h5py, yaml' >/dev/null 2>&1") == 0;
}

// How a case runs and how close it must come to the reference.
struct Tolerance {
  DType dtype;
  double loss_rtol;  // of the reference loss
  double grad_rtol;  // of each tensor's largest reference gradient
};
// f32 against the f64 reference: f32 rounding through a few layers.
constexpr Tolerance kF32{DType::f32, 1e-4, 1e-3};
// Both sides in f64: what is left is rounding in a different summation order (the blockwise
// kernel against the naive O(T^2) sum, GEMMs, norms), about 1e-14 of the largest gradient.
// 1e-10 (as the MosaicBERT parity) leaves four orders of magnitude for other BLAS builds
// while a single f32-rounded quantity anywhere in the model (relative error 6e-8, a few
// 1e-8 in the gradients) fails by more than a factor of 100. The loss is less sensitive to
// such rounding than the gradients; 1e-6 relative there.
constexpr Tolerance kF64{DType::f64, 1e-6, 1e-10};

void check_against_torch(const Config& cfg, const Tolerance& tol) {
  if (!torch_available()) GTEST_SKIP() << "/usr/bin/python3 with torch, h5py and yaml is not installed";
  linea::testing::TempDir dir;
  Decoder model(cfg.model);
  Generator gen(11);
  model.init_parameters(gen);
  // Larger than the 0.02 init so attention and norms are far from their linear regime.
  for (auto& [name, p] : model.named_parameters())
    if (name.find("norm") == std::string::npos) normal_(p.data(), gen, 0.0, 0.2);
  model.to(Device::cpu(), tol.dtype);
  const std::string ckpt = dir.file("model.h5");
  save_checkpoint(ckpt, model, nullptr, TrainerState{}, dump_config(cfg), 1);

  const int64_t B = 2, T = cfg.data.seq_len;
  Tensor inputs = Tensor::empty({B, T}, DType::i64), targets = Tensor::empty({B, T}, DType::i64);
  Tensor u = rand_uniform({2, B, T}, gen);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      inputs.set({b, t}, std::floor(u.at({0, b, t}) * double(cfg.model.vocab_size)));
      targets.set({b, t}, t == 3 && b == 1 ? -100.0 : std::floor(u.at({1, b, t}) * double(cfg.model.vocab_size)));
    }
  {
    H5File f = H5File::create(dir.file("batch.h5"));
    f.write_tensor("/inputs", inputs);
    f.write_tensor("/targets", targets);
  }
  Variable loss = model.loss(inputs, targets);
  loss.backward();

  const std::string cmd = "/usr/bin/python3 " LINEA_SOURCE_DIR "/scripts/torch_reference/decoder.py " + ckpt + " " +
                          dir.file("batch.h5") + " " + dir.file("out.h5");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  H5File out = H5File::open_read(dir.file("out.h5"));
  const double ref_loss = out.read_tensor("/loss").item();
  EXPECT_NEAR(loss.data().item(), ref_loss, tol.loss_rtol * std::abs(ref_loss));
  int checked = 0;
  for (auto& [name, p] : model.named_parameters()) {
    std::vector<double> ref = out.read_tensor("/grad/" + name).to_vector();
    std::vector<double> got = p.grad().to_vector();
    ASSERT_EQ(ref.size(), got.size()) << name;
    double scale = 0, worst = 0;
    for (double r : ref) scale = std::max(scale, std::abs(r));
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
    EXPECT_GT(scale, 0) << name << " gets no gradient; the batch should reach every parameter";
    EXPECT_LE(worst, tol.grad_rtol * scale) << name << ": largest reference gradient " << scale;
    ++checked;
  }
  EXPECT_EQ(checked, int(model.named_parameters().size()));
}

Config tiny_config() {
  Config c;
  c.model.vocab_size = 61;
  c.model.hidden = 32;
  c.model.layers = 2;
  c.model.heads = 4;
  c.model.kv_heads = 2;
  c.model.ffn.hidden = 48;
  c.model.max_seq_len = 16;
  c.data.seq_len = 9;
  return c;
}

// A TransNormerLLM decoder (specs/transnormer.md §2): lightning attention with LRPE on layer 0
// only, SimpleRMSNorm, SGLU, scaled tied embeddings. Layers 1-3 are one layout group whose
// two-entry pattern cycles (1 and 3 alike), the second entry with φ = identity and a SiLU-gated
// glu, so that every way a layer's spec is read is exercised. T = 70 crosses the kernel's
// 64-row block, so the inter-block state path is checked as well as the intra-block one.
Config tiny_tnl_config() {
  Config c;
  c.model = linea::testing::tiny_decoder_config();
  ModelConfig& m = c.model;
  m.layers = 4;
  m.kv_heads = m.heads;
  m.scale_embeddings = true;
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.ffn.kind = FfnKind::sglu;
  m.attention.kind = AttentionKind::lightning;
  m.attention.positions = PositionKind::none;
  AttentionConfig with_lrpe = m.attention;
  with_lrpe.positions = PositionKind::lrpe;
  LayerSpec variant{m.attention, {FfnKind::glu, m.ffn.hidden, Activation::silu}};
  variant.attention.feature_map = Activation::none;
  m.layout = {LayerGroup{1, with_lrpe, m.ffn, {}},
              LayerGroup{0, m.attention, m.ffn, {LayerSpec{m.attention, m.ffn}, variant}}};
  m.max_seq_len = 80;
  c.data.seq_len = 70;
  return c;
}

}  // namespace

TEST(TorchParity, UntiedDecoderWithGroupedQueryAttention) {
  Config c = tiny_config();
  c.model.tie_embeddings = false;
  check_against_torch(c, kF32);
}

TEST(TorchParity, TiedDecoderWithLlama31RopeScaling) {
  Config c = tiny_config();
  c.model.attention.rope_theta = 500000.0;
  RopeScalingConfig s;
  s.original_max_position_embeddings = 4;  // so the short test sequence crosses all three bands
  c.model.attention.rope_scaling = s;
  check_against_torch(c, kF32);
}

TEST(TorchParity, TransNormerLlmDecoder) { check_against_torch(tiny_tnl_config(), kF64); }
