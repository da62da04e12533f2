// CPU-vs-CUDA parity for embedding, gather / index_select / scatter_add, where /
// masked_fill, tril / triu, cumsum, concat / split and dropout. Selections and masks are
// exact; sums use f32 atomics (unordered) or f32 scans, so they match to f32 rounding
// (bf16 outputs to a neighbouring value). Dropout masks must be bitwise equal.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/kernels/concat.h"
#include "core/kernels/cumsum.h"
#include "core/kernels/dropout.h"
#include "core/kernels/embedding.h"
#include "core/kernels/gather.h"
#include "core/kernels/triangular.h"
#include "core/kernels/where.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();
double tol_for(DType t) { return t == DType::f64 ? 1e-12 : t == DType::f32 ? 1e-5 : 1.0 / 128; }

// Random integer indices in [0, n) of the given dtype.
Tensor random_index_tensor(const Shape& shape, int64_t n, uint64_t seed, DType t = DType::i64) {
  std::vector<double> u = random_tensor(shape, seed, 0.0, double(n)).to_vector();
  for (double& v : u) v = std::floor(v);
  return Tensor::from_vector(u, shape, t);
}
}  // namespace

TEST(CudaParity, EmbeddingForwardBackward) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    for (DType it : {DType::i32, DType::i64}) {
      Tensor w = random_tensor({50, 67}, 1).to(dt);
      Tensor ids = random_index_tensor({7, 33}, 50, 2, it);
      Tensor dy = random_tensor({7, 33, 67}, 3).to(dt);
      Tensor y = kernels::embedding_fwd(w, ids);
      Tensor dw = kernels::embedding_bwd(ids, dy, 50);
      Tensor yg = kernels::embedding_fwd(w.to(kGpu), ids.to(kGpu));
      Tensor dwg = kernels::embedding_bwd(ids.to(kGpu), dy.to(kGpu), 50);
      EXPECT_EQ(yg.to(kCpu).to_vector(), y.to_vector()) << dtype_name(dt);
      EXPECT_TRUE(all_close(dwg.to(kCpu), dw, tol_for(dt), tol_for(dt))) << dtype_name(dt);
    }
  }
}

TEST(CudaParity, EmbeddingReportsOutOfRangeIds) {
  LINEA_REQUIRE_GPU();
  Tensor w = Tensor::zeros({10, 4}, DType::f32, kGpu);
  Tensor ids = Tensor::from_vector({1, 12, 3}, {3}, DType::i64, kGpu);
  try {
    kernels::embedding_fwd(w, ids);
    FAIL();
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("id 12"), std::string::npos) << m;
    EXPECT_NE(m.find("vocab size 10"), std::string::npos) << m;
  }
}

TEST(CudaParity, GatherIndexSelectScatterAdd) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor x = random_strided({9, 31, 13}, 4).to(dt);
    Tensor index = random_index_tensor({9, 40, 11}, 31, 5);
    Tensor y = kernels::gather(x, 1, index);
    EXPECT_EQ(kernels::gather(x.to(kGpu), 1, index.to(kGpu)).to(kCpu).to_vector(), y.to_vector());
    Tensor dy = random_tensor(index.shape(), 6).to(dt);
    Tensor dx = kernels::gather_bwd(x.shape(), 1, index, dy);
    Tensor dxg = kernels::gather_bwd(x.shape(), 1, index.to(kGpu), dy.to(kGpu));
    EXPECT_TRUE(all_close(dxg.to(kCpu), dx, tol_for(dt), tol_for(dt))) << dtype_name(dt);

    Tensor sel = random_index_tensor({45}, 13, 7, DType::i32);
    Tensor s = kernels::index_select(x, 2, sel);
    EXPECT_EQ(kernels::index_select(x.to(kGpu), 2, sel.to(kGpu)).to(kCpu).to_vector(), s.to_vector());
    Tensor ds = random_tensor(s.shape(), 8).to(dt);
    Tensor dsx = kernels::index_select_bwd(x.shape(), 2, sel, ds);
    Tensor dsxg = kernels::index_select_bwd(x.shape(), 2, sel.to(kGpu), ds.to(kGpu));
    EXPECT_TRUE(all_close(dsxg.to(kCpu), dsx, tol_for(dt), tol_for(dt))) << dtype_name(dt);

    Tensor base = random_tensor({9, 31, 13}, 9).to(dt);
    Tensor sa = kernels::scatter_add(base, 1, index, dy);
    Tensor sag = kernels::scatter_add(base.to(kGpu), 1, index.to(kGpu), dy.to(kGpu));
    EXPECT_TRUE(all_close(sag.to(kCpu), sa, tol_for(dt), tol_for(dt))) << dtype_name(dt);
  }
}

