// linea's decoder against the PyTorch reference (scripts/torch_reference/decoder.py, run in
// float64): loss within 1e-4 relative and every parameter gradient within 1e-3 of the
// tensor's largest reference gradient. Skipped where Debian's python3-torch is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "configs/config.h"
#include "core/io/hdf5_file.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "support/temp_dir.h"
#include "train/checkpoint.h"

using namespace linea;

namespace {

bool torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch, h5py, yaml' >/dev/null 2>&1") == 0;
}

void check_against_torch(Config cfg) {
  if (!torch_available()) GTEST_SKIP() << "/usr/bin/python3 with torch, h5py and yaml is not installed";
  linea::testing::TempDir dir;
  Decoder model(cfg.model);
  Generator gen(11);
  model.init_parameters(gen);
  // Larger than the 0.02 init so attention and norms are far from their linear regime.
  for (auto& [name, p] : model.named_parameters())
    if (name.find("norm") == std::string::npos) normal_(p.data(), gen, 0.0, 0.2);
  const std::string ckpt = dir.file("model.h5");
  save_checkpoint(ckpt, model, nullptr, TrainerState{}, dump_config(cfg), 1);

  const int64_t B = 2, T = 9;
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
  EXPECT_NEAR(loss.data().item(), ref_loss, 1e-4 * std::abs(ref_loss));
  int checked = 0;
  for (auto& [name, p] : model.named_parameters()) {
    std::vector<double> ref = out.read_tensor("/grad/" + name).to_vector();
    std::vector<double> got = p.grad().to_vector();
    ASSERT_EQ(ref.size(), got.size()) << name;
    double scale = 0, worst = 0;
    for (double r : ref) scale = std::max(scale, std::abs(r));
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
    EXPECT_LE(worst, 1e-3 * scale) << name << ": largest reference gradient " << scale;
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

}  // namespace

TEST(TorchParity, UntiedDecoderWithGroupedQueryAttention) {
  Config c = tiny_config();
  c.model.tie_embeddings = false;
  check_against_torch(c);
}

TEST(TorchParity, TiedDecoderWithLlama31RopeScaling) {
  Config c = tiny_config();
  c.model.attention.rope_theta = 500000.0;
  RopeScalingConfig s;
  s.original_max_position_embeddings = 4;  // so the short test sequence crosses all three bands
  c.model.attention.rope_scaling = s;
  check_against_torch(c);
}
