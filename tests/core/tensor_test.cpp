// Tensor views, copies, dtype conversion and error messages.
#include <gtest/gtest.h>

#include "core/tensor.h"

using namespace linea;

TEST(Tensor, FromVectorAndAt) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_DOUBLE_EQ(t.at({1, 2}), 6.0);
  EXPECT_TRUE(t.is_contiguous());
}

TEST(Tensor, TransposeIsAViewAndContiguousCopies) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_TRUE(tt.shares_storage(t));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_DOUBLE_EQ(tt.at({2, 1}), 6.0);
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

TEST(Tensor, ReshapeViewsWhenPossibleAndCopiesOtherwise) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  Tensor v = t.view({6, 4});
  EXPECT_TRUE(v.shares_storage(t));
  Tensor p = t.permute({2, 0, 1});
  EXPECT_THROW(p.view({24}), ShapeError);
  Tensor r = p.reshape({24});
  EXPECT_FALSE(r.shares_storage(t));
  EXPECT_DOUBLE_EQ(r.at({1}), 4.0);  // p[0, 0, 1] = t[0, 1, 0]
  // Merging the two trailing dims of p is possible without a copy (strides 12 = 4 * 3).
  EXPECT_TRUE(p.reshape({4, 6}).shares_storage(t));
  EXPECT_EQ(t.reshape({-1, 4}).shape(), (Shape{6, 4}));
  // Splitting a dim of a permuted tensor is still a view.
  Tensor s = p.view({2, 2, 2, 3});
  EXPECT_TRUE(s.shares_storage(t));
  EXPECT_DOUBLE_EQ(s.at({1, 1, 1, 2}), p.at({3, 1, 2}));
}

TEST(Tensor, SliceNarrowSelectExpand) {
  Tensor t = Tensor::arange(12).reshape({3, 4});
  Tensor s = t.slice(1, 1, 4, 2);
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<double>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ(t.narrow(0, 1, 2).to_vector(), (std::vector<double>{4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(t.select(1, 2).to_vector(), (std::vector<double>{2, 6, 10}));
  Tensor e = Tensor::from_vector({1, 2}, {2, 1}).expand({2, 3});
  EXPECT_EQ(e.to_vector(), (std::vector<double>{1, 1, 1, 2, 2, 2}));
  EXPECT_THROW(t.expand({3, 5}), ShapeError);
}

TEST(Tensor, DtypeConversionRoundsToNearestEven) {
  Tensor t = Tensor::from_vector({1.0, 1.00390625, 1.01171875, 3.14159}, {4}, DType::bf16);
  // bf16 has 8 mantissa bits: 1 + 2^-8 is a tie that rounds to 1; 1 + 3*2^-8 rounds up to 1 + 2^-6.
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1.0, 1.0, 1.015625, 3.140625}));
  Tensor h = Tensor::from_vector({65504.0, 1e-7, -2.5}, {3}, DType::f16);
  EXPECT_DOUBLE_EQ(h.at({0}), 65504.0);
  EXPECT_NEAR(h.at({1}), 1.1920928955078125e-07, 1e-12);  // nearest f16 subnormal (2 * 2^-24)
  EXPECT_DOUBLE_EQ(h.at({2}), -2.5);
  Tensor i = Tensor::from_vector({3, -7}, {2}, DType::i64).to(DType::f32);
  EXPECT_EQ(i.to_vector(), (std::vector<double>{3, -7}));
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  Tensor t = Tensor::zeros({2, 3});
  try {
    t.view({4, 2});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.data<double>(), ShapeError);
  EXPECT_THROW(t.transpose(0, 2), ShapeError);
}

TEST(Tensor, CudaDeviceWithoutGpuIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  try {
    Tensor::zeros({2}, DType::f32, Device::cuda(0));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_TRUE(m.find("cuda:0") != std::string::npos) << m;
  }
}
