#!/usr/bin/env bash
# Installs the Debian packages linea's build and tests need (only the missing ones),
# then configures and builds in build/ (ccache-backed, so a fresh clone rebuilds fast).
# Usage: scripts/setup.sh [extra cmake args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(build-essential cmake ccache pkg-config
          libeigen3-dev libgtest-dev libgmock-dev libbenchmark-dev
          libopenmpi-dev openmpi-bin libyaml-cpp-dev libhdf5-dev libsentencepiece-dev sentencepiece
          libcli11-dev nlohmann-json3-dev zlib1g-dev libpcre2-dev libicu-dev bible-kjv gnuplot-nox
          python3-torch python3-h5py python3-yaml libopenblas0-pthread)  # python: PyTorch parity tests and benchmarks only
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ccache keyed on paths relative to the source root, so CI's clone in another folder hits
# the cache that a developer's build filled.
export CCACHE_BASEDIR="$root"
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

# GPT-2's vocabulary for the byte-level BPE golden tests (they skip without it).
scripts/tokenizer_fixtures.sh || echo "setup: no GPT-2 vocabulary; BPE golden tests will skip"
scripts/tokenizer_fixtures_bert.sh || echo "setup: no bert-base-uncased vocabulary; WordPiece golden tests will skip"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build --parallel "$(nproc)"
