// The CUDA probe's wording for every outcome, built from the runtime's raw answers as
// core/cuda/runtime.cu gets them (a seam: no GPU or driver needed), and the GPU-test
// requirement: a GPU test that cannot run skips, or fails where a GPU is required.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "core/cuda_probe.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// cudaError_t values: cudaErrorInsufficientDriver, cudaErrorNoDevice, cudaErrorUnknown.
constexpr int kInsufficientDriver = 35, kNoDevice = 100, kUnknown = 999;

CudaProbe probe(int status, int devices, int driver, int runtime = 13000) {
  CudaProbe p;
  p.built = true;
  p.status = status;
  p.devices = devices;
  p.driver_version = driver;
  p.runtime_version = runtime;
  if (status != 0) p.status_text = "cudaErrorUnknown (unknown error)";
  return p;
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "missing \"" << part << "\" in: " << text;
}

}  // namespace

TEST(CudaProbe, DriverTooOldAndNoDeviceReadDifferently) {
  const CudaProbe old_driver = probe(kInsufficientDriver, 0, 12040);
  EXPECT_EQ(cuda_problem(old_driver), CudaProblem::driver_too_old);
  const std::string old_text = cuda_probe_summary(old_driver);
  expect_contains(old_text, "CUDA runtime 13.0, driver 12.4, 0 GPU(s) visible: ");
  expect_contains(old_text, "the NVIDIA driver supports CUDA up to 12.4, older than the CUDA 13.0 runtime");

  for (const CudaProbe& none : {probe(kNoDevice, 0, 13000), probe(0, 0, 13000)}) {
    EXPECT_EQ(cuda_problem(none), CudaProblem::no_device);
    const std::string text = cuda_probe_summary(none);
    expect_contains(text, "CUDA runtime 13.0, driver 13.0, 0 GPU(s) visible: the driver found no CUDA GPU");
    EXPECT_EQ(text.find("older"), std::string::npos) << text;
  }
}

TEST(CudaProbe, NoDriverOtherErrorsWorkingAndNotBuilt) {
  const CudaProbe no_driver = probe(kInsufficientDriver, 0, 0, 13010);
  EXPECT_EQ(cuda_problem(no_driver), CudaProblem::no_driver);
  expect_contains(cuda_probe_summary(no_driver),
                  "CUDA runtime 13.1, no driver, 0 GPU(s) visible: no NVIDIA driver is installed");

  const CudaProbe broken = probe(kUnknown, 0, 13000);
  EXPECT_EQ(cuda_problem(broken), CudaProblem::other);
  expect_contains(cuda_probe_summary(broken), "cudaGetDeviceCount failed: cudaErrorUnknown (unknown error)");

  const CudaProbe two = probe(0, 2, 13000);
  EXPECT_EQ(cuda_problem(two), CudaProblem::none);
  EXPECT_EQ(cuda_probe_summary(two), "CUDA runtime 13.0, driver 13.0, 2 GPU(s) visible");

  EXPECT_EQ(cuda_problem(CudaProbe{}), CudaProblem::not_built);
  EXPECT_EQ(cuda_probe_summary(CudaProbe{}), "CUDA not built, 0 GPU(s) visible");
}

TEST(CudaProbe, ThisProcessAgreesWithTheDeviceCount) {
  EXPECT_EQ(cuda_probe().devices, cuda_device_count());
  EXPECT_EQ(cuda_probe().built, cuda_built());
  EXPECT_EQ(cuda_problem(cuda_probe()) == CudaProblem::none, cuda_available());
}

TEST(GpuRequirement, AGpuTestThatCannotRunSkipsUnlessAGpuIsRequired) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    gpu_unavailable("CUDA runtime 13.0, driver 12.4, 0 GPU(s) visible: too old", false);
    gpu_unavailable("CUDA runtime 13.0, driver 12.4, 0 GPU(s) visible: too old", true);
  }
  ASSERT_EQ(results.size(), 2);
  EXPECT_TRUE(results.GetTestPartResult(0).skipped());
  expect_contains(results.GetTestPartResult(0).message(), "driver 12.4");
  EXPECT_TRUE(results.GetTestPartResult(1).fatally_failed());
  expect_contains(results.GetTestPartResult(1).message(),
                  "a GPU is required (LINEA_REQUIRE_GPU=1) but this test cannot run: CUDA runtime 13.0, driver 12.4");
}
