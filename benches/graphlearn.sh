#!/usr/bin/env bash
# EM graph learning: wall time against the PyTorch peer (peers/em_torch.py) in the same run,
# and dependency capture (weighted Jaccard against OD and CC, F1 and latent recall against
# the planted truth) on simulated applications under several workloads.
#
# Usage: benches/graphlearn.sh time [DURATION] [ITERATIONS] [EPOCHS]
#          defaults: 2d of Train-Ticket, 2 iterations of 5 estimator + 5 generator epochs
#          (the reference schedule is 20 iterations; iterations cost the same, so the script
#          also reports 20 x the median iteration time); THREADS (default 2) is the
#          thread count of both implementations; PEER_ITERATIONS (default ITERATIONS) runs
#          the peer for fewer iterations (`time 2d 20 5` with PEER_ITERATIONS=3 measures
#          holoscale's whole default schedule and the peer's median iteration)
#        benches/graphlearn.sh capture [DURATION] [ITERATIONS] [EPOCHS]
#          defaults: 12h per run, 6 iterations of 3 + 3 epochs; apps online-boutique,
#          sock-shop, hotel-reservation; workloads deepscaler, diurnal, bursts
#          (WORKLOADS="deepscaler" and APPS="sock-shop" run subsets; EXTRA="--epsilon 0.01" passes further
#          training flags to every run)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-time}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
mkdir -p bench-data

if [ "$mode" = time ]; then
  duration=${2:-2d}
  iterations=${3:-2}
  epochs=${4:-5}
  data=bench-data/tt-$duration
  [ -f "$data/telemetry.parquet" ] ||
    "$bin" -q simulate --app train-ticket --duration "$duration" --seed 7 --out "$data"
  if [ ! -x .venv-peer/bin/python ]; then
    python3 -m venv .venv-peer
    .venv-peer/bin/pip install --quiet torch pyarrow numpy
  fi
  threads=${THREADS:-2}
  model=bench-data/tt-em-model
  start=$(date +%s.%N)
  "$bin" -q train --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
    --em-iterations "$iterations" --em-epochs "$epochs" --generator-epochs "$epochs" \
    --threads "$threads" --out "$model" --force > bench-data/em-holoscale.txt 2>/dev/null
  end=$(date +%s.%N)
  peer=$(.venv-peer/bin/python peers/em_torch.py --model "$model" \
    --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
    --iterations "${PEER_ITERATIONS:-$iterations}" --threads "$threads")
  python3 - "$start" "$end" "$model/graph_learning.json" "$peer" "$iterations" <<'PY'
import json, statistics, sys
start, end, hist, peer, iters = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
h = json.load(open(hist))
its = [r["seconds"] for r in h["iterations"]]
med = statistics.median(its)
print(f"holoscale: {iters} EM iterations in {end - start:.1f} s (whole command), median iteration {med:.1f} s -> 20 iterations ~ {20 * med / 60:.1f} min")
print(f"PyTorch:   {peer['iterations']} EM iterations in {peer['total_s']:.1f} s, median iteration {peer['median_iteration_s']:.1f} s -> 20 iterations ~ {20 * peer['median_iteration_s'] / 60:.1f} min")
print(f"ratio (PyTorch / holoscale iteration time): {peer['median_iteration_s'] / med:.2f}x")
print(f"best validation L1: holoscale {min(r['val_loss'] for r in h['iterations']):.4f}, PyTorch {peer['best_val_loss']:.4f}")
PY
  exit 0
fi

duration=${2:-12h}
iterations=${3:-6}
epochs=${4:-3}
# Jaccard is weighted (DeepScaler Fig. 11, as `graph compare` computes it) with the
# Jaccard of the edge sets in brackets (`set_jaccard`, weights ignored).
echo "| app | workload | learned: Jaccard vs OD | vs CC | vs truth | F1 vs truth | latent recall | edges | call graph: Jaccard vs OD | vs CC | vs truth | F1 vs truth |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
tag=$(printf '%s' "${EXTRA:-}" | tr -c 'a-zA-Z0-9' '_')
for app in ${APPS:-online-boutique sock-shop hotel-reservation}; do
  for workload in ${WORKLOADS:-deepscaler diurnal bursts}; do
    d=bench-data/cap-$app-$workload-$duration
    [ -f "$d/telemetry.parquet" ] ||
      "$bin" -q simulate --app "$app" --workload "$workload" --duration "$duration" --seed 7 --out "$d"
    "$bin" -q train --telemetry "$d/telemetry.parquet" --edges "$d/edges.parquet" \
      --em-iterations "$iterations" --em-epochs "$epochs" --generator-epochs "$epochs" \
      ${EXTRA:-} --out "$d/model$tag" --force > /dev/null 2>&1
    j() { "$bin" -q graph compare "$d/model$tag" "$1" --format json 2>/dev/null; }
    od=$(j "od:$d/edges.parquet")
    cc=$(j "cc:$d/telemetry.parquet")
    truth=$(j "$d/truth.parquet")
    c() { "$bin" -q graph compare "calls:$d/edges.parquet" "$1" --format json 2>/dev/null; }
    calls_od=$(c "od:$d/edges.parquet")
    calls_cc=$(c "cc:$d/telemetry.parquet")
    calls=$(c "$d/truth.parquet")
    "$bin" -q graph "$d/model$tag" --top 100000 > "$d/model$tag.edges.txt" 2>/dev/null
    python3 - "$app" "$workload" "$od" "$cc" "$truth" "$calls_od" "$calls_cc" "$calls" \
      "$d/model$tag.edges.txt" <<'PY'
import json, sys
import re
app, wl, od, cc, truth, cod, ccc, calls = sys.argv[1], sys.argv[2], *map(json.loads, sys.argv[3:9])
lr = truth.get("latent_recall")
j = lambda r: f"{r['jaccard']:.2f} ({r['set_jaccard']:.2f})"
edges = re.search(r"(\d+) dependencies", open(sys.argv[9]).readline()).group(1)
print(f"| {app} | {wl} | {j(od)} | {j(cc)} | {j(truth)} | {truth['f1']:.2f} | "
      f"{'-' if lr is None else f'{lr:.2f}'} | {edges} | {j(cod)} | {j(ccc)} | {j(calls)} | "
      f"{calls['f1']:.2f} |")
PY
  done
done
