// parallel_for over [0, n) in one contiguous chunk per OpenMP thread. The body receives
// (begin, end) and should copy the pointers it uses into locals first: data reached
// through captured references may alias the outputs, which blocks vectorization.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace linea::cpu {

template <class Body>
void parallel_for(int64_t n, int64_t grain, const Body& body) {
  if (n <= grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = (n + threads - 1) / threads;
    const int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

}  // namespace linea::cpu
