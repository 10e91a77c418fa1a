#!/usr/bin/env bash
# Train many learned codecs side by side on one device, then tabulate them.
#
#   benchmarks/parallel_runs.sh RUNS_FILE OUT_DIR [DEVICE]
#
# RUNS_FILE holds one run per line: a name, then the `rdlab lc train` flags of that run
# (blank lines and lines starting with # are skipped). Each run trains into OUT_DIR/NAME with
# one CPU thread and DEVICE (default cuda), its log in OUT_DIR/NAME.log; a run already
# finished is kept (`--resume` continues an interrupted one). When all have stopped,
# `bench_learned.py --part summary` writes OUT_DIR/summary.md. On one H100, 15 MNIST
# paper-preset models (30 epochs) side by side took 327 s each (docs/benchmarks.md).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 RUNS_FILE OUT_DIR [DEVICE]" >&2; exit 2; }
runs=$1 out=$2 device=${3:-cuda}
[ -f "$runs" ] || { echo "RUNS_FILE not found: $runs" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
pids=()
while read -r name flags; do
  case "$name" in ""|\#*) continue ;; esac
  resume=()
  [ -e "$out/$name/config.json" ] && resume=(--resume)
  [ -e "$out/$name/results.json" ] && continue
  # shellcheck disable=SC2086  # flags are words on purpose
  python -m rdlab lc train $flags --device "$device" --threads 1 --no-progress \
    --out "$out/$name" "${resume[@]}" >"$out/$name.log" 2>&1 &
  pids+=($!)
done <"$runs"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
python "$here/bench_learned.py" --part summary --out "$out"
exit $status
