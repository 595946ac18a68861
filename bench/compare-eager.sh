#!/usr/bin/env bash
# `vhmn bench` against the eager PyTorch implementation in bench/eager_vhmn.py, side by side in one
# run: same presets, batch, threads and step content (random data, forward with bank staging,
# cross-entropy, backward, Adam with weight decay, bank commit), each measured ROUNDS times,
# interleaved so that both see the same machine. PyTorch is Debian's python3-torch (the same
# libtorch 1.13 as `vhmn`), run twice: as a user runs it (glibc's malloc defaults) and under the
# allocation policy `vhmn` sets for itself (the same thresholds through GLIBC_TUNABLES).
#
#   bench/compare-eager.sh [BUILD_DIR] [ROUNDS]      (defaults: build, 3)
#
# Prints one Markdown table: median training img/s of each, user and system CPU seconds of the
# training phase, and the ratios. A benchmark, not a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
vhmn="$build/app/vhmn"
py=/usr/bin/python3
[ -x "$vhmn" ] || { echo "compare-eager: $vhmn not built (scripts/dev.sh build)" >&2; exit 2; }
$py -c 'import torch' 2>/dev/null || { echo "compare-eager: Debian's python3-torch is missing (apt-get install python3-torch)" >&2; exit 2; }
policy='glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=536870912:glibc.malloc.top_pad=67108864'
threads=${THREADS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for spec in "cpu-tiny 128 20" "paper-small 64 6"; do
  set -- $spec
  preset=$1 batch=$2 steps=$3
  for r in $(seq "$rounds"); do
    "$vhmn" bench --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads" --json > "$out/$preset.vhmn.$r.json"
    $py bench/eager_vhmn.py --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads" > "$out/$preset.eager.$r.json"
    GLIBC_TUNABLES=$policy $py bench/eager_vhmn.py --preset "$preset" --batch "$batch" --steps "$steps" --threads "$threads" \
      > "$out/$preset.eager-policy.$r.json"
  done
done

$py - "$out" "$rounds" "$threads" <<'PY'
import json, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(preset, who):
    return [json.load(open(f"{out}/{preset}.{who}.{r}.json")) for r in range(1, rounds + 1)]
print(f"| preset (batch) | implementation | train img/s (median of {rounds}) | user s | sys s | vhmn ÷ this |")
print("|---|---|---:|---:|---:|---:|")
for preset, batch in (("cpu-tiny", 128), ("paper-small", 64)):
    rows = {w: load(preset, w) for w in ("vhmn", "eager", "eager-policy")}
    med = {w: statistics.median(x["train_img_per_s"] for x in rows[w]) for w in rows}
    names = {"vhmn": "`vhmn bench` (C++)", "eager": "eager PyTorch, as a user runs it",
             "eager-policy": "eager PyTorch, vhmn's allocator policy"}
    for w in rows:
        u = statistics.median(x["train_user_s"] for x in rows[w])
        s = statistics.median(x["train_sys_s"] for x in rows[w])
        ratio = "" if w == "vhmn" else f"{med['vhmn'] / med[w]:.2f}×"
        print(f"| {preset} ({batch}) | {names[w]} | {med[w]:.1f} | {u:.1f} | {s:.1f} | {ratio} |")
print(f"\n{threads} threads; img/s of each round: " + "; ".join(
    f"{p} {w}: " + ", ".join(f"{x['train_img_per_s']:.0f}" for x in load(p, w))
    for p in ("cpu-tiny", "paper-small") for w in ("vhmn", "eager", "eager-policy")))
PY
