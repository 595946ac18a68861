#!/usr/bin/env bash
# One prepared GPU check, for a GPU server without network access (an H200 with PyTorch 2.x +
# CUDA 13, CMake and Ninja, but no Qt, OpenCV or HDF5 dev files).
#
#   scripts/device-check.sh --prepare      here: build the headless binaries against the same torch
#                                          (scripts/dev.sh build-device), and gather into .device/
#                                          (git-ignored, carried): the binaries, Debian's HDF5 runtime
#                                          packages, the JSON/CLI11/zlib headers for a fallback build,
#                                          and a CIFAR-10 slice in the binary layout
#   scripts/device-check.sh OUT            there (e.g. device run with carry [".device"]), most
#                                          valuable first: machine facts; the CUDA suite's in-process
#                                          cases; bench paper-small batch 256 with the paper's
#                                          augmentation; a short paper-small CIFAR-10 training on the
#                                          slice (epoch time extrapolated to 50,000 images); bench
#                                          batch 512; the suite's CLI case; a cpu-small run folder
#                                          (without checkpoint.pt) that the desktop app here opens;
#                                          torchrun last. It ends by printing figures.txt.
#   scripts/device-check.sh --build-there  there, only when the carried binaries do not run: build
#                                          them on that machine into .device/bin (not timed; run
#                                          the check after it).
#
# Everything it prints goes to OUT/device-check.log; the figures to OUT/figures.txt; the run folder
# to OUT/run-cpu-small. One deadline for the whole check: it ends within 8 minutes however the steps
# go (each step's timeout is cut to what is left; a step with no time left is skipped and said so).
# A failed step is reported and the next one still runs.
#
# Dry run without a GPU (CI, on the libtorch 2.x build): VHMN_CHECK_DEVICE=cpu
# VHMN_CHECK_BIN=build-torch2 VHMN_CHECK_PYTHON=/usr/bin/python3 scripts/device-check.sh OUT — tiny
# sizes, the builtin dataset, the suite's self-check: it tests the plumbing, not the GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
DEV=.device

# --------------------------------------------------------------------------------------------
prepare() {
  set -e
  local slice_train=${SLICE_TRAIN:-10000} slice_test=${SLICE_TEST:-1000}
  scripts/dev.sh build-device
  rm -rf "$DEV" && mkdir -p "$DEV"/{bin,debs,include,data}
  grep -qxF "/$DEV/" .git/info/exclude 2>/dev/null || grep -qxF "/$DEV/" .gitignore || echo "/$DEV/" >>.git/info/exclude
  for b in app/vhmn tests/cuda/vhmn_cuda_tests; do
    cp "build-device/$b" "$DEV/bin/" && strip "$DEV/bin/$(basename "$b")"
  done
  # Debian's HDF5 runtime and what it needs, for the run.h5 record (unpacked there with dpkg -x;
  # only libraries the server lacks are used). libc, libstdc++ and zlib are everywhere.
  local pkgs
  pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
           --no-replaces --no-enhances libhdf5-cpp-103-1 | grep -v '^ ' | grep -v -E '^<|^(libc6|libgcc-s1|libstdc\+\+6|zlib1g|debconf.*|perl-base|dpkg|tar|gcc-12-base)$' | sort -u)
  (cd "$DEV/debs" && apt-get -o APT::Sandbox::User=root download $pkgs >/dev/null)
  # Headers a fallback build there needs (nlohmann-json, CLI11, zlib).
  mkdir -p "$DEV/include/nlohmann" && cp -r /usr/include/nlohmann/. "$DEV/include/nlohmann/"
  cp -r /usr/include/CLI "$DEV/include/"
  cp /usr/include/zlib.h /usr/include/zconf.h "$DEV/include/"
  # A CIFAR-10 slice in the official binary layout (the whole set does not fit in what is carried).
  local src=${VHMN_CIFAR10:-../shared/datasets/cifar10}
  if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
    echo "== installing python3-pil (to read the JPEG CIFAR-10)"
    $([ "$(id -u)" -eq 0 ] || echo sudo) apt-get install -y -qq --no-install-recommends python3-pil >/dev/null
  fi
  /usr/bin/python3 scripts/cifar10-to-binary.py "$src" "$DEV/data" --limit-train "$slice_train" --limit-test "$slice_test"
  check_carry_size
}

