// gather, index_select, scatter_add and embedding: gradchecks on odd and non-contiguous
// shapes with repeated indices, values, fp32 accumulation, and error messages.
#include <gtest/gtest.h>

#include "autograd/functional.h"
#include "core/kernels/embedding.h"
#include "core/kernels/gather.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

Tensor ids(const std::vector<double>& v, const Shape& shape, DType t = DType::i64) {
  return Tensor::from_vector(v, shape, t);
}

// Runs fn, expects a ShapeError whose message contains every fragment.
template <class Fn>
void expect_error(Fn fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    for (const auto& f : fragments) EXPECT_NE(m.find(f), std::string::npos) << "missing '" << f << "' in: " << m;
  }
}

TEST(Gather, ValuesFollowTorchSemantics) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(kernels::gather(x, 1, ids({0, 0, 1, 0}, {2, 2})).to_vector(), (std::vector<double>{1, 1, 4, 3}));
  // Index smaller than x outside dim, i32 indices, dim 0.
  Tensor y = kernels::gather(Tensor::arange(12).view({3, 4}), 0, ids({2, 0, 1}, {1, 3}, DType::i32));
  EXPECT_EQ(y.shape(), (Shape{1, 3}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{8, 1, 6}));
}

TEST(Gather, Gradcheck) {
  Tensor index = ids({0, 2, 2, 1, 3, 0, 0, 0, 1, 2, 3, 3, 1, 1, 0}, {3, 5});
  auto along1 = [&](const std::vector<Variable>& x) { return gather(x[0], 1, index); };
  LINEA_EXPECT_GRADCHECK(along1, (std::vector<Tensor>{random_tensor({3, 4}, 1)}));
  auto along0 = [&](const std::vector<Variable>& x) { return gather(x[0], 0, index.transpose(0, 1)); };
  LINEA_EXPECT_GRADCHECK(along0, (std::vector<Tensor>{random_strided({4, 3}, 2)}));
  Tensor index3 = ids({1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0}, {2, 3, 2});
  auto along_last = [&](const std::vector<Variable>& x) { return gather(x[0], -1, index3); };
  LINEA_EXPECT_GRADCHECK(along_last, (std::vector<Tensor>{random_strided({2, 3, 5}, 3)}));
}

TEST(IndexSelect, ValuesAndGradcheck) {
  Tensor x = Tensor::arange(6).view({2, 3});
  EXPECT_EQ(kernels::index_select(x, 1, ids({2, 0, 2, 1}, {4})).to_vector(),
            (std::vector<double>{2, 0, 2, 1, 5, 3, 5, 4}));
  Tensor index = ids({3, 0, 3, 3, 1, 4, 2}, {7}, DType::i32);
  for (int64_t dim : {0, 1, 2}) {
    auto fn = [&](const std::vector<Variable>& v) { return index_select(v[0], dim, index); };
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({5, 5, 6}, 4 + dim)}));
  }
  // A strided index view.
  Tensor strided_index = ids({0, 9, 2, 9, 1, 9}, {6}).slice(0, 0, 6, 2);
  EXPECT_EQ(kernels::index_select(x, 1, strided_index).to_vector(), (std::vector<double>{0, 2, 1, 3, 5, 4}));
}

TEST(ScatterAdd, SumsRepeatedIndicesAndGradcheck) {
  Tensor base = Tensor::from_vector({10, 20, 30}, {3});
  Tensor y = kernels::scatter_add(base, 0, ids({0, 1, 0, 2}, {4}), Tensor::from_vector({1, 2, 3, 4}, {4}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{14, 22, 34}));
  EXPECT_EQ(base.to_vector(), (std::vector<double>{10, 20, 30}));  // not modified in place
  EXPECT_EQ(kernels::index_add(Tensor::zeros({3, 2}), 0, ids({2, 2}, {2}), Tensor::ones({2, 2})).to_vector(),
            (std::vector<double>{0, 0, 0, 0, 2, 2}));

  Tensor index = ids({0, 2, 2, 1, 3, 0, 0, 0, 1, 2, 3, 3}, {3, 4});
  auto fn = [&](const std::vector<Variable>& v) { return scatter_add(v[0], 1, index, v[1]); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({3, 5}, 8), random_tensor({3, 4}, 9)}));
  // src larger than index: its extra positions get zero gradient.
  auto big_src = [&](const std::vector<Variable>& v) { return scatter_add(v[0], 1, index, v[1]); };
  LINEA_EXPECT_GRADCHECK(big_src, (std::vector<Tensor>{random_tensor({4, 5}, 10), random_strided({4, 6}, 11)}));
}

