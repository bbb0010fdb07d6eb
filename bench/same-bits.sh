#!/usr/bin/env bash
# Does a speed change keep the arithmetic? Trains each model a few steps with two builds and compares the state
# digests of the runs (parameters and optimizer state, `ssl-dist inspect --json`): equal means bit for bit equal.
#   bench/same-bits.sh OLD_BINARY NEW_BINARY [extra train flags ...]
# MODELS (default "adgm m2 sdgm m1"), STEPS (60) and DATA (mnist:$HOME/data/mnist; any --data spec) choose the runs.
set -euo pipefail
old=$1; new=$2; shift 2
data=${DATA:-mnist:$HOME/data/mnist}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
for m in ${MODELS:-adgm m2 sdgm m1}; do
  for which in old new; do
    bin=${!which}
    "$bin" train --model "$m" --data "$data" --steps "${STEPS:-60}" --validate-every 1000 --communicator single \
      --blas-threads 1 --quiet --run-dir "$dir/$m-$which" "$@" > "$dir/$m-$which.log" 2>&1 \
      || { echo "$m: $which build failed:"; tail -3 "$dir/$m-$which.log"; exit 1; }
  done
  a=$("$old" inspect "$dir/$m-old" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
  b=$("$new" inspect "$dir/$m-new" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
  if [ "$a" = "$b" ]; then echo "$m: same state ($a)"; else echo "$m: DIFFERENT ($a against $b)"; status=1; fi
done
exit $status