# What a device run carries: the tracked tree (and untracked files git does not ignore) plus .device/.
# Over 60 MiB (the limit is 64) fails, naming the parts to shrink.
check_carry_size() {
  local tree carried limit=$((60 * 1024 * 1024))
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
  carried=$(du -sb "$DEV" | cut -f1)
  echo "== carried: $((tree / 1024)) KiB tracked tree + $((carried / 1024)) KiB $DEV = $(((tree + carried) / 1024 / 1024)) MiB (limit 60 MiB of 64)"
  du -sb "$DEV"/* | sort -rn | awk '{printf "   %8d KiB  %s\n", $1 / 1024, $2}'
  if [ $((tree + carried)) -gt $limit ]; then
    echo "device-check --prepare: what is carried exceeds 60 MiB; shrink the largest part above" \
         "(the slice: SLICE_TRAIN/SLICE_TEST; the binaries: strip; the tree: large tracked files)" >&2
    return 1
  fi
}

# The fallback: build the binaries on the GPU machine (no HDF5 dev files there: no run.h5 record).
build_there() {
  set -e
  local torch_dir zlib build=/tmp/vhmn-build
  torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  zlib=$(ldconfig -p | awk '/libz\.so\.1 / {print $NF; exit}')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHMN_HEADLESS=ON \
      -DCMAKE_PREFIX_PATH="$torch_dir" -DTORCH_CUDA_ARCH_LIST=9.0 \
      -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON -DCMAKE_DISABLE_FIND_PACKAGE_HDF5=ON \
      -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON -DVHMN_EXTRA_INCLUDE="$PWD/$DEV/include" \
      -DZLIB_INCLUDE_DIR="$PWD/$DEV/include" -DZLIB_LIBRARY="$zlib" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target vhmn vhmn_cuda_tests | tail -3
  mkdir -p "$DEV/bin" && cp "$build/app/vhmn" "$build/tests/cuda/vhmn_cuda_tests" "$DEV/bin/"
  echo "== built into $DEV/bin; now run: scripts/device-check.sh OUT"
}

# --------------------------------------------------------------------------------------------
OUT=${1:?usage: scripts/device-check.sh OUT | --prepare | --build-there}
if [ "$OUT" = "--prepare" ]; then prepare; exit; fi
if [ "$OUT" = "--build-there" ]; then build_there; exit; fi
mkdir -p "$OUT"
DEVICE=${VHMN_CHECK_DEVICE:-cuda}
PY=${VHMN_CHECK_PYTHON:-python3}  # a Python with torch (the facts, torchrun)
BIN=${VHMN_CHECK_BIN:-$DEV/bin}
[ -d "$BIN/app" ] && BIN_VHMN=$BIN/app/vhmn SUITE=$BIN/tests/cuda/vhmn_cuda_tests || BIN_VHMN=$BIN/vhmn SUITE=$BIN/vhmn_cuda_tests
if [ "$DEVICE" = cuda ]; then
  PRESET=paper-small BATCH=256 BIG_BATCH=512 STEPS=20 EPOCHS=3 DATA=$DEV/data/cifar-10-batches-bin SMALL=cpu-small
  SUITE_DEVICE=()
else  # dry run: tiny sizes, the builtin dataset, the suite's self-check
  PRESET=cpu-tiny BATCH=32 BIG_BATCH=64 STEPS=2 EPOCHS=1 DATA=builtin-small SMALL=cpu-tiny
  SUITE_DEVICE=(--device cpu)
fi
DEADLINE_S=${VHMN_CHECK_DEADLINE_S:-470}  # the whole check, start-up to the figures: < 8 minutes
LOG="$OUT/device-check.log"
FIG="$OUT/figures.txt"
: >"$FIG"
WORK=$(mktemp -d /tmp/vhmn-check.XXXXXX)  # scratch of this check only (a second check starts clean)
exec > >(tee -a "$LOG") 2>&1
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
# budget N: N seconds, or what is left before the deadline (keeping 10 s to print the figures).
budget() { local left=$(( DEADLINE_S - $(elapsed) - 10 )); echo $(( left < $1 ? left : $1 )); }
# step SECONDS TITLE: starts a step, or returns 1 (skipped, said so) when under 5 s are left.
step() {
  local want=$1; shift
  STEP_S=$(budget "$want")
  echo; echo "== [$(elapsed) s] $* (timeout ${STEP_S} s)"
  if [ "$STEP_S" -lt 5 ]; then fig "skipped, no time left: $*"; return 1; fi
}
fig() { echo "$*" >>"$FIG"; echo "FIGURE $*"; }
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
finish() {
  fig "device check: $(elapsed) s, $failures failure(s)"
  echo; echo "== figures ($FIG)"; cat "$FIG"
  rm -rf "$WORK"
  exit $(( failures > 0 ))
}

# ---- machine facts: one Python start-up for everything asked of the device's torch ------------
step 30 "machine" && {
  grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release
  ldd --version | head -1
  [ "$DEVICE" = cuda ] && { nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || fail "nvidia-smi"; }
  echo "cores $(nproc), kernel $(uname -r)"
  eval "$(timeout -k 5 "$STEP_S" "$PY" - <<'PY' || echo 'fail "python3 torch"'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
libs = ":".join(sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib"))))
name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f'TORCH_VERSION="{torch.__version__}" TORCH_CUDA="{torch.version.cuda}" TORCH_ABI="{int(torch._C._GLIBCXX_USE_CXX11_ABI)}"')
print(f'TORCH_DIR="{os.path.dirname(torch.__file__)}" NV_LIBS="{libs}" GPU_NAME="{name}"')
PY
)"
  fig "machine: $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release), $(ldd --version | head -1 | awk '{print $NF}') glibc; torch ${TORCH_VERSION:-?} (CUDA ${TORCH_CUDA:-?}, CXX11 ABI ${TORCH_ABI:-?}); GPU ${GPU_NAME:-?}"
}
# The binaries were built against the same libtorch as the server's PyTorch: use its libraries
# (not in a dry run, whose binaries find their own libtorch).
if [ "$DEVICE" = cuda ] && [ -n "${TORCH_DIR:-}" ]; then
  export LD_LIBRARY_PATH="$TORCH_DIR/lib${NV_LIBS:+:$NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# Debian's HDF5, carried: always its own pair (libhdf5_serial + libhdf5_serial_cpp, never mixed
# with a different system HDF5), with the version check off; other missing libraries from the
# carried packages too.
LIBS=/tmp/vhmn-libs
carried_libs() {
  local unpacked=/tmp/vhmn-debs lib found missing round added
  mkdir -p "$LIBS" "$unpacked"
  for d in "$DEV"/debs/*.deb; do [ -e "$d" ] && dpkg -x "$d" "$unpacked"; done
  for lib in $(find "$unpacked" -name 'libhdf5_serial*.so.*' -printf '%f\n' | sort -u); do
    ln -sf "$(readlink -f "$(find "$unpacked" -name "$lib" -print -quit)")" "$LIBS/$lib"
  done
  export LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" HDF5_DISABLE_VERSION_CHECK=1
  for round in 1 2 3 4 5 6; do
    missing=$(for b in "$@"; do ldd "$b" 2>/dev/null; done | awk '/not found/ {print $1}' | sort -u)
    [ -z "$missing" ] && return 0
    added=0
    for lib in $missing; do
      found=$(find "$unpacked" -name "$lib" -print -quit)
      if [ -n "$found" ] && [ ! -e "$LIBS/$lib" ]; then ln -s "$(readlink -f "$found")" "$LIBS/$lib"; added=1; fi
    done
    [ $added -eq 0 ] && { echo "still missing: $missing"; return 1; }
  done
}
[ "$DEVICE" = cuda ] && { carried_libs "$BIN_VHMN" "$SUITE" || fail "libraries"; }
if ! "$BIN_VHMN" --version >/dev/null; then
  fail "the carried binaries do not run here"
  echo "run 'scripts/device-check.sh --build-there' first (a separate, untimed step), then this check again"
  finish
fi
fig "binaries: $("$BIN_VHMN" --version | head -1); $(ldd "$BIN_VHMN" | grep -c 'torch_cuda') torch_cuda link(s): $(ldd "$BIN_VHMN" | awk '/torch_cuda/ {print $3}')"

# ---- the suite's in-process cases (its CLI case comes later) ----------------------------------
IN_PROCESS=(forward_matches bank_writes_and_provenance_match step_one_gradients_match
            bf16_autocast_engages_and_agrees_with_fp32 augmentation_is_the_same_on_both
            epoch_of_1050_images_and_every_probe checkpoints_cross_devices training_step_makes_no_host_sync)
suite() {  # suite NAME... : runs those cases, figures from their result lines
  timeout -k 5 "$STEP_S" "$SUITE" "${SUITE_DEVICE[@]}" --cli "$BIN_VHMN" --out $WORK/suite "$@" | tee $WORK/suite.log
  local rc=${PIPESTATUS[0]}
  case $rc in
    0) fig "cuda suite ($*): $(tail -1 $WORK/suite.log)" ;;
    77) fig "cuda suite: SKIPPED, no CUDA device visible"; fail "no CUDA device" ;;
    124) fig "cuda suite: timed out after $STEP_S s"; fail "suite timeout" ;;
    *) fig "cuda suite: FAILED (exit $rc): $(grep '^FAIL' $WORK/suite.log | cut -c1-200 | tr '\n' ' ')"; fail "CUDA suite (exit $rc)" ;;
  esac
  grep -E 'max \||bf16 autocast on|pixels differ|trained on|host synchronisations' $WORK/suite.log | sed 's/^ */  suite: /' >>"$FIG"
}
step 150 "CUDA suite, in-process cases" && suite "${IN_PROCESS[@]}"

