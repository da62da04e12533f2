// The communicator the dist tests share: all ranks of the job when run under mpirun, or a
// world of one. It is MPI-backed whenever linea has MPI (a singleton MPI world when run
// alone), so the MPI backend is exercised by plain ctest runs too.
#pragma once
#include "core/dist/communicator.h"

namespace linea::testing {

// Created on first use; lives until the process exits.
Communicator& world();

// Skips the current test when the job has fewer than `n` ranks.
#define LINEA_REQUIRE_RANKS(n)                                                                   \
  do {                                                                                           \
    if (::linea::testing::world().size() < (n))                                                  \
      GTEST_SKIP() << "needs " << (n) << " ranks (run under mpirun -np " << (n) << ")";          \
  } while (0)

}  // namespace linea::testing
