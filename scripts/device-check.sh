#!/usr/bin/env bash
# One prepared GPU check, for a GPU server without network access (an H200 with PyTorch 2.x +
# CUDA 13, CMake and Ninja, but no Qt, OpenCV or HDF5 dev files).
#
#   scripts/device-check.sh --prepare      here: build the headless binaries against the same torch
#                                          (scripts/dev.sh build-device), and gather into .device/
#                                          (git-ignored, carried): the binaries, Debian's HDF5 runtime
#                                          packages, the JSON/CLI11/zlib headers for a fallback build,
#                                          and a CIFAR-10 slice in the binary layout
#   scripts/device-check.sh OUT            there (e.g. device run with carry [".device"]): runs the
#                                          CUDA suite, `vhmn bench --device cuda` for paper-small
#                                          (img/s and MFU), a short paper-small CIFAR-10 training on
#                                          the slice, and a small cpu-small run folder (without
#                                          checkpoint.pt) that the desktop app here opens.
#
# Everything it prints goes to OUT/device-check.log; the figures to OUT/figures.txt; the run folder
# to OUT/run-cpu-small (5 files in all, each well under 16 MiB). Budget: ≤ 8 minutes (the steps'
# timeouts add up to 7.5); a failed step is reported and the next one still runs.
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
  echo "== $DEV prepared: $(du -sh "$DEV" | cut -f1) (carry limit 64 MiB)"
  du -sh "$DEV"/* | sed 's/^/   /'
}

# --------------------------------------------------------------------------------------------
OUT=${1:?usage: scripts/device-check.sh OUT | --prepare}
if [ "$OUT" = "--prepare" ]; then prepare; exit; fi
mkdir -p "$OUT"
# Dry run of the plumbing on a machine without a GPU: VHMN_CHECK_DEVICE=cpu (tiny sizes below).
DEVICE=${VHMN_CHECK_DEVICE:-cuda}
BENCH_BATCHES=${VHMN_CHECK_BENCH_BATCHES:-256 512}
BENCH_STEPS=${VHMN_CHECK_BENCH_STEPS:-20}
TRAIN_EXTRA=${VHMN_CHECK_TRAIN_EXTRA:-}   # e.g. "--fraction 0.02" for a dry run
LOG="$OUT/device-check.log"
FIG="$OUT/figures.txt"
exec > >(tee -a "$LOG") 2>&1
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
step() { echo; echo "== [$(elapsed) s] $*"; }
fig() { echo "$*" | tee -a "$FIG" >/dev/null; echo "FIGURE $*"; }
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || fail "nvidia-smi"
nproc; uname -r
python3 - <<'PY' || fail "python3 torch"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
PY

# libtorch and CUDA libraries: those of the server's PyTorch (the same 2.11 the binaries were built with).
TORCH_DIR=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
NV_LIBS=$(python3 - <<'PY'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
print(":".join(sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))))
PY
)
export LD_LIBRARY_PATH="$TORCH_DIR/lib${NV_LIBS:+:$NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Debian's HDF5 and its needs: unpack, then link only the libraries the server lacks into one folder.
GAPS=/tmp/vhmn-gaps
fill_gaps() {
  local unpacked=/tmp/vhmn-debs
  mkdir -p "$GAPS" "$unpacked"
  for d in "$DEV"/debs/*.deb; do [ -e "$d" ] && dpkg -x "$d" "$unpacked"; done
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$GAPS"
  local round missing lib found
  for round in 1 2 3 4 5 6; do
    missing=$(for b in "$@"; do ldd "$b" 2>/dev/null; done | awk '/not found/ {print $1}' | sort -u)
    [ -z "$missing" ] && return 0
    local added=0
    for lib in $missing; do
      found=$(find "$unpacked" -name "$lib" -print -quit)
      if [ -n "$found" ] && [ ! -e "$GAPS/$lib" ]; then ln -s "$(readlink -f "$found")" "$GAPS/$lib"; added=1; fi
    done
    [ $added -eq 0 ] && { echo "still missing: $missing"; return 1; }
  done
}

step "binaries"
BIN=$DEV/bin
if [ -x "$BIN/vhmn" ]; then
  fill_gaps "$BIN/vhmn" "$BIN/vhmn_cuda_tests" || true
fi
if ! "$BIN/vhmn" --version; then
  echo "the carried binaries do not run here; building on this machine (no HDF5: no run.h5 record)"
  BUILD=/tmp/vhmn-build
  zlib=$(ldconfig -p | awk '/libz\.so\.1 / {print $NF; exit}')
  timeout 300 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHMN_HEADLESS=ON \
      -DCMAKE_PREFIX_PATH="$TORCH_DIR" -DTORCH_CUDA_ARCH_LIST=9.0 \
      -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON -DCMAKE_DISABLE_FIND_PACKAGE_HDF5=ON \
      -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON -DVHMN_EXTRA_INCLUDE="$PWD/$DEV/include" \
      -DZLIB_INCLUDE_DIR="$PWD/$DEV/include" -DZLIB_LIBRARY="$zlib" >/dev/null &&
    timeout 300 cmake --build "$BUILD" -j "$(nproc)" --target vhmn vhmn_cuda_tests | tail -3 ||
    fail "fallback build"
  BIN=/tmp/vhmn-bin && mkdir -p "$BIN" && cp "$BUILD/app/vhmn" "$BUILD/tests/cuda/vhmn_cuda_tests" "$BIN/" 2>/dev/null
  "$BIN/vhmn" --version || { fail "no runnable vhmn"; exit 1; }
fi
fig "binaries: $("$BIN/vhmn" --version | head -1)"

step "CUDA suite"
timeout 150 "$BIN/vhmn_cuda_tests" $([ "$DEVICE" = cpu ] && echo --device cpu) --cli "$BIN/vhmn" --out /tmp/vhmn-cuda-suite; rc=$?
case $rc in
  0) fig "cuda suite: passed" ;;
  77) fig "cuda suite: SKIPPED, no CUDA device visible"; fail "no CUDA device" ;;
  *) fig "cuda suite: FAILED (exit $rc)"; fail "CUDA suite (exit $rc)" ;;
esac

step "bench paper-small"
for batch in $BENCH_BATCHES; do
  if timeout 60 "$BIN/vhmn" bench --preset paper-small --device "$DEVICE" --batch $batch --steps "$BENCH_STEPS" --json >/tmp/bench.json; then
    cat /tmp/bench.json
    fig "bench paper-small batch $batch: $(python3 - <<'PY'
import json
j = json.load(open("/tmp/bench.json"))
print("train %.0f img/s, inference %.0f img/s, MFU %.2f %% (3 x %.2f GFLOP/img x img/s / 989 TFLOP/s), bf16 %s"
      % (j["train_img_per_s"], j["infer_img_per_s"], 100 * j["mfu"], j["forward_flops_per_image"] / 1e9, j["bf16"]))
PY
)"
  else
    fail "bench batch $batch"
  fi
done

DATA=$DEV/data/cifar-10-batches-bin
step "paper-small on the CIFAR-10 slice (3 epochs)"
rm -rf /tmp/run-paper-small
timeout 120 "$BIN/vhmn" train --data "$DATA" --preset paper-small --epochs 3 --batch 256 --device "$DEVICE" \
    --out /tmp/run-paper-small --log-every 5 $TRAIN_EXTRA | tr '\r' '\n' | tee /tmp/train.log || fail "paper-small training"
# Epoch time = training steps only; the last epoch (warm caches, full banks) extrapolated to
# 50,000 images from the number of training images the trainer reports.
SLICE=$(sed -n 's/^data: .*, \([0-9]*\) train \/.*/\1/p' /tmp/train.log | head -1)
line=$(grep -E '^epoch 3/3' /tmp/train.log | tail -1)
train_s=$(echo "$line" | sed -n 's/.*(train \([0-9.]*\) s, eval \([0-9.]*\) s).*/\1/p')
eval_s=$(echo "$line" | sed -n 's/.*(train \([0-9.]*\) s, eval \([0-9.]*\) s).*/\2/p')
if [ -n "$train_s" ] && [ -n "$SLICE" ]; then
  fig "paper-small train on $SLICE images: $train_s s/epoch (eval $eval_s s apart) = $(python3 -c "print(f'{$SLICE/$train_s:.0f} img/s; full CIFAR-10 epoch (50,000) ~ {50000/($SLICE/$train_s):.2f} s; 400 epochs ~ {400*50000/($SLICE/$train_s)/60:.1f} min (target: epoch <= 3 s)')")"
  fig "paper-small after 3 epochs on the slice: $(echo "$line" | sed 's/.*| //')"
