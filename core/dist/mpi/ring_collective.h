// Ring reduce-scatter and all-gather over MPI point-to-point messages, the bandwidth-
// optimal schedule NCCL also uses: each rank sends and receives (W-1)/W of the data per
// phase. An all-reduce is both phases in a row. The work advances one ring step per
// completed exchange inside test(), so whoever polls it (a wait loop, the gradient hooks)
// drives it, and waiting can time out. Open MPI's non-blocking all-reduce for fewer than 4
// ranks or in place is a reduce followed by a broadcast, half this speed.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/dist/communicator.h"
#include "core/dist/mpi/mpi_runtime.h"

namespace linea::dist {

struct RingCollective {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  int tag = 0;  // distinct among collectives in flight at once
  DType dtype = DType::f32;
  ReduceOp op = ReduceOp::sum;  // mean: the owned chunk is divided by size after reducing
  std::vector<int64_t> offsets;  // size + 1 element offsets: chunk k is [offsets[k], offsets[k + 1])
  bool reduce_scatter = false;   // phase 1: every chunk reduced over ranks, chunk `rank` into `owned`
  bool all_gather = false;       // phase 2: chunk k of `gathered` sent from rank k to everyone
  const void* input = nullptr;   // phase 1's contributions, chunked by offsets (never written)
  void* owned = nullptr;         // phase 1's result for chunk `rank` (may lie inside input)
  void* gathered = nullptr;      // phase 2's buffer, chunked by offsets; chunk `rank` filled beforehand
};

// Starts the collective; `keep_alive` (input, then output if separate) is held until it
// completes. A timeout error names `label` ("all_reduce"), the op and those tensors.
std::unique_ptr<CommWork> start_ring(const RingCollective& ring, const char* label, double timeout_s,
                                     std::vector<Tensor> keep_alive);

// dst[i] = a[i] op b[i] for n elements of dtype (half types accumulate in float); dst may
// alias a or b. mean combines as sum.
void combine(DType dtype, ReduceOp op, void* dst, const void* a, const void* b, int64_t n);

}  // namespace linea::dist
