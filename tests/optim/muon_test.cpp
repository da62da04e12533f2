// Muon (optim/muon.cpp): Newton-Schulz leaves the singular vectors and moves every singular
// value into a band around 1; a step on a matrix is Moonlight's rule written out (momentum,
// Nesterov, NS5, the 0.2 sqrt(max(n, m)) RMS match, decoupled weight decay) and its update RMS
// is AdamW's ~0.2; vectors and the matrices adamw_params names go to AdamW and equal an AdamW
// optimizer's steps; the state per parameter is what its rule keeps and round-trips; the
// factory refuses to shard it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/SVD>
#include <gtest/gtest.h>

#include <cmath>

#include "core/kernels/matmul.h"
#include "optim/optimizer.h"
#include "support/testing.h"
#include "train/optimizer_factory.h"

using namespace linea;
using namespace linea::testing;

namespace {

using MatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

MatrixXd to_eigen(const Tensor& t) {
  const std::vector<double> v = t.to(Device::cpu(), DType::f64).to_vector();
  return Eigen::Map<const MatrixXd>(v.data(), t.size(0), t.size(1));
}

Variable param(const Shape& s, uint64_t seed) { return Variable(random_tensor(s, seed), true); }

}  // namespace

TEST(Muon, NewtonSchulzKeepsSingularVectorsAndBandsSingularValues) {
  for (const Shape& s : {Shape{20, 12}, Shape{12, 20}, Shape{16, 16}}) {
    const Tensor g = random_tensor(s, 1 + s[0]);
    const MatrixXd G = to_eigen(g), O = to_eigen(newton_schulz(g, 5));
    Eigen::JacobiSVD<MatrixXd> svd(G, Eigen::ComputeThinU | Eigen::ComputeThinV);
    // Uᵀ O V is diagonal (same singular vectors), its diagonal the new singular values.
    const MatrixXd D = svd.matrixU().transpose() * O * svd.matrixV();
    for (int64_t i = 0; i < D.rows(); ++i)
      for (int64_t j = 0; j < D.cols(); ++j) {
        if (i == j) {
          EXPECT_GT(D(i, i), 0.6) << i;
          EXPECT_LT(D(i, i), 1.25) << i;
        } else {
          EXPECT_NEAR(D(i, j), 0.0, 1e-10);
        }
      }
  }
}

TEST(Muon, MatrixStepIsMoonlightsRule) {
  Variable w = param({6, 4}, 2);
  const Tensor w0 = w.data().clone();
  MuonOptions o;
  o.momentum = 0.9;
  Muon muon({ParamGroup{{{"w", w}}, 1.0, 0.1}}, o);
  const Tensor g1 = random_tensor({6, 4}, 3), g2 = random_tensor({6, 4}, 4);
  // Step 1: M = g1, u = g1 + 0.9 g1; step 2: M = 0.9 g1 + g2, u = g2 + 0.9 M.
  MatrixXd W = to_eigen(w0), M = MatrixXd::Zero(6, 4);
  for (const Tensor& g : {g1, g2}) {
    w.set_grad(g.clone());
    muon.step(0.05);
    const MatrixXd G = to_eigen(g);
    M = 0.9 * M + G;
    const MatrixXd U = G + 0.9 * M;
    const MatrixXd O = to_eigen(newton_schulz(Tensor::from_vector(std::vector<double>(U.data(), U.data() + 24), {6, 4},
                                                                  DType::f64), 5));
    const MatrixXd update = 0.2 * std::sqrt(6.0) * O;
    W = W * (1 - 0.05 * 0.1) - 0.05 * update;
    EXPECT_LT((to_eigen(w.data()) - W).cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_NEAR(std::sqrt(update.squaredNorm() / 24.0), 0.2, 0.05);  // AdamW's update RMS
  }
}

TEST(Muon, VectorsAndNamedMatricesStepAsAdamW) {
  Variable a = param({5}, 5), b = param({3, 7}, 6), c = param({4, 2}, 7);
  Variable a2(a.data().clone(), true), b2(b.data().clone(), true);
  MuonOptions o;
  o.adamw = {0.9, 0.95, 1e-8};
  o.adamw_params = {"embed_tokens"};
  Muon muon({ParamGroup{{{"norm.weight", a}, {"embed_tokens.weight", b}, {"layers.0.q_proj.weight", c}}, 1.0, 0.01}}, o);
  AdamW adamw({ParamGroup{{{"norm.weight", a2}, {"embed_tokens.weight", b2}}, 1.0, 0.01}}, o.adamw);
  EXPECT_FALSE(muon.takes("norm.weight", a));
  EXPECT_FALSE(muon.takes("embed_tokens.weight", b));
  EXPECT_TRUE(muon.takes("layers.0.q_proj.weight", c));
  for (uint64_t s = 0; s < 3; ++s) {
    for (auto [x, y, shape] : {std::tuple{a, a2, Shape{5}}, std::tuple{b, b2, Shape{3, 7}}}) {
      const Tensor g = random_tensor(shape, 10 + s);
      Variable(x).set_grad(g.clone());
      Variable(y).set_grad(g.clone());
    }
    c.set_grad(random_tensor({4, 2}, 20 + s));
    muon.step(0.01);
    adamw.step(0.01);
  }
  EXPECT_TRUE(all_close(a.data(), a2.data(), 1e-14, 1e-14));
  EXPECT_TRUE(all_close(b.data(), b2.data(), 1e-14, 1e-14));
  // Each parameter keeps its rule's state, and the state loads back.
  const OptimizerState st = muon.state();
  EXPECT_EQ(st.at("norm.weight").count("exp_avg"), 1u);
  EXPECT_EQ(st.at("norm.weight").count("momentum_buffer"), 0u);
  EXPECT_EQ(st.at("layers.0.q_proj.weight").count("momentum_buffer"), 1u);
  EXPECT_EQ(st.at("layers.0.q_proj.weight").count("exp_avg"), 0u);
  Muon fresh({ParamGroup{{{"norm.weight", a}, {"embed_tokens.weight", b}, {"layers.0.q_proj.weight", c}}, 1.0, 0.01}}, o);
  fresh.load_state(st, muon.step_count());
  OptimizerState wrong = st;
  wrong.at("layers.0.q_proj.weight").erase("momentum_buffer");
  EXPECT_THROW(fresh.load_state(wrong, 3), CheckpointError);
}

TEST(Muon, FactoryBuildsItAndRefusesToShardIt) {
  OptimConfig o;
  o.kind = OptimKind::muon;
  Variable w = param({3, 3}, 30);
  const NamedParams params = {{"layers.0.q_proj.weight", w}};
  EXPECT_STREQ(make_optimizer(o, params, std::nullopt)->kind(), "muon");
  EXPECT_THROW(make_optimizer(o, params, std::vector<ParamSlice>{{"layers.0.q_proj.weight", 0, 9}}), ConfigError);
}
