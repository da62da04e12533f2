#include "train/gradient_buckets.h"

#include <algorithm>

namespace linea {

std::vector<BucketLayout> plan_buckets(const std::vector<std::pair<int64_t, DType>>& numel_dtypes,
                                       double bucket_bytes, int world_size) {
  LINEA_CHECK_T(Error, bucket_bytes > 0, "gradient buckets: size ", bucket_bytes,
                " bytes is not positive, expected dist.bucket_mb > 0");
  LINEA_CHECK_T(Error, world_size >= 1, "gradient buckets: world size ", world_size, " is not positive");
  std::vector<BucketLayout> buckets;
  for (size_t k = numel_dtypes.size(); k-- > 0;) {
    const auto [numel, dtype] = numel_dtypes[k];
    const DType bucket_dtype = dtype == DType::f64 ? DType::f64 : DType::f32;
    const double bytes = double(numel) * double(dtype_size(bucket_dtype));
    const bool fits = !buckets.empty() && buckets.back().dtype == bucket_dtype &&
                      double(buckets.back().numel) * double(dtype_size(bucket_dtype)) + bytes <= bucket_bytes;
    if (!fits) {
      buckets.emplace_back();
      buckets.back().dtype = bucket_dtype;
    }
    BucketLayout& b = buckets.back();
    b.entries.push_back({k, b.numel, numel});
    b.numel += numel;
  }
  for (BucketLayout& b : buckets) b.padded = (b.numel + world_size - 1) / world_size * world_size;
  return buckets;
}

std::vector<OwnedRun> owned_runs(const std::vector<BucketLayout>& buckets, int rank, int world_size) {
  LINEA_CHECK_T(Error, rank >= 0 && rank < world_size, "gradient buckets: rank ", rank, " is outside [0, ",
                world_size, ")");
  std::vector<OwnedRun> runs;
  for (size_t b = 0; b < buckets.size(); ++b) {
    const BucketLayout& bucket = buckets[b];
    const int64_t shard = bucket.padded / world_size;
    const int64_t lo = shard * rank, hi = lo + shard;
    for (const BucketEntry& e : bucket.entries) {
      const int64_t from = std::max(lo, e.offset), to = std::min(hi, e.offset + e.numel);
      if (from < to) runs.push_back({b, from - lo, e.param, from - e.offset, to - from});
    }
  }
  return runs;
}

}  // namespace linea
