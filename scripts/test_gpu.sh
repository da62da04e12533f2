#!/usr/bin/env bash
# Runs linea's GPU test suite (CPU-vs-CUDA parity, ctest label "gpu") in one command.
#
#   scripts/test_gpu.sh            build with CUDA here (needs Eigen + GoogleTest) and run
#   scripts/test_gpu.sh pack DIR   build here and copy the test binaries plus the shared
#                                  libraries they need (not libc, not cuBLAS) into DIR
#   scripts/test_gpu.sh run DIR    on a GPU machine without apt: run a packed DIR, finding
#                                  cuBLASLt in the CUDA toolkit or Python's nvidia packages
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-build}"
dir="${2:-$root/gpu_bundle}"

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
  "$bundle/linea" version
  local status=0
  for t in linea_cuda_tests linea_core_tests linea_autograd_tests; do
    echo "== $t"
    "$bundle/$t" --gtest_brief=1 || status=1
  done
  return $status
}

case "$mode" in
  build)
    build_cuda
    cd "$root/build-gpu"
    ctest --output-on-failure -L gpu
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
