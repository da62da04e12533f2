// The meta device: tensors with a shape and a dtype but no data (a model counted without
// memory); filling them is a no-op, every kernel refuses them with one clear error, and
// nothing is allocated or tracked for them.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/kernels/matmul.h"
#include "core/tensor.h"
#include "support/testing.h"

using namespace linea;

TEST(MetaDevice, TensorsHaveShapesButNoData) {
  const MemoryStats before = memory_stats(Device::cpu());
  Tensor t = Tensor::zeros({1 << 20, 1 << 12}, DType::f32, Device::meta());  // 16 GiB if it were real
  EXPECT_EQ(t.shape(), (Shape{1 << 20, 1 << 12}));
  EXPECT_EQ(t.numel(), int64_t(1) << 32);
  EXPECT_EQ(t.device().str(), "meta");
  EXPECT_EQ(t.data<float>(), nullptr);
  t.fill_(1.0);  // no-op
  const Tensor ones = Tensor::ones({3}, DType::f64, Device::meta());
  EXPECT_EQ(ones.numel(), 3);
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before.current_bytes);
}

TEST(MetaDevice, KernelsAndAllocatorsRefuseIt) {
  const Tensor a = Tensor::empty({2, 3}, DType::f32, Device::meta());
  linea::testing::expect_error([&] { kernels::matmul(a, a, false, true); },
                        "tensors on the meta device have a shape but no data");
  linea::testing::expect_error([&] { memory_stats(Device::meta()); }, "the meta device allocates nothing");
}
