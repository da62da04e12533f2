// Unpadding metadata on a hand-made mask (indices, cu_seqlens, max_seqlen) and the
// unpad_rows / pad_rows round trip, on the CPU and (where present) CUDA.
#include "data/unpad.h"

#include <gtest/gtest.h>

#include "core/device.h"
#include "core/error.h"
#include "support/testing.h"

using namespace linea;

namespace {

// Row 0 a prefix, row 1 empty, row 2 full, row 3 not a prefix.
const std::vector<double> kMask = {1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0};

void check_metadata(const Unpadded& u) {
  EXPECT_EQ(u.indices.dtype(), DType::i64);
  EXPECT_EQ(u.cu_seqlens.dtype(), DType::i32);
  EXPECT_EQ(u.indices.to_vector(), (std::vector<double>{0, 1, 8, 9, 10, 11, 12, 14}));
  EXPECT_EQ(u.cu_seqlens.to_vector(), (std::vector<double>{0, 2, 2, 6, 8}));
  EXPECT_EQ(u.max_seqlen, 4);
  EXPECT_EQ(u.total_tokens, 8);
}

void check_round_trip(Device device) {
  Tensor mask = Tensor::from_vector(kMask, {4, 4}, DType::u8, device);
  Unpadded u = unpad_metadata(mask);
  EXPECT_EQ(u.indices.device(), device);
  check_metadata(u);
  Tensor x = linea::testing::random_tensor({4, 4, 3}, 11, -1.0, 1.0, DType::f32, device);
  Tensor packed = unpad_rows(x, u);
  ASSERT_EQ(packed.shape(), (Shape{8, 3}));
  std::vector<double> idx = u.indices.to_vector();
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(packed.at({r, c}), x.at({int64_t(idx[size_t(r)]) / 4, int64_t(idx[size_t(r)]) % 4, c}));
  Tensor back = pad_rows(packed, u, 4, 4);
  ASSERT_EQ(back.shape(), (Shape{4, 4, 3}));
  EXPECT_EQ(back.device(), device);
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_EQ(back.at({b, t, c}), kMask[size_t(b * 4 + t)] != 0 ? x.at({b, t, c}) : 0.0);
}

}  // namespace

TEST(Unpad, MetadataFromAHandMadeMask) {
  check_metadata(unpad_metadata(Tensor::from_vector(kMask, {4, 4}, DType::u8)));
  check_metadata(unpad_metadata(Tensor::from_vector(kMask, {4, 4}, DType::i64)));
  // A transposed (non-contiguous) view of the transposed mask is the same mask.
  Tensor transposed = Tensor::from_vector(kMask, {4, 4}, DType::i64).transpose(0, 1).contiguous().transpose(0, 1);
  check_metadata(unpad_metadata(transposed));
  Unpadded none = unpad_metadata(Tensor::zeros({2, 3}, DType::u8));
  EXPECT_EQ(none.total_tokens, 0);
  EXPECT_EQ(none.max_seqlen, 0);
  EXPECT_EQ(none.indices.shape(), (Shape{0}));
  EXPECT_EQ(none.cu_seqlens.to_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(pad_rows(Tensor::zeros({0, 5}), none, 2, 3).to_vector(), std::vector<double>(30, 0.0));
  EXPECT_THROW(unpad_metadata(Tensor::ones({4}, DType::u8)), ShapeError);
  EXPECT_THROW(unpad_metadata(Tensor::ones({2, 2}, DType::f32)), ShapeError);
}

TEST(Unpad, RowsRoundTripOnCpu) { check_round_trip(Device::cpu()); }

TEST(Unpad, ShapeMismatchesAreShapeErrors) {
  Unpadded u = unpad_metadata(Tensor::from_vector(kMask, {4, 4}, DType::u8));
  EXPECT_THROW(unpad_rows(Tensor::zeros({3, 4, 2}), u), ShapeError);
  EXPECT_THROW(unpad_rows(Tensor::zeros({4, 4}), u), ShapeError);
  EXPECT_THROW(pad_rows(Tensor::zeros({7, 2}), u, 4, 4), ShapeError);
  EXPECT_THROW(pad_rows(Tensor::zeros({8, 2}), u, 3, 4), ShapeError);
}

TEST(Unpad, RowsRoundTripOnCuda) {
  LINEA_REQUIRE_GPU();
  check_round_trip(Device::cuda(0));
}