# ---- throughput ---------------------------------------------------------------------------------
bench() {  # bench BATCH
  if timeout -k 5 "$STEP_S" "$BIN_VHMN" bench --preset "$PRESET" --device "$DEVICE" --batch "$1" --steps "$STEPS" \
       --augment paper --json >$WORK/bench.json; then
    fig "bench $PRESET batch $1 (augment paper): $(python3 - "$WORK/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("train %.0f img/s (%.1f ms/step), inference %.0f img/s, MFU %.2f %% of %.3g TFLOP/s (%s), %s; ops/step: %s kernel calls, %s top-level, %s in all"
      % (j["train_img_per_s"], j["train_step_ms"], j["infer_img_per_s"], 100 * (j["mfu"] or 0), j["peak_tflops"],
         j.get("peak_flops_basis", "?"), j["precision"], j["ops_per_step"], j["ops_per_step_top_level"], j["ops_per_step_all"]))
PY
)"
  else
    fail "bench batch $1"
  fi
}
step 60 "bench $PRESET batch $BATCH" && bench "$BATCH"

# ---- a short training on the CIFAR-10 slice ------------------------------------------------------
step 120 "$PRESET on $DATA ($EPOCHS epochs)" && {
  rm -rf $WORK/run-train
  timeout -k 5 "$STEP_S" "$BIN_VHMN" train --data "$DATA" --preset "$PRESET" --epochs "$EPOCHS" --batch "$BATCH" --device "$DEVICE" \
      --out $WORK/run-train --log-every 5 | tr '\r' '\n' | tee $WORK/train.log || fail "$PRESET training"
  # Epoch time = training steps only; the last epoch (warm caches, full banks) extrapolated to
  # 50,000 images from the number of training images the trainer reports.
  SLICE=$(sed -n 's/^data: .*, \([0-9]*\) train \/.*/\1/p' $WORK/train.log | head -1)
  line=$(grep -E "^epoch $EPOCHS/$EPOCHS" $WORK/train.log | tail -1)
  train_s=$(echo "$line" | sed -n 's/.*(train \([0-9.]*\) s, eval \([0-9.]*\) s).*/\1/p')
  eval_s=$(echo "$line" | sed -n 's/.*(train \([0-9.]*\) s, eval \([0-9.]*\) s).*/\2/p')
  if [ -n "$train_s" ] && [ -n "$SLICE" ]; then
    fig "$PRESET train on $SLICE images: $train_s s/epoch (eval $eval_s s apart) = $(python3 -c "print(f'{$SLICE/$train_s:.0f} img/s; a 50,000-image epoch ~ {50000/($SLICE/$train_s):.2f} s; 400 epochs ~ {400*50000/($SLICE/$train_s)/60:.1f} min')")"
    fig "$PRESET after $EPOCHS epoch(s): $(echo "$line" | sed 's/.*| //')"
  else
    fail "no epoch line in the training log"
  fi
}

