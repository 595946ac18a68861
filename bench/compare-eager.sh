#!/usr/bin/env bash
# `vhmn bench` against the eager PyTorch implementation in bench/eager_vhmn.py, side by side in one
# run, on both libtorch versions: same presets, batch, threads and step content (random data,
# forward with bank staging, cross-entropy, backward, Adam with weight decay, bank commit; and an
# inference forward), each measured ROUNDS times, interleaved so that all see the same machine.
#
#   - libtorch 1.13: the Debian build (BUILD_DIR/app/vhmn) against Debian's python3-torch, which is
#     the same libtorch, run twice: as a user runs it (glibc's malloc defaults) and under the
#     allocation policy `vhmn` sets for itself (the same thresholds through GLIBC_TUNABLES);
#   - libtorch 2.11: the wheel build (TORCH2_BUILD/app/vhmn, scripts/dev.sh build-torch2) against
#     the same wheel's PyTorch from .torch2/, whose few pure-Python dependencies are installed
#     into .torch2-py/ on first use (pip --target; nothing else on the machine changes). Skipped,
#     with a line saying so, when that build is absent.
#
#   bench/compare-eager.sh [BUILD_DIR] [ROUNDS]      (defaults: build, 3; TORCH2_BUILD=build-torch2)
#
# Prints one Markdown table: median training and inference img/s of each, user and system CPU
# seconds of the training phase, and the ratio vhmn ÷ eager on the same libtorch. A benchmark, not
# a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
torch2_build=${TORCH2_BUILD:-build-torch2}
torch2_dir=${TORCH2_DIR:-$PWD/.torch2}
torch2_py=${TORCH2_PY:-$PWD/.torch2-py}
vhmn="$build/app/vhmn"
py=/usr/bin/python3
[ -x "$vhmn" ] || { echo "compare-eager: $vhmn not built (scripts/dev.sh build)" >&2; exit 2; }
$py -c 'import torch' 2>/dev/null || { echo "compare-eager: Debian's python3-torch is missing (apt-get install python3-torch)" >&2; exit 2; }
policy='glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=536870912:glibc.malloc.top_pad=67108864'
threads=${THREADS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The wheel's PyTorch: .torch2/ holds torch without its dependencies (scripts/dev.sh); they go to
# .torch2-py/ once. Its Python is the one the wheel was built for (cp311: Debian's python3).
who=(vhmn eager eager-policy)
if [ -x "$torch2_build/app/vhmn" ] && [ -d "$torch2_dir/torch" ]; then
  if ! PYTHONPATH="$torch2_dir:$torch2_py" $py -c 'import torch' 2>/dev/null; then
    echo "compare-eager: installing PyTorch $(ls -d "$torch2_dir"/torch-*.dist-info | sed 's/.*torch-\(.*\)\.dist-info/\1/')'s Python dependencies into $torch2_py" >&2
    $py -m pip install --quiet --disable-pip-version-check --no-deps --target "$torch2_py" \
      typing_extensions sympy mpmath filelock jinja2 MarkupSafe networkx fsspec >&2
  fi
  PYTHONPATH="$torch2_dir:$torch2_py" $py -c 'import torch' || { echo "compare-eager: the wheel's torch does not import" >&2; exit 2; }
  who+=(vhmn2 eager2)
else
  echo "compare-eager: no libtorch 2.11 build ($torch2_build/app/vhmn, $torch2_dir): libtorch 1.13 only (scripts/dev.sh build-torch2)" >&2
fi

run_one() {  # who preset batch steps round
  local w=$1 preset=$2 batch=$3 steps=$4 r=$5 f="$out/$2.$1.$5.json"
  local eager=(bench/eager_vhmn.py --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads")
  case $w in
    vhmn) "$vhmn" bench --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads" --json > "$f" ;;
    eager) $py "${eager[@]}" > "$f" ;;
    eager-policy) GLIBC_TUNABLES=$policy $py "${eager[@]}" > "$f" ;;
    vhmn2) "$torch2_build/app/vhmn" bench --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads" --json > "$f" ;;
    eager2) PYTHONPATH="$torch2_dir:$torch2_py" $py "${eager[@]}" > "$f" ;;
  esac
}

for spec in "cpu-tiny 128 20" "paper-small 64 6"; do
  set -- $spec
  for r in $(seq "$rounds"); do
    for w in "${who[@]}"; do run_one "$w" "$1" "$2" "$3" "$r"; done
  done
done

$py - "$out" "$rounds" "$threads" "${who[@]}" <<'PY'
import json, statistics, sys
out, rounds, threads, who = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def load(preset, w):
    return [json.load(open(f"{out}/{preset}.{w}.{r}.json")) for r in range(1, rounds + 1)]
names = {"vhmn": "`vhmn bench` (C++), libtorch 1.13", "eager": "eager PyTorch 1.13, as a user runs it",
         "eager-policy": "eager PyTorch 1.13, vhmn's allocator policy",
         "vhmn2": "`vhmn bench` (C++), libtorch 2.11", "eager2": "eager PyTorch 2.11, as a user runs it"}
peer = {"eager": "vhmn", "eager-policy": "vhmn", "eager2": "vhmn2"}
print(f"| preset (batch) | implementation | train img/s | infer img/s | train user s | train sys s "
      f"| vhmn ÷ this, train | vhmn ÷ this, infer |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for preset, batch in (("cpu-tiny", 128), ("paper-small", 64)):
    rows = {w: load(preset, w) for w in who}
    med = {w: {k: statistics.median(x[k] for x in rows[w]) for k in ("train_img_per_s", "infer_img_per_s",
                                                                       "train_user_s", "train_sys_s")} for w in who}
    for w in who:
        m, p = med[w], med.get(peer.get(w, ""), None)
        rt = f"{p['train_img_per_s'] / m['train_img_per_s']:.2f}×" if p else ""
        ri = f"{p['infer_img_per_s'] / m['infer_img_per_s']:.2f}×" if p else ""
        print(f"| {preset} ({batch}) | {names[w]} | {m['train_img_per_s']:.1f} | {m['infer_img_per_s']:.1f} "
              f"| {m['train_user_s']:.1f} | {m['train_sys_s']:.1f} | {rt} | {ri} |")
print(f"\nMedians of {rounds} rounds, {threads} threads. Train img/s of each round: " + "; ".join(
    f"{p} {w}: " + ", ".join(f"{x['train_img_per_s']:.0f}" for x in load(p, w))
    for p in ("cpu-tiny", "paper-small") for w in who))
PY
