#!/usr/bin/env bash
# V-HMN Studio set-up on Debian 12: install what is missing, build, then run the app or the tests.
#   scripts/dev.sh run     install + build + launch vhmn-studio
#   scripts/dev.sh test    install + build + run the whole test suite (ctest)
#   scripts/dev.sh build   install + build only
#   scripts/dev.sh build-device  the headless binaries scripts/device-check.sh carries to a GPU server
#   scripts/dev.sh test-stress   the whole suite with ctest -j2 while CPU-bound work (two `vhmn bench`
#                          loops) runs beside it, as on a busy machine; reports the slowest suites
#   scripts/dev.sh test-torch2   install PyTorch's CUDA libtorch 2.x (pinned below) into .torch2/,
#                          build the whole product (vhmn-studio, the vhmn CLI, every suite) against it
#                          with Debian's Qt, OpenCV and HDF5 in build-torch2/ and run every suite (GUI
#                          suites offscreen, the CUDA suite skips without a GPU), the check that
#                          a run written by this build opens, evaluates and resumes in the 1.13 build,
#                          and scripts/device-check.sh's dry run (VHMN_CHECK_DEVICE=cpu) on this build
#   scripts/dev.sh run-torch2    the same build, then launch its vhmn-studio (trains on a GPU when the
#                          machine has one and an NVIDIA driver)
# Idempotent: packages already installed are not touched; the build is incremental (ccache).
# Environment: BUILD_DIR (default build), JOBS (default: cores), TEST_JOBS (ctest -j, default 2),
# VHMN_DATA (dataset for `run`).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config help2man
  libtorch-dev libopenblas0-openmp
  qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libopencv-dev libhdf5-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev
  libgloo-dev python3-torch
)

# The one place the libtorch 2.x pin lives. torch 2.11.0's Linux wheel is built for CUDA 13.0, like
# /usr/local/cuda here and the GPU servers; its headers accept C++17 (torch >= 2.13 needs C++20).
TORCH2_VERSION=2.11.0
# The wheel's CUDA libraries come from the toolkit under /usr/local/cuda (same CUDA 13.0), except the
# three the toolkit lacks, which come from their own wheels at the versions torch's metadata pins.
TORCH2_EXTRA_WHEELS=(nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5 nvidia-cufile==1.15.1.6)
TORCH2_DIR=${TORCH2_DIR:-$PWD/.torch2}
# Wheels are kept on the machine, outside the checkout, so a second clone downloads nothing.
WHEEL_CACHE=${VHMN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vhmn/wheels}

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

