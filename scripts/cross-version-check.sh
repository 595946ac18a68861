#!/usr/bin/env bash
# A run written by one build opens, evaluates and resumes in another (e.g. libtorch 2.x on a GPU
# server → Debian's 1.13 on the desktop), and back.
#   scripts/cross-version-check.sh VHMN_A VHMN_B
# Each binary trains one epoch on the built-in set; the other one evaluates it (same top-1 to 0.5
# points), runs a probe on it and resumes it for a second epoch, which must end as the writer's
# own resumption does (same losses and accuracies as printed).
set -euo pipefail
a=${1:?usage: cross-version-check.sh VHMN_A VHMN_B}
b=${2:?usage: cross-version-check.sh VHMN_A VHMN_B}
for bin in "$a" "$b"; do
  [ -x "$bin" ] || { echo "cross-version check: no vhmn binary at $bin" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VHMN_THREADS=${VHMN_THREADS:-2}

top1() { sed -n 's/.*"top1": *\([0-9.eE+-]*\).*/\1/p'; }

check() {  # writer reader
  local writer=$1 reader=$2 run="$tmp/run-$3"
  local wv rv
  wv=$("$writer" --version | head -1)
  rv=$("$reader" --version | head -1)
  echo "== $wv writes, $rv reads"
  "$writer" train --data builtin-small --preset cpu-tiny --epochs 1 --batch 64 --seed 3 --out "$run" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; echo "cross-version check: training with $writer failed" >&2; exit 1; }
  local t_w t_r
  t_w=$("$writer" eval "$run" --data builtin-small --json | top1)
  t_r=$("$reader" eval "$run" --data builtin-small --json | top1)
  echo "   eval top-1: $t_w % (writer) vs $t_r % (reader)"
  awk -v x="$t_w" -v y="$t_r" 'BEGIN { d = x - y; if (d < 0) d = -d; exit !(x != "" && y != "" && d <= 0.5) }' ||
    { echo "cross-version check: top-1 differs between the builds ($t_w vs $t_r)" >&2; exit 1; }
  "$reader" probe hits "$run" --data builtin-small --limit 32 >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; echo "cross-version check: $reader could not probe the run" >&2; exit 1; }
  cp -r "$run" "$run-same"
  "$reader" train --data builtin-small --out "$run" --resume --epochs 2 >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; echo "cross-version check: $reader could not resume the run" >&2; exit 1; }
  grep -q "resuming after epoch 1" "$tmp/log" ||
    { cat "$tmp/log"; echo "cross-version check: $reader did not resume from epoch 1" >&2; exit 1; }
  # The optimizer state must carry over: the writer resuming its own run ends epoch 2 the same.
  "$writer" train --data builtin-small --out "$run-same" --resume --epochs 2 >"$tmp/log-same" 2>&1 ||
    { cat "$tmp/log-same"; echo "cross-version check: $writer could not resume its own run" >&2; exit 1; }
  local e_r e_w
  e_r=$(tr '\r' '\n' <"$tmp/log" | grep -E '^epoch 2/2 done in' | sed 's/.*(train [^)]*): //')
  e_w=$(tr '\r' '\n' <"$tmp/log-same" | grep -E '^epoch 2/2 done in' | sed 's/.*(train [^)]*): //')
  echo "   epoch 2 resumed by the reader: $e_r"
  echo "   epoch 2 resumed by the writer: $e_w"
  # Same numbers up to rounding (different builds may use different BLAS): every figure within 0.02
  # (losses) or 1 point (accuracies); a mismatched optimizer state moves them far more.
  paste <(echo "$e_r" | grep -oE '[0-9]+\.[0-9]+') <(echo "$e_w" | grep -oE '[0-9]+\.[0-9]+') |
    awk 'NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; if (d > ($1 > 5 ? 1.0 : 0.02)) bad = 1 }
         END { exit (NR < 5 || bad) }' ||
    { echo "cross-version check: epoch 2 differs when resumed across builds" >&2; exit 1; }
}

check "$a" "$b" ab
check "$b" "$a" ba
echo "cross-version check passed"
