#!/usr/bin/env bash
# Runs linea's GPU test suite (CPU-vs-CUDA parity, ctest label "gpu") in one command.
#
#   scripts/test_gpu.sh            build with CUDA here (needs Eigen + GoogleTest) and run
#   scripts/test_gpu.sh pack DIR   build here and copy the test binaries plus the shared
#                                  libraries they need (not libc, not cuBLAS) into DIR
#   scripts/test_gpu.sh run DIR    on a GPU machine without apt: run a packed DIR, finding
#                                  cuBLASLt in the CUDA toolkit or Python's nvidia packages
#
# The run cannot pass by skipping: it prints the CUDA runtime and driver versions first and
# stops when no GPU is usable (saying why: no driver, driver too old, no device), and it
# sets LINEA_REQUIRE_GPU=1, under which a GPU test that cannot run fails. The suite runs
# twice: first with LINEA_CUDA_DEBUG=1 (kernels launch blocking, a check after every kernel,
# so a fault names its kernel), then as training runs it (asynchronous launches).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-build}"
dir="${2:-$root/gpu_bundle}"
export LINEA_REQUIRE_GPU=1

# Prints `linea version` (CUDA runtime, driver, GPUs) and stops unless a GPU is usable.
require_gpu() {
  local line
  line="$("$1" version)"
  echo "$line"
  if [[ "$line" == *" 0 GPU(s) visible"* ]]; then
    echo "error: no usable GPU, so the GPU suite cannot run (see the reason above)" >&2
    exit 1
  fi
}

# Runs ctest's GPU label (in the current build directory) in debug mode, then normally;
# fails when a test failed or was skipped in either pass.
run_ctest_passes() {
  local pass log status=0
  log="$(mktemp)"
  for pass in debug normal; do
    echo "== ctest -L gpu ($pass pass)"
    if [[ $pass == debug ]]; then
      LINEA_CUDA_DEBUG=1 ctest --output-on-failure -L gpu | tee "$log" || status=1
    else
      ctest --output-on-failure -L gpu | tee "$log" || status=1
    fi
    if grep -q "(Skipped)" "$log"; then
      echo "error: GPU tests were skipped in the $pass pass (listed above); a GPU run must run them all" >&2
      status=1
    fi
  done
  rm -f "$log"
  return $status
}

build_cuda() {
  cmake -S "$root" -B "$root/build-gpu" -DCMAKE_BUILD_TYPE=Release -DLINEA_CUDA=ON -DLINEA_NATIVE=OFF \
        -DCMAKE_CUDA_ARCHITECTURES="80;90" >/dev/null
  cmake --build "$root/build-gpu" --parallel "$(nproc)"
}

cublas_dirs() {
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [[ -e "$d/libcublasLt.so.13" ]] && echo "$d"
  done
  python3 - <<'PY' 2>/dev/null || true
import glob, os, site, sys
paths = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for p in paths:
    # cuBLASLt, and NCCL for the NCCL communicator tests (linea loads it at run time).
    for name in ("libcublasLt.so*", "libnccl.so*"):
        for lib in glob.glob(os.path.join(p, "nvidia", "*", "lib", name)):
            print(os.path.dirname(lib))
PY
}

run_bundle() {
  local bundle="$1"
  local libpath="$bundle/lib"
  for d in $(cublas_dirs); do libpath="$libpath:$d"; done
  export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi -L || true
  require_gpu "$bundle/linea"
  local status=0 t
  echo "== linea_cuda_tests (debug pass: LINEA_CUDA_DEBUG=1)"
  LINEA_CUDA_DEBUG=1 "$bundle/linea_cuda_tests" --gtest_brief=1 || status=1
  for t in linea_cuda_tests linea_core_tests linea_autograd_tests; do
    echo "== $t"
    "$bundle/$t" --gtest_brief=1 || status=1
  done
  return $status
}

case "$mode" in
  build)
    build_cuda
    require_gpu "$root/build-gpu/train/linea"
    cd "$root/build-gpu"
    run_ctest_passes
    ;;
  pack)
    build_cuda
    rm -rf "$dir" && mkdir -p "$dir/lib"
    cp "$root/build-gpu/train/linea" "$root"/build-gpu/tests/linea_*_tests "$dir/"
    # Bring the C++ and OpenMP runtimes; the GPU machine supplies libc, the driver and cuBLAS.
    for lib in $(ldd "$dir"/linea_*_tests "$dir/linea" | awk '/=>/ {print $3}' | sort -u); do
      case "$(basename "$lib")" in
        libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcublas*|libcuda.so*) ;;
        *) cp -L "$lib" "$dir/lib/" ;;
      esac
    done
    cp "$0" "$dir/test_gpu.sh"
    du -sh "$dir"
    ;;
  run)
    run_bundle "$dir"
    ;;
  *)
    echo "usage: scripts/test_gpu.sh [build | pack DIR | run DIR]" >&2
    exit 2
    ;;
esac