step 45 "bench $PRESET batch $BIG_BATCH" && bench "$BIG_BATCH"
step 60 "CUDA suite, CLI case" && suite cli_eval_and_probes_run_on_cuda

step 45 "a small run folder for the desktop app ($SMALL, no checkpoint.pt)" && {
  timeout -k 5 "$STEP_S" "$BIN_VHMN" train --data "$DATA" --preset "$SMALL" --epochs 2 --batch 128 --device "$DEVICE" \
      --out "$OUT/run-$SMALL" --log-every 20 | tr '\r' '\n' | grep -E '^(epoch|data|model)' || fail "$SMALL run"
  rm -f "$OUT/run-$SMALL/checkpoint.pt"
  ls -la "$OUT/run-$SMALL"
}

# ---- torchrun last: one rank per GPU (NCCL), or 2 Gloo ranks on the CPU --------------------------
# Underscore flags and a non-zero --redirects/--tee: what Debian's torchrun (1.13 on Python 3.11)
# also accepts (../shared/reference/torchrun-debian.md); newer torchruns take them too.
step 60 "data-parallel: torchrun" && {
  NGPU=$( [ "$DEVICE" = cuda ] && (nvidia-smi -L 2>/dev/null | wc -l) || echo 0)
  NPROC=$(( NGPU > 0 ? NGPU : 2 ))
  # A port free now (the kernel's pick), not a fixed one a parallel run may hold.
  PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  timeout -k 5 "$STEP_S" "$PY" -m torch.distributed.run --nproc_per_node "$NPROC" --master_port "$PORT" --redirects 2 --tee 2 --no_python \
      "$BIN_VHMN" train --data "$DATA" --preset "$PRESET" --epochs 1 --batch "$BATCH" --device "$DEVICE" --threads 4 \
      --out $WORK/run-dist --log-every 5 2>&1 | tr '\r' '\n' | tee $WORK/dist.log | grep -E '^(rank|epoch 1/1 done|  communication)' ||
    fail "torchrun launch"
  fig "torchrun x $NPROC on $DEVICE: $(grep -E '^epoch 1/1 step' $WORK/dist.log | tail -1 | sed 's/.* \([0-9]*\) img\/s.*/\1 img\/s/'); $(grep -E 'communication' $WORK/dist.log | tail -1 | sed 's/^ *//')"
}
finish
