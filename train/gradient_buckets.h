// The fixed layout data-parallel training packs gradients into: trained parameters in
// buckets of about bucket_mb, each a flat f32 (or f64) buffer, and for ZeRO-1 which part of
// each bucket every rank owns. Every rank computes the same layout from the same inputs.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace linea {

struct BucketEntry {
  size_t param = 0;     // index into the trained parameters given to plan_buckets
  int64_t offset = 0;   // first element in the bucket
  int64_t numel = 0;
};

struct BucketLayout {
  DType dtype = DType::f32;  // f64 for f64 parameters, else f32
  std::vector<BucketEntry> entries;
  int64_t numel = 0;   // elements the entries fill
  int64_t padded = 0;  // numel rounded up to a multiple of the world size (ZeRO-1 shards)
};

// Parameters are taken last to first, the order in which backward usually finishes them,
// so the first buckets fill (and start communicating) early in backward. A bucket closes
// when the next parameter would take it past bucket_bytes or has another bucket dtype; a
// parameter larger than bucket_bytes gets a bucket to itself. `numel_dtypes` lists each
// trained parameter's element count and dtype.
// bucket_bytes counts elements of the bucket dtype.
std::vector<BucketLayout> plan_buckets(const std::vector<std::pair<int64_t, DType>>& numel_dtypes,
                                       double bucket_bytes, int world_size);

// A run of one parameter that rank `rank` owns under ZeRO-1: in each bucket rank r owns
// elements [r * padded / world, (r + 1) * padded / world), cut at parameter boundaries.
struct OwnedRun {
  size_t bucket = 0;
  int64_t shard_offset = 0;  // first element within this rank's shard of the bucket
  size_t param = 0;          // index into the trained parameters
  int64_t begin = 0;         // first element within the parameter
  int64_t length = 0;
};
std::vector<OwnedRun> owned_runs(const std::vector<BucketLayout>& buckets, int rank, int world_size);

}  // namespace linea
