// NcclCommunicator's failure paths against a fake NcclBackend, without a GPU or NCCL: a
// timeout or an asynchronous NCCL error aborts the communicator exactly once, abort() then
// only ends the job with its message, nothing touches the aborted communicator again, and
// teardown with a collective stalled by a dead peer aborts before it waits. The real
// backend runs in tests/cuda/nccl_communicator_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/dist/nccl_communicator.h"
#include "core/dist/single_rank_communicator.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

using Progress = dist::NcclBackend::Progress;

// What the fake backend was asked to do, and any use the real NCCL would not survive.
struct FakeLog {
  Progress progress = Progress::done;  // what every poll answers
  std::string async_error;             // the error of a failed poll
  bool busy = false;                   // a collective is stalled on the stream (a dead peer)
  bool aborted = false;
  int aborts = 0;
  std::vector<std::string> calls;
  std::vector<std::string> misuse;  // use after abort, a second abort, a wait that would hang

  bool called_before(const std::string& a, const std::string& b) const {
    auto ia = std::find(calls.begin(), calls.end(), a), ib = std::find(calls.begin(), calls.end(), b);
    return ia != calls.end() && ib != calls.end() && ia < ib;
  }
};

class FakeBackend : public dist::NcclBackend {
 public:
  explicit FakeBackend(std::shared_ptr<FakeLog> log) : log_(std::move(log)) {}
  Device device() const override { return Device::cpu(); }
  std::vector<uint8_t> unique_id() override { return std::vector<uint8_t>(kUniqueIdBytes, 7); }
  void init(const std::vector<uint8_t>& id, int size, int rank) override {
    EXPECT_EQ(id, std::vector<uint8_t>(kUniqueIdBytes, 7));
    EXPECT_EQ(size, 1);
    EXPECT_EQ(rank, 0);
    log_->calls.push_back("init");
  }
  Event launch(const dist::Collective&) override {
    use("launch");
    return reinterpret_cast<Event>(++events_);
  }
  Progress poll(Event, std::string* error) override {
    use("poll");
    *error = log_->async_error;
    return log_->progress;
  }
  void order_compute_after(Event) override { log_->calls.push_back("order"); }
  void release(Event) override { log_->calls.push_back("release"); }
  bool idle() override { return !log_->busy; }
  void abort() override {
    if (log_->aborted) log_->misuse.push_back("second abort");
    log_->aborted = true;
    log_->busy = false;  // ncclCommAbort stops the collectives in flight
    ++log_->aborts;
    log_->calls.push_back("abort");
  }
  void close() override {
    if (log_->busy) log_->misuse.push_back("close waits for a stream a dead peer stalls: a hang");
    log_->calls.push_back("close");
  }

 private:
  void use(const char* what) {
    if (log_->aborted) log_->misuse.push_back(std::string(what) + " after abort");
    log_->calls.push_back(what);
  }
  std::shared_ptr<FakeLog> log_;
  uintptr_t events_ = 0;
};

// What the bootstrap's abort() was given; it throws this instead of ending the process.
struct JobAborted {
  int code;
  std::string message;
};
class Bootstrap : public SingleRankCommunicator {
 public:
  [[noreturn]] void abort(int code, const std::string& message) override { throw JobAborted{code, message}; }
};

std::unique_ptr<NcclCommunicator> make_comm(const std::shared_ptr<FakeLog>& log, double timeout_s = 0.05) {
  CommOptions options;
  options.timeout_s = timeout_s;
  return std::make_unique<NcclCommunicator>(std::make_unique<Bootstrap>(), std::make_unique<FakeBackend>(log),
                                            options);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x + "; ";
  return s;
}

}  // namespace

