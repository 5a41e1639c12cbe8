#!/usr/bin/env bash
# DeepScaler's Table II on simulated applications: every scaler side by side on the same
# application, workload and seeds, behind the default control-loop frictions.
#
# Usage: benches/scalers.sh [DURATION] [SEEDS]
#   defaults: 24h per run, seeds 1,2,3; APPS (default "bookinfo online-boutique
#   train-ticket"), WORKLOADS (default "deepscaler surge"), HORIZON (default 3).
# For each application the DeepScaler scaler's estimator is trained on 2 days of
# HPA-driven telemetry of seed 7 (a seed no evaluation run uses), at the simulator's 30 s
# interval, with horizon HORIZON steps (3 x 30 s covers the longest default start-up delay,
# Java's 60 s, plus the metrics lag), without graph learning (the call graph's affinity).
# Tables go to stdout and to bench-data/scale/APP-WORKLOAD/ (CSV, JSON, Parquet series,
# report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-24h}
seeds=${2:-1,2,3}
apps=${APPS:-bookinfo online-boutique train-ticket}
workloads=${WORKLOADS:-deepscaler surge}
horizon=${HORIZON:-3}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
mkdir -p bench-data/scale
for app in $apps; do
  data=bench-data/scale/train-$app
  model=bench-data/scale/model-$app
  if [ ! -f "$data/telemetry.parquet" ]; then
    "$bin" -q simulate --app "$app" --duration 2d --seed 7 --policy hpa --out "$data"
  fi
  if [ ! -f "$model/config.json" ]; then
    "$bin" -q train --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
      --horizon "$horizon" --no-graph-learning --out "$model"
  fi
  for workload in $workloads; do
    echo "== $app, $workload"
    "$bin" -q scale evaluate --app "$app" --workload "$workload" --duration "$duration" \
      --seeds "$seeds" --scalers "hpa,aws,mmn,hab,slo,static,oracle,deepscaler:$model" \
      --out "bench-data/scale/$app-$workload" --force
  done
done
