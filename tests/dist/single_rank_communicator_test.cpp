// SingleRankCommunicator: a world of one whose reductions leave tensors as they are,
// whose all_gather and reduce_scatter copy, and which checks arguments like the others.
#include <gtest/gtest.h>

#include "core/dist/single_rank_communicator.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(SingleRankCommunicator, IsAWorldOfOne) {
  SingleRankCommunicator comm;
  EXPECT_STREQ(comm.backend(), "single");
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_EQ(comm.local_rank(), 0);
  EXPECT_EQ(comm.local_size(), 1);
  comm.barrier();
  EXPECT_EQ(comm.all_reduce_value(2.5, ReduceOp::mean), 2.5);
}

TEST(SingleRankCommunicator, ReductionsKeepValuesAndGathersCopy) {
  SingleRankCommunicator comm;
  const Tensor x = random_tensor({3, 4}, 1, -1, 1, DType::f32);
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
    Tensor t = x.clone();
    comm.all_reduce(t, op);
    EXPECT_TRUE(all_close(t, x, 0, 0)) << reduce_op_name(op);
  }
  Tensor b = x.clone();
  comm.broadcast(b, 0);
  EXPECT_TRUE(all_close(b, x, 0, 0));
  Tensor gathered = Tensor::zeros({12});
  comm.all_gather(x, gathered);
  EXPECT_TRUE(all_close(gathered, x.reshape({12}), 0, 0));
  Tensor scattered = Tensor::zeros({12});
  comm.reduce_scatter(x, scattered, ReduceOp::mean);
  EXPECT_TRUE(all_close(scattered, x.reshape({12}), 0, 0));
  auto work = comm.all_reduce_async(b, ReduceOp::sum);
  EXPECT_TRUE(work->test());
}

TEST(SingleRankCommunicator, ChecksArgumentsLikeTheOtherBackends) {
  SingleRankCommunicator comm;
  expect_error<ShapeError>([&] { comm.broadcast(Tensor::zeros({2}), 1); }, "root 1 is not a rank");
  expect_error<ShapeError>([&] { comm.all_gather(Tensor::zeros({2}), Tensor::zeros({3})); }, "must hold world size");
  expect_error<ShapeError>([&] { comm.all_reduce(Tensor::zeros({2}, DType::i64), ReduceOp::mean); },
                           "needs a floating dtype");
  expect_error<ShapeError>([&] { comm.all_reduce(Tensor()); }, "is undefined");
}
