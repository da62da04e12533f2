#!/usr/bin/env bash
# Sets up (installs, configures, builds) and runs every test with ctest.
# GPU parity tests report as skipped where no GPU is present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure --parallel "$(nproc)"
