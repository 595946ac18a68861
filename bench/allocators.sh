#!/usr/bin/env bash
# Allocator candidates for `vhmn`, measured end to end on one command (default: `vhmn eval` of a
# run): glibc's defaults, the policy `vhmn` sets at start-up (mallopt thresholds), jemalloc and
# tcmalloc (Debian's libjemalloc2 / libgoogle-perftools4, preloaded). Wall, user and system time
# and peak RSS of each, ROUNDS times, interleaved.
#
#   bench/allocators.sh ROUNDS -- vhmn eval RUN --data PATH --threads 1
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
shift
[ "${1:-}" = "--" ] && shift
bin="build/app/$1"
shift
je=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null || true)
tc=$(ls /usr/lib/x86_64-linux-gnu/libtcmalloc.so.4 2>/dev/null || true)
echo "| allocator | wall s | user s | sys s | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
for r in $(seq "$rounds"); do
  for cand in system policy jemalloc tcmalloc; do
    env=()
    case $cand in
      system) env=(VHMN_MALLOC=system) ;;
      policy) env=() ;;
      jemalloc) [ -n "$je" ] || continue; env=(VHMN_MALLOC=system LD_PRELOAD=$je) ;;
      tcmalloc) [ -n "$tc" ] || continue; env=(VHMN_MALLOC=system LD_PRELOAD=$tc) ;;
    esac
    /usr/bin/time -f "%e %U %S %M" -o /tmp/alloc.$$ env "${env[@]}" "$bin" "$@" > /dev/null
    read -r wall user sys rss < /tmp/alloc.$$
    awk -v c="$cand" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" \
      'BEGIN { printf "| %s | %s | %s | %s | %.0f |\n", c, w, u, s, m / 1024 }'
  done
done
rm -f /tmp/alloc.$$
