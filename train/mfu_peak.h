// The denominator of MFU (model FLOPs utilization): the fastest dense GEMM rate this machine
// has shown for the device, dtype and thread count. A single timing at start-up comes out
// low when another process holds the cores for a few seconds, which once printed MFU of
// 137-180% for a whole run; a best-ever figure cannot be lowered by contention.
//
// Where it comes from, first match wins:
//   1. LINEA_PEAK_TFLOPS (environment): a nominal peak the user sets, used as given;
//   2. the best of a fresh measurement (best of three trials of gemm_timing.h's square GEMM,
//      one when a cached figure exists) and the cached best-ever figure in $LINEA_CACHE_DIR (default ~/.cache/linea)/
//      gemm_peak.json, keyed by host, CPU model, device, dtype and threads.
// A training step that runs faster than the peak proves the peak too low: raise() lifts
// it (and the cache) to the achieved rate, so MFU never shows more than 100% because of a
// bad measurement.
#pragma once
#include <string>

#include "core/device.h"
#include "core/dtype.h"

namespace linea {

class MfuPeak {
 public:
  MfuPeak(Device device, DType dtype);
  double flops() const { return flops_; }
  // "measured", "cached best" or "LINEA_PEAK_TFLOPS", for the start-up header.
  const std::string& source() const { return source_; }
  // Model FLOPs/s achieved by a training window: lifts the peak when it is higher (not
  // for a nominal peak, which the user owns). Returns true when it did.
  bool raise(double achieved_flops);

 private:
  void store() const;

  std::string key_;
  double flops_ = 0;
  std::string source_;
};

}  // namespace linea
