#!/usr/bin/env bash
# ssl-dist against its PyTorch peer (bench/torch_ssl.py: the same M2 and ADGM networks, bounds and batch of
# 100 labelled + 100 unlabelled), interleaved in one run so both see the same machine load. Prints unlabelled
# examples per second and the ratio, for fp32 and bf16 (PyTorch: torch.autocast bf16), on 1 core and on the
# whole machine (PyTorch with all threads against `mpirun -np CORES` with 1 thread per rank).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/ssl-dist
VENV=.build/torch-venv
SECONDS_EACH=${SECONDS_EACH:-5}
CORES=$(nproc)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "installing torch into $VENV (PyPI; several GB)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch numpy
fi
MPIRUN="mpirun --oversubscribe $( [ "$(id -u)" = 0 ] && echo --allow-run-as-root )"
result() { sed -n 's/^RESULT.* examples_per_second=\([0-9.]*\).*/\1/p'; }
printf "%-6s %-5s %-22s %12s %12s %7s\n" model prec where ssl-dist pytorch ratio
for m in m2 adgm; do
  for p in fp32 bf16; do
    flag=$([ $p = bf16 ] && echo --bf16 || true)
    ours=$($BIN bench --model $m --threads 1 --gemm dnnl --precision $p --seconds $SECONDS_EACH | result)
    theirs=$("$VENV/bin/python" bench/torch_ssl.py bench --model $m --threads 1 $flag --seconds $SECONDS_EACH | result)
    awk -v m=$m -v p=$p -v a=$ours -v b=$theirs 'BEGIN { printf "%-6s %-5s %-22s %12.0f %12.0f %6.2fx\n", m, p, "1 core", a, b, a/b }'
    ours=$($MPIRUN -np $CORES $BIN bench --distributed --model $m --threads 1 --gemm dnnl --precision $p --seconds $SECONDS_EACH | result)
    theirs=$("$VENV/bin/python" bench/torch_ssl.py bench --model $m --threads $CORES $flag --seconds $SECONDS_EACH | result)
    awk -v m=$m -v p=$p -v a=$ours -v b=$theirs -v c=$CORES 'BEGIN { printf "%-6s %-5s %-22s %12.0f %12.0f %6.2fx\n", m, p, c " cores (" c " ranks)", a, b, a/b }'
  done
done
