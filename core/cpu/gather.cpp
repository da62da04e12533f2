// CPU gather and scatter_add over an IndexPlan. Rows are taken in blocks (parallel over
// blocks, the dim loop outside the row loop), so scatter_add is deterministic: each
// accumulator element is only ever touched by the thread owning its row, in index order.
#include <algorithm>

#include "core/kernels/gather.h"

namespace linea::cpu {
namespace {
constexpr int64_t kRowBlock = 64;
constexpr int64_t kParallelGrain = 1 << 14;

// Calls visit(j, o) for every (row, j): o holds the row's offsets into index, follow, indexed.
template <class Visit>
void for_each_indexed(const IndexPlan& p, Visit visit) {
  const int64_t blocks = (p.row_count + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (p.row_count * p.count > kParallelGrain)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * kRowBlock, nr = std::min(kRowBlock, p.row_count - r0);
    int64_t off[kRowBlock][3];
    for (int64_t r = 0; r < nr; ++r) p.rows.offsets(r0 + r, off[r]);
    for (int64_t j = 0; j < p.count; ++j)
      for (int64_t r = 0; r < nr; ++r) visit(j, off[r]);
  }
}

void record(IndexFault& fault, int64_t value) {
#pragma omp critical(linea_index_fault)
  if (!fault.found) {
    fault.found = true;
    fault.value = value;
  }
}
}  // namespace

void gather(const Tensor& index, const Tensor& out, const Tensor& x, const IndexPlan& p, IndexFault& fault) {
  dispatch_index(index.dtype(), "gather", [&](auto itag) {
    using I = typename decltype(itag)::type;
    dispatch_floating(x.dtype(), "gather", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const I* ip = static_cast<const I*>(index.data_ptr());
      const T* xp = static_cast<const T*>(x.data_ptr());
      T* op = static_cast<T*>(out.data_ptr());
      for_each_indexed(p, [&](int64_t j, const int64_t* o) {
        const int64_t v = int64_t(ip[o[0] + j * p.step[0]]);
        if (v < 0 || v >= p.indexed_size) return record(fault, v);
        op[o[1] + j * p.step[1]] = xp[o[2] + v * p.indexed_stride];
      });
    });
  });
}

void scatter_add(const Tensor& index, const Tensor& src, const Tensor& acc, const IndexPlan& p, IndexFault& fault) {
  dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
    using I = typename decltype(itag)::type;
    dispatch_floating(src.dtype(), "scatter_add", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using A = acc_t<T>;
      const I* ip = static_cast<const I*>(index.data_ptr());
      const T* sp = static_cast<const T*>(src.data_ptr());
      A* ap = static_cast<A*>(acc.data_ptr());
      for_each_indexed(p, [&](int64_t j, const int64_t* o) {
        const int64_t v = int64_t(ip[o[0] + j * p.step[0]]);
        if (v < 0 || v >= p.indexed_size) return record(fault, v);
        ap[o[2] + v * p.indexed_stride] += load_as<A, T>(sp[o[1] + j * p.step[1]]);
      });
    });
  });
}

}  // namespace linea::cpu