TEST(Embedding, ValuesAndGradcheck) {
  Tensor w = Tensor::arange(12).view({4, 3});
  Tensor y = kernels::embedding_fwd(w, ids({3, 0, 3, 1, 2, 2}, {2, 3}, DType::i32));
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{9, 10, 11, 0, 1, 2, 9, 10, 11, 3, 4, 5, 6, 7, 8, 6, 7, 8}));

  Tensor tokens = ids({1, 6, 1, 0, 4, 4, 4, 2, 6, 5, 3}, {11});
  auto fn = [&](const std::vector<Variable>& v) { return embedding(tokens, v[0]); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({7, 5}, 12)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({7, 130}, 13)}));  // > one column block
  Tensor grid = ids({1, 6, 1, 0, 4, 4}, {3, 2}).transpose(0, 1);
  auto fn2 = [&](const std::vector<Variable>& v) { return embedding(grid, v[0]); };
  LINEA_EXPECT_GRADCHECK(fn2, (std::vector<Tensor>{random_tensor({7, 3}, 14)}));
}

TEST(Embedding, Bf16GradientAccumulatesInF32) {
  // 4096 rows of 1/3 into one id: a bf16 running sum would stall far below 1365.33.
  Variable w(Tensor::zeros({2, 4}, DType::bf16), true);
  Tensor tokens = Tensor::zeros({4096}, DType::i64);
  embedding(tokens, w).backward(Tensor::full({4096, 4}, 1.0 / 3.0, DType::bf16));
  EXPECT_NEAR(w.grad().at({0, 0}), 4096.0 / 3.0, 4096.0 / 3.0 * 1e-2);
  EXPECT_EQ(w.grad().at({1, 3}), 0.0);
}

TEST(IndexingErrors, NameOpIdsShapesAndDtypes) {
  Tensor w = Tensor::zeros({10, 4});
  expect_error([&] { kernels::embedding_fwd(w, ids({3, 12, 1}, {3})); }, {"embedding", "id 12", "vocab size 10"});
  expect_error([&] { kernels::embedding_fwd(w, ids({-1}, {1})); }, {"embedding", "id -1", "vocab size 10"});
  expect_error([&] { kernels::embedding_fwd(w, Tensor::zeros({3})); }, {"embedding", "i32 or i64", "f32[3]"});
  expect_error([&] { kernels::gather(w, 1, ids({4}, {1, 1})); }, {"gather", "index 4", "dim 1", "size 4"});
  expect_error([&] { kernels::gather(w, 0, ids({0}, {1})); }, {"gather", "i64[1]", "f32[10, 4]", "same number of dims"});
  expect_error([&] { kernels::gather(w, 0, ids({0, 0, 0, 0, 0}, {1, 5})); }, {"gather", "larger", "dim 1"});
  expect_error([&] { kernels::index_select(w, 0, ids({0, 1}, {1, 2})); }, {"index_select", "1-D", "i64[1, 2]"});
  expect_error([&] { kernels::index_select(w, 0, ids({10}, {1})); }, {"index_select", "index 10", "size 10"});
  expect_error([&] { kernels::scatter_add(w, 0, ids({0}, {1, 1}), Tensor::ones({1, 1}, DType::bf16)); },
               {"scatter_add", "bf16", "f32"});
  expect_error([&] { kernels::index_add(w, 0, ids({0}, {1}), Tensor::ones({2, 4})); }, {"index_add", "f32[2, 4]"});
}

}  // namespace