TEST(CudaParity, WhereAndMaskedFill) {
  LINEA_REQUIRE_GPU();
  Tensor cond = random_index_tensor({17, 1, 29}, 2, 10, DType::i32).to(DType::u8);
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor a = random_strided({17, 5, 29}, 11).to(dt);
    Tensor b = random_tensor({29}, 12).to(dt);
    Tensor y = kernels::where(cond, a, b);
    EXPECT_EQ(kernels::where(cond.to(kGpu), a.to(kGpu), b.to(kGpu)).to(kCpu).to_vector(), y.to_vector());
    Tensor dy = random_tensor(y.shape(), 13).to(dt);
    Tensor da, db, dag, dbg;
    kernels::where_bwd(cond, a.shape(), b.shape(), dy, &da, &db);
    kernels::where_bwd(cond.to(kGpu), a.shape(), b.shape(), dy.to(kGpu), &dag, &dbg);
    EXPECT_EQ(dag.to(kCpu).to_vector(), da.to_vector());
    EXPECT_TRUE(all_close(dbg.to(kCpu), db, tol_for(dt), tol_for(dt))) << dtype_name(dt);
    Tensor m = kernels::masked_fill(a, cond, -INFINITY);
    EXPECT_EQ(kernels::masked_fill(a.to(kGpu), cond.to(kGpu), -INFINITY).to(kCpu).to_vector(), m.to_vector());
  }
}

TEST(CudaParity, TriangularForwardBackward) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor x = random_strided({3, 37, 41}, 14).to(dt);
    for (int64_t diag : {-3, 0, 2}) {
      EXPECT_EQ(kernels::tril(x.to(kGpu), diag, -INFINITY).to(kCpu).to_vector(),
                kernels::tril(x, diag, -INFINITY).to_vector());
      EXPECT_EQ(kernels::triu(x.to(kGpu), diag).to(kCpu).to_vector(), kernels::triu(x, diag).to_vector());
      EXPECT_EQ(kernels::triangular_bwd(x.to(kGpu), diag, true).to(kCpu).to_vector(),
                kernels::triangular_bwd(x, diag, true).to_vector());
    }
  }
}

TEST(CudaParity, CumsumForwardBackward) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor x = random_strided({5, 300, 7}, 15).to(dt);
    for (int64_t dim : {0, 1, 2}) {
      EXPECT_TRUE(all_close(kernels::cumsum(x.to(kGpu), dim).to(kCpu), kernels::cumsum(x, dim), 1e-4, tol_for(dt)))
          << dtype_name(dt) << " dim " << dim;
      EXPECT_TRUE(
          all_close(kernels::cumsum_bwd(x.to(kGpu), dim).to(kCpu), kernels::cumsum_bwd(x, dim), 1e-4, tol_for(dt)))
          << dtype_name(dt) << " dim " << dim;
    }
  }
}

TEST(CudaParity, ConcatAndSplit) {
  LINEA_REQUIRE_GPU();
  Tensor a = random_strided({4, 3, 9}, 16).to(DType::bf16), b = random_tensor({4, 5, 9}, 17).to(DType::bf16);
  Tensor y = kernels::concat({a, b}, 1);
  Tensor yg = kernels::concat({a.to(kGpu), b.to(kGpu)}, 1);
  EXPECT_EQ(yg.to(kCpu).to_vector(), y.to_vector());
  std::vector<Tensor> parts = kernels::split(yg, {3, 5}, 1);
  EXPECT_EQ(parts[1].contiguous().to(kCpu).to_vector(), b.to_vector());
}

