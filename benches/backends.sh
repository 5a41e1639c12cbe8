#!/usr/bin/env bash
# The CPU backends and thread settings of the estimator, side by side in one alternating run:
# training windows/s, one-decision latency (predict_window, p50/p99), test MAE after the
# same epochs and peak memory, on the same data and settings. BENCHMARKS.md, "CPU backends".
#
# Usage: benches/backends.sh [ROUNDS] [EPOCHS] [DURATION]
#   defaults: 3 rounds, 1 epoch, 1 simulated day of Train-Ticket (41 services, 30 s).
# VARIANTS picks a subset (names below). Two binaries are needed: one built with
# `--features candle` (NdArray, Flex and Candle) and one with `--features flex-rayon`
# (Flex with rayon inside its kernels); HOLOSCALE and HOLOSCALE_RAYON name them, else they
# are built into bench-data/bin/. The raw results stay in bench-data/backends-results.jsonl.
#
# Variants (name: binary, device, threads; "1core" runs pinned to one core with taskset):
#   ndarray        cpu-ndarray, 1 thread         flex        cpu, 1 thread
#   candle         cpu-candle, 1 thread          flex-rayon  rayon build, cpu, 1 thread, rayon 1
#   flex-dp2       cpu, 2 threads (data parallel)
#   rayon-intra2   rayon build, 1 thread, rayon 2 (intra-op threads only)
#   rayon-dp2      rayon build, 2 threads, rayon 2 (both)
#   ndarray-1core, flex-1core, flex-dp2-1core    the same pinned to one core
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
epochs=${2:-1}
duration=${3:-1d}
variants=${VARIANTS:-"ndarray flex candle flex-rayon flex-dp2 rayon-intra2 rayon-dp2 ndarray-1core flex-1core flex-dp2-1core"}
mkdir -p bench-data/bin
if [ -z "${HOLOSCALE:-}" ]; then
  cargo build --release --quiet --features candle
  cp target/release/holoscale bench-data/bin/holoscale-candle
  HOLOSCALE=bench-data/bin/holoscale-candle
fi
if [ -z "${HOLOSCALE_RAYON:-}" ]; then
  cargo build --release --quiet --features flex-rayon
  cp target/release/holoscale bench-data/bin/holoscale-rayon
  HOLOSCALE_RAYON=bench-data/bin/holoscale-rayon
fi
data=bench-data/tt-$duration
if [ ! -f "$data/telemetry.parquet" ]; then
  "$HOLOSCALE" -q simulate --app train-ticket --duration "$duration" --seed 7 --out "$data"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
results=bench-data/backends-results.jsonl
: > "$results"

run() { # name
  local name=$1 bin=$HOLOSCALE device=cpu threads=1 rayon=1 pin=()
  case $name in
    *-1core) pin=(taskset -c 0) ;;
  esac
  case ${name%-1core} in
    ndarray) device=cpu-ndarray ;;
    flex) ;;
    candle) device=cpu-candle ;;
    flex-rayon) bin=$HOLOSCALE_RAYON ;;
    flex-dp2) threads=2 ;;
    rayon-intra2) bin=$HOLOSCALE_RAYON rayon=2 ;;
    rayon-dp2) bin=$HOLOSCALE_RAYON threads=2 rayon=2 ;;
    *) echo "unknown variant $name" >&2; exit 2 ;;
  esac
  RAYON_NUM_THREADS=$rayon "${pin[@]}" "$bin" -q bench train --telemetry "$data/telemetry.parquet" \
    --edges "$data/edges.parquet" --preset cpu --epochs "$epochs" --patience 1000 \
    --device "$device" --threads "$threads" --out "$out/model-$name" --force
}

for r in $(seq "$rounds"); do
  for v in $variants; do
    echo "round $r: $v" >&2
    printf '{"variant": "%s", "round": %d, "result": %s}\n' "$v" "$r" "$(run "$v" | tr -d '\n')" >> "$results"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
order = list(dict.fromkeys(r["variant"] for r in rows))
base = None
print("| variant | windows/s (median) | runs | decision p50 / p99 ms | test MAE | peak RSS MiB |")
print("|---|---|---|---|---|---|")
for v in order:
    rs = [r["result"] for r in rows if r["variant"] == v]
    w = statistics.median(r["windows_per_s"] for r in rs)
    if base is None:
        base = w
    p50 = statistics.median(r["decision_p50_ms"] for r in rs)
    p99 = statistics.median(r["decision_p99_ms"] for r in rs)
    mae = statistics.median(r["test_mae"] for r in rs)
    rss = max((r["peak_rss_mib"] or 0) for r in rs)
    runs = ", ".join(f"{r['windows_per_s']:.1f}" for r in rs)
    print(f"| {v} | {w:.1f} ({w / base:.2f}x) | {runs} | {p50:.2f} / {p99:.2f} | {mae:.4f} | {rss:.0f} |")
PY
