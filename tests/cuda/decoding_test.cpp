// Cached decoding on the GPU: a prefill of prompts of different lengths, then one token per
// step, gives the GPU's own full-forward logits at every position (global softmax with RoPE
// and grouped-query heads; a sliding window with ALiBi; Lightning attention; Kimi Delta
// Attention with its short convolutions), and matches the CPU's decoding.
// f32: the step path (cuBLAS + softmax) and the fused attention kernel sum in different
// orders, and cuBLAS differs from Eigen, so logits of order 1 agree to 2e-4, not bit for bit.
#include <gtest/gtest.h>

#include "layers/decoder.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

const Device kGpu = Device::cuda(0);

void expect_decoding_matches(ModelConfig m) {
  m.vocab_size = 37;
  m.hidden = 128;  // head_dim 32: a size the CUDA attention kernel takes
  m.layers = 2;
  m.heads = 4;
  m.kv_heads = 2;
  m.ffn.hidden = 96;
  m.max_seq_len = 32;
  m.init_std = 0.1;
  Decoder cpu(m), gpu(m);
  Generator gen(41);
  cpu.init_parameters(gen);
  for (auto& [name, v] : cpu.named_parameters()) gpu.parameter(name).set_data(v.data().clone());
  gpu.to(kGpu, DType::f32);
  cpu.eval();
  gpu.eval();
  const int64_t B = 2, T = 12;
  const std::vector<int64_t> prompt = {7, 3};
  const Tensor ids = random_ids({B, T}, 42);
  NoGradGuard no_grad;
  const Tensor full = gpu.forward(ids.to(kGpu)).data().to(Device::cpu());
  DecodingState on_gpu = gpu.new_decoding_state(B), on_cpu = cpu.new_decoding_state(B);
  const Tensor prefill = gpu.decode(ids.to(kGpu), on_gpu, prompt).data().to(Device::cpu());
  const Tensor prefill_cpu = cpu.decode(ids, on_cpu, prompt).data();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < prompt[size_t(b)]; ++t) {
      EXPECT_TRUE(all_close(prefill.select(0, b).select(0, t), full.select(0, b).select(0, t), 2e-4, 2e-4)) << b << " " << t;
      EXPECT_TRUE(all_close(prefill.select(0, b).select(0, t), prefill_cpu.select(0, b).select(0, t), 2e-4, 2e-4));
    }
  for (int64_t s = 0; s < 5; ++s) {
    std::vector<double> next;
    for (int64_t b = 0; b < B; ++b) next.push_back(ids.at({b, prompt[size_t(b)] + s}));
    const Tensor step_ids = Tensor::from_vector(next, {B, 1}, DType::i64);
    const Tensor step = gpu.decode(step_ids.to(kGpu), on_gpu).data().to(Device::cpu());
    const Tensor step_cpu = cpu.decode(step_ids, on_cpu).data();
    for (int64_t b = 0; b < B; ++b) {
      const int64_t pos = prompt[size_t(b)] + s;
      EXPECT_TRUE(all_close(step.select(0, b).select(0, 0), full.select(0, b).select(0, pos), 2e-4, 2e-4)) << b << " " << pos;
      EXPECT_TRUE(all_close(step.select(0, b), step_cpu.select(0, b), 2e-4, 2e-4)) << b << " " << pos;
    }
  }
}

}  // namespace

TEST(CudaDecoding, GlobalSoftmaxWithRopeMatchesTheFullForwardAndTheCpu) {
  LINEA_REQUIRE_GPU();
  expect_decoding_matches(ModelConfig{});
}

TEST(CudaDecoding, SlidingWindowWithAlibiMatchesTheFullForwardAndTheCpu) {
  LINEA_REQUIRE_GPU();
  ModelConfig m;
  m.attention.window = 4;
  m.attention.positions = PositionKind::alibi;
  expect_decoding_matches(m);
}

TEST(CudaDecoding, LightningAttentionMatchesTheFullForwardAndTheCpu) {
  LINEA_REQUIRE_GPU();
  ModelConfig m;
  m.attention.kind = AttentionKind::lightning;
  m.attention.positions = PositionKind::none;
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.ffn.kind = FfnKind::sglu;
  expect_decoding_matches(m);
}

TEST(CudaDecoding, KimiDeltaAttentionMatchesTheFullForwardAndTheCpu) {
  LINEA_REQUIRE_GPU();
  ModelConfig m;
  m.attention.kind = AttentionKind::kda;
  m.attention.positions = PositionKind::none;
  m.attention.kda.chunk = 16;
  expect_decoding_matches(m);
}
