#!/usr/bin/env bash
# V-HMN Studio set-up on Debian 12: install what is missing, build, then run the app or the tests.
#   scripts/dev.sh run     install + build + launch vhmn-studio
#   scripts/dev.sh test    install + build + run the whole test suite (ctest)
#   scripts/dev.sh build   install + build only
# Idempotent: packages already installed are not touched; the build is incremental (ccache).
# Environment: BUILD_DIR (default build), JOBS (default: cores), VHMN_DATA (dataset for `run`).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp
  qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libopencv-dev libhdf5-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "== all packages present"
  fi
}

build() {
  local dir=${BUILD_DIR:-build}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$dir" -j "${JOBS:-$(nproc)}"
}

cmd=${1:-}
case "$cmd" in
  run)
    install_missing
    build
    shift
    exec "${BUILD_DIR:-build}/app/vhmn-studio" "$@"
    ;;
  test)
    install_missing
    build
    cd "${BUILD_DIR:-build}"
    ctest --output-on-failure -j 1
    ;;
  build)
    install_missing
    build
    ;;
  *)
    echo "usage: scripts/dev.sh run|test|build" >&2
    exit 2
    ;;
esac