TEST(CudaParity, DropoutMasksAreBitwiseEqual) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    Tensor x = random_strided({33, 1025}, 18).to(dt);
    for (double p : {0.1, 0.5, 0.9}) {
      Tensor y = kernels::dropout_fwd(x, p, 1234, 77);
      Tensor yg = kernels::dropout_fwd(x.to(kGpu), p, 1234, 77);
      EXPECT_EQ(yg.to(kCpu).to_vector(), y.to_vector()) << dtype_name(dt) << " p " << p;
      Tensor dx = kernels::dropout_bwd(x, p, 1234, 77);
      EXPECT_EQ(kernels::dropout_bwd(x.to(kGpu), p, 1234, 77).to(kCpu).to_vector(), dx.to_vector());
    }
  }
}

TEST(CudaParity, GatherScatterOnDeviceViewsF64) {
  LINEA_REQUIRE_GPU();
  // x and the index transposed on the GPU, so the kernels walk strided plans on both.
  for (DType dt : {DType::f64, DType::f16}) {
    const Tensor xg = strided_on(kGpu, {9, 31, 13}, 20, dt), x = xg.to(kCpu);
    const Tensor ig = random_index_tensor({9, 11, 40}, 31, 21).to(kGpu).transpose(1, 2), index = ig.to(kCpu);
    EXPECT_EQ(kernels::gather(xg, 1, ig).to(kCpu).to_vector(), kernels::gather(x, 1, index).to_vector())
        << dtype_name(dt);
    const Tensor dyg = strided_on(kGpu, {9, 40, 11}, 22, dt), dy = dyg.to(kCpu);
    EXPECT_TRUE(all_close(kernels::gather_bwd(x.shape(), 1, ig, dyg).to(kCpu),
                          kernels::gather_bwd(x.shape(), 1, index, dy), tol_for(dt), tol_for(dt)))
        << dtype_name(dt);
    EXPECT_TRUE(all_close(kernels::scatter_add(xg, 1, ig, dyg).to(kCpu), kernels::scatter_add(x, 1, index, dy),
                          tol_for(dt), tol_for(dt)))
        << dtype_name(dt);
  }
}

TEST(CudaParity, OutOfRangeIndicesAreReportedLikeOnTheCpu) {
  LINEA_REQUIRE_GPU();
  // One bad index per call (past the end, or negative), so the value named is determined.
  const Tensor x = random_tensor({4, 31, 5}, 23).to(DType::f32), src = random_tensor({4, 3, 5}, 24).to(DType::f32);
  for (double bad : {31.0, -1.0}) {
    const Tensor index = Tensor::from_vector({0, bad, 2}, {3}, DType::i64);
    const Tensor index3 = kernels::expand_index(index, 1, {4, 3, 5}).contiguous();
    const std::string want = str_cat("index ", int64_t(bad), " is out of range for dim 1 of size 31");
    auto on = [&](Device d, auto op) {
      try {
        op(d);
        return std::string("no error");
      } catch (const ShapeError& e) {
        return std::string(e.what());
      }
    };
    const std::vector<std::pair<const char*, std::function<void(Device)>>> ops = {
        {"gather", [&](Device d) { kernels::gather(x.to(d), 1, index3.to(d)); }},
        {"scatter_add", [&](Device d) { kernels::scatter_add(x.to(d), 1, index3.to(d), src.to(d)); }},
        {"index_select", [&](Device d) { kernels::index_select(x.to(d), 1, index.to(d)); }},
        {"index_add", [&](Device d) { kernels::index_add(x.to(d), 1, index.to(d), src.to(d)); }},
    };
    for (const auto& [name, op] : ops) {
      const std::string cpu = on(kCpu, op), gpu = on(kGpu, op);
      EXPECT_NE(cpu.find(want), std::string::npos) << name << ": " << cpu;
      EXPECT_NE(gpu.find(want), std::string::npos) << name << ": " << gpu;
      EXPECT_EQ(gpu.substr(0, gpu.find(" (")), cpu.substr(0, cpu.find(" ("))) << name;
    }
    // The CUDA context survives: the bad index was skipped, not written through.
    EXPECT_EQ(kernels::gather(x.to(kGpu), 1, Tensor::zeros({4, 1, 5}, DType::i64, kGpu)).to(kCpu).to_vector(),
              kernels::gather(x, 1, Tensor::zeros({4, 1, 5}, DType::i64)).to_vector());
  }
}
