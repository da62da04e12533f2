// LR schedules at their key steps (warmup start/end, midpoint, end, wsd boundaries),
// plateau reductions and its state round trip, and option checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "optim/schedule.h"

using namespace linea;

namespace {
ScheduleOptions options(ScheduleKind kind) {
  ScheduleOptions o;
  o.kind = kind;
  o.base_lr = 1.0;
  o.warmup_steps = 10;
  o.total_steps = 110;
  o.min_lr_ratio = 0.1;
  o.decay_steps = 20;
  o.plateau_patience = 2;
  o.plateau_factor = 0.5;
  return o;
}
}  // namespace

TEST(LrSchedule, WarmupIsLinearFromZeroForEveryKind) {
  for (ScheduleKind k : {ScheduleKind::constant, ScheduleKind::linear, ScheduleKind::cosine, ScheduleKind::wsd,
                         ScheduleKind::plateau}) {
    LrSchedule s(options(k));
    EXPECT_EQ(s.lr_at(0), 0.0) << schedule_kind_name(k);
    EXPECT_DOUBLE_EQ(s.lr_at(5), 0.5) << schedule_kind_name(k);
    EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0) << schedule_kind_name(k);
  }
}

TEST(LrSchedule, NoWarmupStartsAtBase) {
  ScheduleOptions o = options(ScheduleKind::cosine);
  o.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(LrSchedule(o).lr_at(0), 1.0);
}

TEST(LrSchedule, ConstantStaysAtBase) {
  LrSchedule s(options(ScheduleKind::constant));
  EXPECT_EQ(s.lr_at(60), 1.0);
  EXPECT_EQ(s.lr_at(10000), 1.0);
}

TEST(LrSchedule, LinearDecaysToMin) {
  LrSchedule s(options(ScheduleKind::linear));
  EXPECT_DOUBLE_EQ(s.lr_at(60), 0.55);  // midpoint of the decay
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(500), 0.1);
}

TEST(LrSchedule, CosineDecaysToMin) {
  LrSchedule s(options(ScheduleKind::cosine));
  EXPECT_DOUBLE_EQ(s.lr_at(60), 0.55);
  EXPECT_NEAR(s.lr_at(35), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(200), 0.1);
}

TEST(LrSchedule, WsdIsStableThenDecaysOverTheLastSteps) {
  LrSchedule s(options(ScheduleKind::wsd));
  EXPECT_EQ(s.lr_at(11), 1.0);
  EXPECT_EQ(s.lr_at(90), 1.0);  // decay starts at total - decay_steps
  EXPECT_DOUBLE_EQ(s.lr_at(100), 0.55);
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(150), 0.1);
}

TEST(LrSchedule, PlateauReducesAfterPatienceAndRoundTripsItsState) {
  LrSchedule s(options(ScheduleKind::plateau));
  s.observe(3.0);
  s.observe(2.0);  // improvements
  s.observe(2.5);
  EXPECT_EQ(s.lr_at(50), 1.0);  // one bad evaluation: below patience
  s.observe(2.0);              // equal is not an improvement: second bad one
  EXPECT_EQ(s.lr_at(50), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(5), 0.5);  // warmup still applies below warmup_steps
  s.observe(std::nan(""));
  std::vector<double> st = s.state();
  ASSERT_EQ(st.size(), 3u);
  LrSchedule r(options(ScheduleKind::plateau));
  r.set_state(st);
  EXPECT_EQ(r.state(), st);
  s.observe(2.1);
  r.observe(2.1);
  EXPECT_EQ(s.lr_at(50), 0.25);
  EXPECT_EQ(r.lr_at(50), 0.25);
  for (int i = 0; i < 20; ++i) s.observe(9.0);
  EXPECT_DOUBLE_EQ(s.lr_at(50), 0.1);  // floor at min_lr_ratio
  EXPECT_THROW(r.set_state({1.0}), CheckpointError);
}

TEST(LrSchedule, ObserveIsANoOpForOtherKinds) {
  LrSchedule s(options(ScheduleKind::constant));
  for (int i = 0; i < 10; ++i) s.observe(5.0);
  EXPECT_EQ(s.lr_at(50), 1.0);
}

TEST(LrSchedule, RejectsBadOptions) {
  ScheduleOptions o = options(ScheduleKind::cosine);
  o.total_steps = 10;
  EXPECT_THROW(LrSchedule{o}, ConfigError);
  o = options(ScheduleKind::wsd);
  o.decay_steps = 101;
  EXPECT_THROW(LrSchedule{o}, ConfigError);
  o = options(ScheduleKind::plateau);
  o.plateau_factor = 1.0;
  EXPECT_THROW(LrSchedule{o}, ConfigError);
  o = options(ScheduleKind::linear);
  o.min_lr_ratio = 2;
  EXPECT_THROW(LrSchedule{o}, ConfigError);
}

TEST(LrSchedule, KindNames) {
  EXPECT_STREQ(schedule_kind_name(ScheduleKind::plateau), "plateau");
  EXPECT_STREQ(schedule_kind_name(ScheduleKind::wsd), "wsd");
}