# True when $1 (a wheel spec NAME==VERSION) already sits in the wheel cache.
wheel_cached() {
  local name=${1%%==*} version=${1##*==}
  compgen -G "$WHEEL_CACHE/${name//-/_}-${version}-*.whl" >/dev/null
}

install_torch2() {
  local stamp="$TORCH2_DIR/.vhmn-installed"
  local want="torch==$TORCH2_VERSION ${TORCH2_EXTRA_WHEELS[*]}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "== libtorch $TORCH2_VERSION present in $TORCH2_DIR"
    return
  fi
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || {
    echo "== installing python3-pip (to fetch PyTorch's wheel)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip
  }
  mkdir -p "$WHEEL_CACHE"
  local spec missing=()
  for spec in "torch==$TORCH2_VERSION" "${TORCH2_EXTRA_WHEELS[@]}"; do
    wheel_cached "$spec" || missing+=("$spec")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== downloading into $WHEEL_CACHE: ${missing[*]}"
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$WHEEL_CACHE" "${missing[@]}"
  fi
  echo "== unpacking libtorch $TORCH2_VERSION into $TORCH2_DIR (from $WHEEL_CACHE, no download)"
  local tmp="$TORCH2_DIR.tmp-$$"
  rm -rf "$tmp"
  # --target: nothing outside the folder is touched; --no-deps: the C++ build needs none of the
  # Python packages, and the CUDA libraries come from the toolkit (see TORCH2_EXTRA_WHEELS).
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --root-user-action=ignore --no-index --find-links "$WHEEL_CACHE" \
    --no-deps --no-compile --target "$tmp" "torch==$TORCH2_VERSION" "${TORCH2_EXTRA_WHEELS[@]}"
  echo "$want" >"$tmp/.vhmn-installed"
  rm -rf "$TORCH2_DIR"
  mv "$tmp" "$TORCH2_DIR"
}

build_torch2() {
  local dir=${BUILD_DIR_TORCH2:-build-torch2}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHMN_HEADLESS=OFF \
    -DCMAKE_PREFIX_PATH="$TORCH2_DIR/torch" \
    -DCUDAToolkit_ROOT=/usr/local/cuda -DTORCH_CUDA_ARCH_LIST=9.0
  cmake --build "$dir" -j "${JOBS:-$(nproc)}"
}

# Headless binaries for a GPU server (scripts/device-check.sh --prepare): the same torch as
# build-torch2, no OpenCV (its runtime is not there) and no Qt; HDF5 as usual.
build_device() {
  cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHMN_HEADLESS=ON \
    -DCMAKE_PREFIX_PATH="$TORCH2_DIR/torch" -DCUDAToolkit_ROOT=/usr/local/cuda -DTORCH_CUDA_ARCH_LIST=9.0 \
    -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON
  cmake --build build-device -j "${JOBS:-$(nproc)}" --target vhmn vhmn_cuda_tests
}

build() {
  local dir=${BUILD_DIR:-build}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$dir" -j "${JOBS:-$(nproc)}"
}

# Two CPU-bound `vhmn bench` loops beside the whole suite at ctest -j2 (issue 29): the suites' own
# timeouts (tests/CMakeLists.txt) must hold on a busy machine. Prints the slowest suites.
test_stress() {
  local dir=${BUILD_DIR:-build} log loads=() rc=0 t0
  log=$(mktemp)
  for i in 1 2; do  # each loop in a process group of its own, so one kill stops it and its bench
    setsid bash -c "while :; do '$dir/app/vhmn' bench --preset cpu-tiny --batch 64 --steps 40 --threads 1 >/dev/null 2>&1 || sleep 1; done" &
    loads+=($!)
  done
  # shellcheck disable=SC2064
  trap "kill -- -${loads[0]} -${loads[1]} 2>/dev/null; rm -f '$log'" EXIT
  echo "== ctest -j2 beside two vhmn bench loops (pids ${loads[*]})"
  t0=$(date +%s)
  (cd "$dir" && ctest --output-on-failure -j 2) 2>&1 | tee "$log" || rc=$?
  echo "== test-stress: $(( $(date +%s) - t0 )) s wall under load; slowest suites:"
  grep -E 'Test +#[0-9]+: ' "$log" | sed -E 's/.*Test +#[0-9]+: ([A-Za-z0-9_]+) [ .]*(\*\*\*)?(.*[^ ]) +([0-9.]+) sec.*/\4 \1 \3/' |
    sort -rn | head -8 | awk '{printf "   %8.1f s  %s (%s)\n", $1, $2, substr($0, index($0, $3))}'
  grep -q "100% tests passed" "$log" || rc=1
  return $rc
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
    ctest --output-on-failure -j "${TEST_JOBS:-2}"
    ;;
  build)
    install_missing
    build
    ;;
  test-stress)
    install_missing
    build
    test_stress
    ;;
  build-torch2)
    install_missing
    install_torch2
    build_torch2
    ;;
  build-device)
    install_missing
    install_torch2
    build_device
    ;;
  run-torch2)
    install_missing
    install_torch2
    build_torch2
    shift
    exec "${BUILD_DIR_TORCH2:-build-torch2}/app/vhmn-studio" "$@"
    ;;
  test-torch2)
    install_missing
    install_torch2
    build_torch2
    (cd "${BUILD_DIR_TORCH2:-build-torch2}" && ctest --output-on-failure -j "${TEST_JOBS:-2}")
    # A run written by this build must open, evaluate and resume in the 1.13 build.
    scripts/cross-version-check.sh "${BUILD_DIR_TORCH2:-build-torch2}/app/vhmn" "${BUILD_DIR:-build}/app/vhmn"
    # The GPU check's dry run on this build (no GPU: tiny sizes, the suite's self-check), so its
    # plumbing is tested every time; torchrun from the wheel's own Python package.
    dry=$(mktemp -d)
    VHMN_CHECK_DEVICE=cpu VHMN_CHECK_BIN="${BUILD_DIR_TORCH2:-build-torch2}" PYTHONPATH="$TORCH2_DIR" \
      scripts/device-check.sh "$dry" >"$dry.log" 2>&1 || { tail -40 "$dry.log"; echo "device-check dry run failed ($dry.log)" >&2; exit 1; }
    echo "== device-check dry run: $(tail -1 "$dry/figures.txt")"
    rm -rf "$dry" "$dry.log"
    ;;
  *)
    echo "usage: scripts/dev.sh run|test|test-stress|build|build-torch2|test-torch2|run-torch2|build-device" >&2
    exit 2
    ;;
esac
