#!/usr/bin/env bash
# How far below persistence can any model get on the simulated `optimal_replicas` label?
# Simulates 48 h of Online Boutique (30 s, DeepScaler workload, HPA, seed 7) with each
# oracle (`expected`, the default look-ahead label, and `realized`, the hindsight label),
# then fits gradient-boosted trees (benches/label_ceiling.py) with and without the label's
# own history, at one step and at ten steps ahead, on the estimator's split.
#
# Usage: benches/label_ceiling.sh [DURATION] [APP]   (defaults: 48h online-boutique)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-48h}
app=${2:-online-boutique}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
mkdir -p bench-data
if [ ! -x .venv-ceiling/bin/python ]; then
  python3 -m venv .venv-ceiling
  .venv-ceiling/bin/pip install --quiet lightgbm==4.7.0 scikit-learn pyarrow pandas numpy
fi
for oracle in expected realized; do
  data=bench-data/$app-$duration-$oracle
  [ -f "$data/telemetry.parquet" ] ||
    "$bin" -q simulate --app "$app" --duration "$duration" --seed 7 --oracle "$oracle" --out "$data"
  for horizon in 1 10; do
    .venv-ceiling/bin/python benches/label_ceiling.py "$data" --horizon "$horizon"
  done
done