fi

step "data-parallel: torchrun, one rank per GPU (NCCL on CUDA, Gloo on the CPU)"
# The machine has one GPU, so this checks the NCCL path with a world of 1 (and, for comparison,
# 2 Gloo ranks on the CPU); several GPUs are needed for NCCL's real cost per step.
NGPU=$( [ "$DEVICE" = cuda ] && (nvidia-smi -L 2>/dev/null | wc -l) || echo 0)
NPROC=$(( NGPU > 0 ? NGPU : 2 ))
timeout 120 python3 -m torch.distributed.run --nproc-per-node "$NPROC" --master-port 29517 --no-python \
    "$BIN/vhmn" train --data "$DATA" --preset paper-small --epochs 1 --batch 256 --device "$DEVICE" --threads 4 \
    --out /tmp/run-dist --log-every 5 $TRAIN_EXTRA 2>&1 | tr '\r' '\n' | tee /tmp/dist.log | grep -E '^(rank|epoch 1/1 done|  communication)' ||
  fail "torchrun launch"
fig "torchrun x $NPROC on $DEVICE: $(grep -E '^epoch 1/1 step' /tmp/dist.log | tail -1 | sed 's/.* \([0-9]*\) img\/s.*/\1 img\/s/'); $(grep -E 'communication' /tmp/dist.log | tail -1 | sed 's/^ *//')"

step "a small run folder for the desktop app (cpu-small, no checkpoint.pt)"
timeout 60 "$BIN/vhmn" train --data "$DATA" --preset cpu-small --epochs 2 --batch 128 --device "$DEVICE" \
    --out "$OUT/run-cpu-small" --log-every 20 $TRAIN_EXTRA | tr '\r' '\n' | grep -E '^(epoch|data|model)' || fail "cpu-small run"
rm -f "$OUT/run-cpu-small/checkpoint.pt"
ls -la "$OUT/run-cpu-small"
step "done in $(elapsed) s, $failures failure(s)"
fig "device check: $(elapsed) s, $failures failure(s)"
exit $(( failures > 0 ))