TEST(NcclCommunicatorFailures, TimeoutAbortsOnceThenAbortOnlyEndsTheJob) {
  auto log = std::make_shared<FakeLog>();
  log->progress = Progress::pending;
  log->busy = true;
  auto comm = make_comm(log);
  Tensor t = Tensor::zeros({4});
  expect_error([&] { comm->all_reduce(t); },
               "NCCL all_reduce sum of f32[4] on cpu on rank 0 of 1 did not complete within 0.05 s");
  EXPECT_EQ(log->aborts, 1);
  // The trainer's handler for that error: the job ends with its message, NCCL is not aborted twice.
  try {
    comm->abort(2, "the step failed");
    ADD_FAILURE() << "abort returned";
  } catch (const JobAborted& a) {
    EXPECT_EQ(a.code, 2);
    EXPECT_EQ(a.message, "the step failed");
  }
  EXPECT_EQ(log->aborts, 1);
  // A later collective reports the first failure instead of using the freed communicator.
  expect_error([&] { comm->all_reduce(t); }, "aborted after an earlier failure (NCCL all_reduce sum of f32[4] on cpu");
  expect_error([&] { comm->barrier(); }, "aborted after an earlier failure");
  comm.reset();
  EXPECT_EQ(log->aborts, 1);
  EXPECT_EQ(log->calls.back(), "close");
  EXPECT_TRUE(log->misuse.empty()) << joined(log->misuse);
}

TEST(NcclCommunicatorFailures, AsyncErrorAbortsOnceAndFailsTheOtherWorksInFlight) {
  auto log = std::make_shared<FakeLog>();
  log->progress = Progress::failed;
  log->async_error = "remote process exited or there was a network error";
  auto comm = make_comm(log);
  Tensor a = Tensor::zeros({4}), b = Tensor::zeros({2, 3}, DType::bf16);
  auto first = comm->all_reduce_async(a, ReduceOp::mean);
  auto second = comm->broadcast_async(b, 0);
  expect_error([&] { first->wait(); },
               "NCCL all_reduce mean of f32[4] on cpu on rank 0 of 1 failed: remote process exited");
  expect_error([&] { second->test(); }, "aborted after an earlier failure");
  expect_error([&] { second->wait(); }, "aborted after an earlier failure");
  EXPECT_EQ(log->aborts, 1);
  EXPECT_TRUE(log->misuse.empty()) << joined(log->misuse);
}

TEST(NcclCommunicatorFailures, TeardownAbortsBeforeWaitingForAStalledStream) {
  auto log = std::make_shared<FakeLog>();
  log->progress = Progress::pending;
  log->busy = true;  // a dead peer never joins the collective
  auto comm = make_comm(log, 300.0);
  auto dropped = comm->all_reduce_async(Tensor::zeros({4}), ReduceOp::sum);
  auto kept = comm->all_reduce_async(Tensor::zeros({4}), ReduceOp::sum);
  dropped.reset();  // unwinding from an error drops the work unfinished: later compute still waits for it
  EXPECT_TRUE(log->called_before("launch", "order"));
  comm.reset();  // must not wait 300 s, nor forever
  EXPECT_EQ(log->aborts, 1);
  EXPECT_TRUE(log->called_before("abort", "close"));
  // A work that outlives its communicator reports that, and touches nothing.
  expect_error([&] { kept->test(); }, "the communicator was destroyed");
  EXPECT_TRUE(log->misuse.empty()) << joined(log->misuse);
}

TEST(NcclCommunicatorFailures, CleanTeardownClosesWithoutAbort) {
  auto log = std::make_shared<FakeLog>();
  auto comm = make_comm(log);
  EXPECT_STREQ(comm->backend(), "nccl");
  EXPECT_EQ(comm->device(), Device::cpu());
  EXPECT_EQ(comm->size(), 1);
  comm->all_reduce(Tensor::zeros({4}));
  comm->barrier();
  comm.reset();
  EXPECT_EQ(log->aborts, 0);
  EXPECT_EQ(log->calls.front(), "init");
  EXPECT_EQ(log->calls.back(), "close");
  EXPECT_TRUE(log->misuse.empty()) << joined(log->misuse);
}
