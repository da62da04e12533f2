// dropout: the mask is a pure function of (seed, offset, element index), its keep rate
// is near 1 - p, the backward recomputes it, and gradcheck holds with a fixed stream.
#include <gtest/gtest.h>

#include "autograd/functional.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

TEST(Dropout, SameSeedAndOffsetGiveTheSameMask) {
  Variable x(Tensor::ones({37, 29}));
  Generator g1(42, 5), g2(42, 5);
  std::vector<double> a = dropout(x, 0.3, g1).data().to_vector();
  EXPECT_EQ(a, dropout(x, 0.3, g2).data().to_vector());
  // Each call reserved ceil(n / 4) counters, and the next call draws a different mask.
  EXPECT_EQ(g1.offset(), 5u + (37 * 29 + 3) / 4);
  EXPECT_NE(a, dropout(x, 0.3, g1).data().to_vector());
  Generator g3(43, 5);
  EXPECT_NE(a, dropout(x, 0.3, g3).data().to_vector());
}

TEST(Dropout, KeepRateAndScale) {
  const double p = 0.3;
  Generator gen(7);
  std::vector<double> y = dropout(Variable(Tensor::ones({200000})), p, gen).data().to_vector();
  int64_t kept = 0;
  for (double v : y) {
    if (v != 0.0) {
      ++kept;
      EXPECT_FLOAT_EQ(v, 1.0 / (1.0 - p));
    }
  }
  // Binomial std of the rate is sqrt(p (1 - p) / n) ~ 0.001.
  EXPECT_NEAR(double(kept) / double(y.size()), 1.0 - p, 0.005);
}

TEST(Dropout, MaskFollowsLogicalIndexForStridedInputs) {
  Tensor x = random_strided({6, 9}, 1).to(DType::f32);
  Generator g1(3), g2(3);
  EXPECT_EQ(dropout(Variable(x), 0.5, g1).data().to_vector(),
            dropout(Variable(x.contiguous()), 0.5, g2).data().to_vector());
}

TEST(Dropout, BackwardRecomputesTheMask) {
  Variable x(Tensor::ones({13, 11}, DType::bf16), true);
  Generator gen(11);
  Variable y = dropout(x, 0.25, gen);
  y.backward(Tensor::ones({13, 11}, DType::bf16));
  EXPECT_EQ(x.grad().to_vector(), y.data().to_vector());  // dy = 1: dx = mask / (1 - p) = y
}

TEST(Dropout, Gradcheck) {
  // A fresh generator per call keeps the mask fixed across gradcheck's evaluations.
  auto fn = [](const std::vector<Variable>& x) {
    Generator gen(5, 100);
    return dropout(x[0], 0.4, gen);
  };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({5, 7}, 2)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({3, 4, 5}, 3)}));
}

TEST(Dropout, IdentityInEvalOrAtZeroAndRejectsBadP) {
  Variable x(random_tensor({4, 3}, 4));
  Generator gen(1);
  EXPECT_EQ(dropout(x, 0.5, gen, false).data().to_vector(), x.data().to_vector());
  EXPECT_EQ(dropout(x, 0.0, gen).data().to_vector(), x.data().to_vector());
  EXPECT_EQ(gen.offset(), 0u);
  for (double p : {1.0, -0.1, 1.5}) {
    try {
      dropout(x, p, gen);
      ADD_FAILURE() << "p = " << p;
    } catch (const ShapeError& e) {
      EXPECT_NE(std::string(e.what()).find("outside [0, 1)"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
