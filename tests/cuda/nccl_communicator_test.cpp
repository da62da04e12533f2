// The NCCL communicator as a world of one GPU (scripts/test_gpu.sh): every collective on
// CUDA tensors, asynchronous work ordered against later kernels, and DataParallel over it
// training a tiny Decoder exactly like plain training (a world of one averages nothing).
// Skipped where no GPU is present, or NCCL cannot be loaded (the message says why); a
// failure instead where a GPU is required (LINEA_REQUIRE_GPU=1).
#include <gtest/gtest.h>

#include "core/dist/communicator.h"
#include "core/kernels/elementwise.h"
#include "layers/decoder.h"
#include "support/testing.h"
#include "support/tiny_models.h"
#include "train/data_parallel.h"

using namespace linea;
using namespace linea::testing;

namespace {

std::unique_ptr<Communicator> nccl_or_skip(std::string* why) {
  try {
    return make_communicator(CommBackend::nccl, Device::cuda(0));
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("could not load libnccl") == std::string::npos && msg.find("built without it") == std::string::npos)
      throw;
    *why = msg;
    return nullptr;
  }
}

#define LINEA_REQUIRE_NCCL(comm)                            \
  LINEA_REQUIRE_GPU();                                      \
  std::string why_;                                         \
  std::unique_ptr<Communicator> comm = nccl_or_skip(&why_); \
  if (!comm) return gpu_unavailable(why_)

}  // namespace

TEST(NcclCommunicator, WorldOfOneCollectives) {
  LINEA_REQUIRE_NCCL(comm);
  const Device gpu = Device::cuda(0);
  EXPECT_STREQ(comm->backend(), "nccl");
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->device(), gpu);
  for (DType dt : {DType::f32, DType::bf16, DType::f64}) {
    const Tensor x = random_tensor({1000}, 1).to(gpu, dt);
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
      Tensor t = x.clone();
      comm->all_reduce(t, op);
      EXPECT_TRUE(all_close(t.to(Device::cpu()), x.to(Device::cpu()), 0, 0)) << dtype_name(dt) << " "
                                                                              << reduce_op_name(op);
    }
    Tensor gathered = Tensor::zeros({1000}, dt, gpu);
    comm->all_gather(x, gathered);
    EXPECT_TRUE(all_close(gathered.to(Device::cpu()), x.to(Device::cpu()), 0, 0));
    Tensor scattered = Tensor::zeros({1000}, dt, gpu);
    comm->reduce_scatter(x, scattered, ReduceOp::sum);
    EXPECT_TRUE(all_close(scattered.to(Device::cpu()), x.to(Device::cpu()), 0, 0));
    Tensor b = x.clone();
    comm->broadcast(b, 0);
    EXPECT_TRUE(all_close(b.to(Device::cpu()), x.to(Device::cpu()), 0, 0));
  }
  EXPECT_EQ(comm->all_reduce_value(3.5, ReduceOp::sum), 3.5);
  comm->barrier();
  expect_error<ShapeError>([&] { comm->all_reduce(Tensor::zeros({4})); }, "expected a tensor on cuda:0");
}

TEST(NcclCommunicator, LaterKernelsSeeTheResult) {
  LINEA_REQUIRE_NCCL(comm);
  const Device gpu = Device::cuda(0);
  // Written by a kernel just before the collective starts, read by one right after it
  // completes: the events must order all three on the GPU.
  Tensor t = Tensor::zeros({1 << 22}, DType::f32, gpu);
  t.copy_(kernels::unary_fwd(UnaryOp::affine, t, 1.0, 2.0));
  auto work = comm->all_reduce_async(t, ReduceOp::sum);
  work->wait();
  const Tensor after = kernels::unary_fwd(UnaryOp::affine, t, 3.0, 0.0);
  EXPECT_EQ(after.to(Device::cpu()).at({12345}), 6.0);
}

TEST(NcclCommunicator, DataParallelWorldOfOneTrainsLikePlainTraining) {
  LINEA_REQUIRE_NCCL(comm);
  const Device gpu = Device::cuda(0);
  const ModelConfig opt = tiny_decoder_config();
  auto make = [&] {
    auto m = std::make_unique<Decoder>(opt);
    Generator gen(5);
    m->init_parameters(gen);
    m->to(gpu, DType::f32);
    return m;
  };
  auto plain = make(), replica = make();
  DataParallel dp(*comm, replica->named_parameters(), DataParallelOptions{0.001, false});
  dp.broadcast_parameters();
  AdamW a(make_param_groups(plain->named_parameters(), 0.1, {"norm"}));
  AdamW b(make_param_groups(replica->named_parameters(), 0.1, {"norm"}));
  std::vector<double> in(4 * 8), out(4 * 8);
  for (size_t i = 0; i < in.size(); ++i) {
    in[i] = double((i * 7) % 37);
    out[i] = double((i * 7 + 1) % 37);
  }
  const Tensor inputs = Tensor::from_vector(in, {4, 8}, DType::i64, gpu);
  const Tensor targets = Tensor::from_vector(out, {4, 8}, DType::i64, gpu);
  for (int step = 0; step < 3; ++step) {
    plain->zero_grad();
    plain->loss(inputs, targets).backward();
    a.step(1e-2);
    replica->zero_grad();
    replica->loss(inputs, targets).backward();
    dp.finish_gradients();
    b.step(1e-2);
  }
  EXPECT_EQ(dp.comm_stats().steps, 3);
  // Kernels that add with atomics may round differently from run to run: allow that much.
  for (const auto& [name, p] : plain->named_parameters())
    EXPECT_TRUE(all_close(replica->parameter(name).data().to(Device::cpu()), p.data().to(Device::cpu()), 1e-6, 1e-5))
        << name;
}
