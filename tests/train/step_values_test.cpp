// StepValues: the mean over micro-batches (on one rank here: the mean over ranks is the
// communicator's), names kept in the reported order, mismatched names refused, and a
// fresh start after each take.
#include <gtest/gtest.h>

#include "core/dist/single_rank_communicator.h"
#include "support/testing.h"
#include "train/step_values.h"

using namespace linea;
using namespace linea::testing;

TEST(StepValues, MeanOverMicroBatchesInReportedOrder) {
  SingleRankCommunicator comm;
  StepValues v;
  v.add({{"z_load", 1.0}, {"a_balance", 0.5}});
  v.add({{"z_load", 3.0}, {"a_balance", 1.5}});
  EXPECT_EQ(v.take_mean(comm), (NamedValues{{"z_load", 2.0}, {"a_balance", 1.0}}));
  EXPECT_TRUE(v.take_mean(comm).empty());  // emptied
  v.add({{"z_load", 7.0}});
  EXPECT_EQ(v.take_mean(comm), (NamedValues{{"z_load", 7.0}}));
}

TEST(StepValues, NothingReportedIsNothingLogged) {
  SingleRankCommunicator comm;
  StepValues v;
  v.add({});
  v.add({});
  EXPECT_TRUE(v.take_mean(comm).empty());
}

TEST(StepValues, EveryMicroBatchReportsTheSameNames) {
  StepValues v;
  v.add({{"load", 1.0}});
  expect_error<InternalError>([&] { v.add({{"balance", 1.0}}); },
                              "reported the values [balance], an earlier one of the same step [load]");
}
