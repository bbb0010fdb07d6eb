#!/usr/bin/env bash
# Memory and file reads of each rank of a training run: the peak resident memory (VmHWM, start-up included), the
# resident set once training is under way (VmRSS at the last sample before the job ends), and the bytes the rank read
# through read/pread calls (rchar of /proc/PID/io at the last sample: files, pipes and sockets; a memory-mapped file's
# pages are not counted), in MB, averaged over the ranks.
#   bench/rank-resources.sh NP BINARY [train flags ...]      e.g. bench/rank-resources.sh 8 .build/release/ssl-dist \
#       --model m2 --data mnist:DIR --steps 300 --shards 0
# Runs `mpirun -np NP --oversubscribe` with one BLAS thread per rank in a temporary run directory.
set -euo pipefail
np=$1; bin=$(readlink -f "$2"); shift 2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
mpirun "${root[@]}" --oversubscribe -np "$np" --timeout 1800 "$bin" train --blas-threads 1 --quiet --run-dir "$dir/run" \
  --validate-every 1000 "$@" > "$dir/log" 2>&1 &
job=$!
declare -A rss hwm rchar
while kill -0 $job 2>/dev/null; do
  for pid in $(pgrep -f -- "--run-dir $dir/run" | grep -v "^$job$" || true); do
    [ -r /proc/$pid/status ] || continue
    exe=$(readlink /proc/$pid/exe 2>/dev/null || true); [ "$exe" = "$bin" ] || continue
    r=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
    h=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || true)
    c=$(awk '/^rchar/ {print $2}' /proc/$pid/io 2>/dev/null || true)
    [ -n "$r" ] && rss[$pid]=$r; [ -n "$h" ] && hwm[$pid]=$h; [ -n "$c" ] && rchar[$pid]=$c
  done
  sleep 0.5
done
wait $job || { echo "the run failed:"; tail -5 "$dir/log"; exit 1; }
n=${#rss[@]}
[ "$n" -gt 0 ] || { echo "no rank was sampled"; exit 1; }
sr=0; sh=0; sc=0; for p in "${!rss[@]}"; do sr=$((sr + rss[$p])); sh=$((sh + hwm[$p])); sc=$((sc + ${rchar[$p]:-0})); done
echo "ranks sampled: $n; mean resident while training: $((sr / n / 1024)) MB; mean peak: $((sh / n / 1024)) MB;" \
  "mean read by read/pread: $((sc / n / 1000000)) MB"
grep -m1 "unlabelled" "$dir/log" || true
