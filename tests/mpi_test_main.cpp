// GoogleTest entry point for suites that run as one process or as several MPI ranks: every
// rank runs every test; rank 0 prints as usual, the other ranks print only failures (with
// their rank), and a failure on any rank fails the job through its exit code.
#include <gtest/gtest.h>

#include <cstdio>

#include "support/world.h"

namespace linea::testing {

Communicator& world() {
  // Tests compare against expected values within 60 s: a hang is a bug to report, not wait out.
  static std::unique_ptr<Communicator> comm = [] {
    CommOptions options;
    options.timeout_s = 60.0;
#ifdef LINEA_WITH_MPI
    return make_communicator(CommBackend::mpi, Device::cpu(), options);
#else
    return make_communicator(CommBackend::automatic, Device::cpu(), options);
#endif
  }();
  return *comm;
}

}  // namespace linea::testing

namespace {

// Prints failed assertions of a rank other than 0, tagged with the rank.
class RankFailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // One process (test discovery, ctest's per-test runs) starts MPI only if a test needs it.
  const int rank = linea::launcher_world_size() > 1 ? linea::testing::world().rank() : 0;
  if (rank != 0) {
    testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  return RUN_ALL_TESTS();
}
